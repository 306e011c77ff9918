"""Reductions: sum, mean, max/min (whole tensor or along a dim), norm, argmax/argmin.

All are built from reduce_sum / reduce_max / argmax; `keepdim` is a reshape
after the reduction.  min is max of the negation, which keeps NaN propagation.
"""
from __future__ import annotations

from collections import namedtuple

from ..ir import dtypes
from ..ir import primitives as P
from .ops_core import convert, filled_tensor, in_float32, scalar_constant, tensor_type
from .ops_elementwise import abs, as_tensor, pow, sqrt
from . import numpy_keywords
from .tape import bind, bind_op, grad_node
from .tensor import Tensor, _wrap_dim


def wrap_dims(dim, ndim: int) -> tuple[int, ...]:
    """`dim` (None, an int or a sequence) as sorted non-negative axes; None means all."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(_wrap_dim(d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
    return tuple(sorted(a for a in axes if ndim > 0))


def _keep(x: Tensor, out: Tensor, axes: tuple, keepdim: bool) -> Tensor:
    if not keepdim or x.ndim == 0:
        return out
    shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return bind(P.reshape, out, shape=shape)


def _sum(x: Tensor, axes: tuple, keepdim: bool) -> Tensor:
    if not x.dtype.is_float:  # integer and bool sums are int64, as in PyTorch
        x = convert(x, dtypes.i64)
    return _keep(x, bind(P.reduce_sum, x, axes=axes), axes, keepdim)


#: ndim -> {"axes": every axis}: one attribute dict per rank (never mutated), whose key
#: backward_plan then finds by identity
_ALL_AXES: dict[int, dict] = {}


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """`axis`/`keepdims`: NumPy's names, as PyTorch's parser takes them (taken here, not by
    numpy_keywords' wrapper, so the hot path has no extra call)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_keywords.take("sum", dim, keepdim, axis, keepdims)
    if type(input) is Tensor and dim is None and dtype is None and not keepdim and \
            input._type.dtype.is_float:  # a float tensor's total: one primitive
        t = input._type
        attrs = _ALL_AXES.get(len(t.shape))
        if attrs is None:
            attrs = _ALL_AXES[len(t.shape)] = {"axes": tuple(range(len(t.shape)))}
        return bind_op("SumBackward0", (input,), P.reduce_sum, (input,), attrs,
                       tensor_type(t.dtype, ()))
    x = as_tensor(input)
    if dtype is not None:
        x = convert(x, dtype)
    with grad_node("SumBackward0" if dim is None else "SumBackward1", x):
        return _sum(x, wrap_dims(dim, x.ndim), keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:  # NumPy's names (see sum)
        dim, keepdim = numpy_keywords.take("mean", dim, keepdim, axis, keepdims)
    x = as_tensor(input)
    if dtype is not None:
        x = convert(x, dtype)
    if not x.dtype.is_float:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {_torch_type_name(x.dtype)}")
    with grad_node("MeanBackward0" if dim is None else "MeanBackward1", x):
        if x.dtype is dtypes.f16:  # PyTorch divides the float32 sum before rounding
            return in_float32(x, lambda w: mean(w, dim, keepdim))
        axes = wrap_dims(dim, x.ndim)
        count = 1
        for a in axes:
            count *= x.shape[a]
        total = _sum(x, axes, keepdim)
        return bind(P.div, total, scalar_constant(float(count), x.dtype, total.shape))


def _torch_type_name(dt) -> str:
    return dt.scalar_name


# ---------------------------------------------------------------- max / min


class _ValuesIndices(tuple):
    """PyTorch's `torch.return_types.max`: a pair with `.values` and `.indices`."""

    _name = "max"

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self) -> str:
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


def _return_type(name: str):
    return type(name, (_ValuesIndices,), {"_name": name, "__slots__": ()})


MaxResult = _return_type("max")
MinResult = _return_type("min")


def _check_nonempty(x: Tensor, what: str, axis=None) -> None:
    """PyTorch's errors for a max/min/amax/argmax with nothing to reduce: an empty
    reduced dim is an IndexError; a whole-tensor max/min/amax/amin of an empty tensor
    is a RuntimeError (argmax/argmin's is an IndexError)."""
    empty = x.numel() == 0 if axis is None else x.ndim > 0 and x.shape[axis] == 0
    if not empty:
        return
    if axis is not None:
        raise IndexError(f"{what}(): Expected reduction dim {axis} to have non-zero size.")
    error = IndexError if what.startswith("arg") else RuntimeError
    raise error(f"{what}(): Expected reduction dim to be specified for input.numel() "
                "== 0. Specify the reduction dim with the 'dim' argument.")


def _extreme(x: Tensor, largest: bool, axes: tuple) -> Tensor:
    """reduce_max of x, or of -x negated for the minimum (bools go through int64)."""
    src = convert(x, dtypes.i64) if x.dtype is dtypes.bool_ else x
    if not largest:
        if src.dtype.is_float:
            # The gradient of -max(-x) is max's mask negated, whose zeros would come out
            # as -0.0 (PyTorch's min gives +0.0).  x enters through select(isnan(x), x,
            # x): the pass adds the two cotangents of that select, one of them +0.0,
            # and -0.0 + +0.0 is +0.0 while every other value is unchanged.
            src = bind(P.select, bind(P.ne, src, src), src, src)
        src = bind(P.neg, src)
    out = bind(P.reduce_max, src, axes=axes)
    if not largest:
        out = bind(P.neg, out)
    return convert(out, x.dtype)


def _arg_extreme(x: Tensor, largest: bool, axis: int) -> Tensor:
    src = convert(x, dtypes.i64) if x.dtype is dtypes.bool_ else x
    return bind(P.argmax, src if largest else bind(P.neg, src), axis=axis)


def _picked(x: Tensor, indices: Tensor, axis: int) -> Tensor:
    """The elements of float x at `indices` along `axis` (PyTorch's max(dim)/min(dim)
    values): the whole gradient goes to that one element, even among ties, as in
    PyTorch (value_selecting_reduction_backward), not shared as amax does.  A one-hot
    mask from iota selects x, other places hold -0.0, and x + -0.0 is x exactly."""
    kept = tuple(1 if i == axis else d for i, d in enumerate(x.shape))
    idx = bind(P.broadcast, bind(P.reshape, indices, shape=kept), shape=x.shape)
    iota = bind(P.iota, type=x._type.with_dtype(dtypes.i64), axis=axis)
    chosen = bind(P.select, bind(P.eq, iota, idx), x, scalar_constant(-0.0, x.dtype, x.shape))
    return bind(P.reduce_sum, chosen, axes=(axis,))


def _max_or_min(largest: bool):
    name = "max" if largest else "min"
    whole_node, dim_node = ("MaxBackward1", "MaxBackward0") if largest else \
        ("MinBackward1", "MinBackward0")
    result = MaxResult if largest else MinResult
    pairwise = "maximum" if largest else "minimum"

    def op(input, dim=None, keepdim=False):
        x = as_tensor(input)
        if isinstance(dim, Tensor):  # max(a, b) is maximum(a, b)
            from . import ops_elementwise
            return getattr(ops_elementwise, pairwise)(x, dim)
        if dim is None:
            _check_nonempty(x, name)
            with grad_node(whole_node, x):
                return _extreme(x, largest, tuple(range(x.ndim)))
        axis = _wrap_dim(dim, x.ndim)
        if x.ndim == 0:
            return result(x, filled_tensor(0, dtypes.i64))
        _check_nonempty(x, name, axis)
        index = _arg_extreme(x, largest, axis)
        with grad_node(dim_node, x):
            picked = _picked(x, index, axis) if x.dtype.is_float else \
                _extreme(x, largest, (axis,))
            values = _keep(x, picked, (axis,), keepdim)
        indices = _keep(x, index, (axis,), keepdim)
        return result(values, indices)

    op.__name__ = name
    op.__doc__ = (f"{name}() of all elements, or ({'values'}, indices) along `dim`. "
                  "NaN wins, as in PyTorch.")
    return op


max = _max_or_min(True)
min = _max_or_min(False)


def _check_reduced_nonempty(x: Tensor, what: str, dim) -> None:
    if dim in ((), None):
        _check_nonempty(x, what)
    else:
        for a in wrap_dims(dim, x.ndim):
            _check_nonempty(x, what, a)


def _amax_or_amin(name: str, largest: bool):
    """amax / amin: the extreme over `dim` (all dims by default), gradient shared by ties."""
    def op(input, dim=(), keepdim=False):
        x = as_tensor(input)
        _check_reduced_nonempty(x, name, dim)
        axes = wrap_dims(dim if dim != () else None, x.ndim)
        with grad_node(f"{name.capitalize()}Backward0", x):
            return _keep(x, _extreme(x, largest, axes), axes, keepdim)
    op.__name__ = op.__qualname__ = name
    return op


amax = _amax_or_amin("amax", True)
amin = _amax_or_amin("amin", False)


def _argop(largest: bool):
    def op(input, dim=None, keepdim=False):
        x = as_tensor(input)
        if dim is None:
            flat = bind(P.reshape, x, shape=(x.numel(),))
            _check_nonempty(x, "argmax" if largest else "argmin")
            return _arg_extreme(flat, largest, 0)
        axis = _wrap_dim(dim, x.ndim)
        if x.ndim == 0:
            return filled_tensor(0, dtypes.i64)
        return _keep(x, _arg_extreme(x, largest, axis), (axis,), keepdim)
    return op


argmax = _argop(True)
argmin = _argop(False)


# ---------------------------------------------------------------- norm


def norm(input, p=2, dim=None, keepdim=False):
    """The vector p-norm over `dim` (all elements by default): 2, 1, inf, -inf or any p."""
    x = as_tensor(input)
    if p == "fro":
        p = 2
    # PyTorch 2's Tensor.norm runs linalg.vector_norm, and names its node after it
    with grad_node("LinalgVectorNormBackward0", x):
        axes = wrap_dims(dim, x.ndim)
        a = abs(x)
        if p == float("inf"):
            return _keep(x, _extreme(a, True, axes), axes, keepdim)
        if p == float("-inf"):
            return _keep(x, _extreme(a, False, axes), axes, keepdim)
        if p == 1:
            return _sum(a, axes, keepdim)
        if p == 2:
            return _root_at_zero_is_flat(_sum(bind(P.mul, x, x), axes, keepdim), sqrt)
        return _root_at_zero_is_flat(_sum(pow(a, p), axes, keepdim),
                                     lambda s: pow(s, 1.0 / p))


def _root_at_zero_is_flat(s: Tensor, root) -> Tensor:
    """root(s) for the sum of powers s, with PyTorch's gradient 0 where the norm is 0
    (the slope of the root is infinite there, and infinity times 0 made NaN): the root
    is taken of a 1 where s is 0, and that branch's result is thrown away."""
    zero = bind(P.eq, s, scalar_constant(0, s.dtype, s.shape))
    safe = bind(P.select, zero, scalar_constant(1, s.dtype, s.shape), s)
    return bind(P.select, zero, scalar_constant(0, s.dtype, s.shape), root(safe))
