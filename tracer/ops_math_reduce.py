"""The reductions and scans of issue 15: prod, cumsum, cumprod, var/std (and their
_mean pairs), logsumexp, all/any, count_nonzero, aminmax, isclose/allclose/equal.

cumsum is a primitive (a sequential kernel; its VJP is the reverse cumsum).  prod
and cumprod are composites of slices and products in O(log n) steps (a pairwise
tree; a Hillis-Steele scan), so their gradients are the primitives' own, exact at
zeros and differentiable again, as PyTorch's are.
"""
from __future__ import annotations

from ..ir import dtypes
from ..ir import primitives as P
from .creation import as_dtype
from .ops_core import convert, operands, result_dtype, scalar_constant
from .ops_elementwise import as_tensor, to_float
from .ops_math import _type_name
from .ops_reduce import _check_reduced_nonempty, _extreme, _keep, wrap_dims
from .tape import bind, grad_node
from .tensor import Tensor, _wrap_dim


def _const(value, x: Tensor) -> Tensor:
    return scalar_constant(value, x.dtype, x.shape)


def _sliced(x: Tensor, axis: int, start: int, stop: int, step: int = 1) -> Tensor:
    lo, hi, st = [0] * x.ndim, list(x.shape), [1] * x.ndim
    lo[axis], hi[axis], st[axis] = start, stop, step
    return bind(P.slice, x, start=tuple(lo), stop=tuple(hi), step=tuple(st))


def _accumulating_dtype(x: Tensor, dtype) -> Tensor:
    """PyTorch's sum/prod/cumsum dtype: `dtype` if given, int64 for integers and bool."""
    if dtype is not None:
        return convert(x, as_dtype(dtype))
    return x if x.dtype.is_float else convert(x, dtypes.i64)


# ---------------------------------------------------------------- prod


def _tree_product(x: Tensor, axis: int) -> Tensor:
    """The product along `axis` (removed): halve the axis by multiplying even and odd
    places until one is left; an odd one out at the front is carried along."""
    n = x.shape[axis]
    if n == 0:
        shape = tuple(d for i, d in enumerate(x.shape) if i != axis)
        return scalar_constant(1, x.dtype, shape)
    while n > 1:
        carry = None
        if n % 2:
            carry, x, n = _sliced(x, axis, 0, 1), _sliced(x, axis, 1, n), n - 1
        x = bind(P.mul, _sliced(x, axis, 0, n, 2), _sliced(x, axis, 1, n, 2))
        n //= 2
        if carry is not None:
            x = bind(P.concatenate, carry, x, axis=axis)
            n += 1
    return bind(P.reshape, x, shape=tuple(d for i, d in enumerate(x.shape) if i != axis))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    x = as_tensor(input)
    if dim is None:
        with grad_node("ProdBackward0", x):
            x = _accumulating_dtype(x, dtype)
            return _tree_product(bind(P.reshape, x, shape=(x.numel(),)), 0)
    if not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    axis = _wrap_dim(dim, x.ndim)
    with grad_node("ProdBackward1", x):
        x = _accumulating_dtype(x, dtype)
        if x.ndim == 0:
            return x if x is input else bind(P.select, scalar_constant(True, dtypes.bool_, ()),
                                             x, x)
        return _keep(x, _tree_product(x, axis), (axis,), keepdim)


# ---------------------------------------------------------------- scans


def _scan(x: Tensor, axis: int, prim, identity) -> Tensor:
    """Inclusive scan along `axis` (Hillis-Steele): x_i op= x_(i - s) for s = 1, 2, 4, ..."""
    n, shift = x.shape[axis] if x.ndim else 1, 1
    while shift < n:
        pad_shape = list(x.shape)
        pad_shape[axis] = shift
        fill = scalar_constant(identity, x.dtype, tuple(pad_shape))
        shifted = bind(P.concatenate, fill, _sliced(x, axis, 0, n - shift), axis=axis)
        x = bind(prim, x, shifted)
        shift *= 2
    return x


def _scan_op(name: str, grad_name: str, prim, identity):
    def op(input, dim, *, dtype=None):
        x = as_tensor(input)
        axis = _wrap_dim(dim, x.ndim)
        with grad_node(grad_name, x):
            x = _accumulating_dtype(x, dtype)
            return _scan(x, axis, prim, identity) if x.ndim else \
                bind(P.select, scalar_constant(True, dtypes.bool_, ()), x, x)
    op.__name__ = name
    op.__doc__ = f"{name} along `dim`: integers and bool accumulate in int64."
    return op


def cumsum(input, dim, *, dtype=None):
    """Running sum along `dim` (the cumsum primitive: one sequential pass, as PyTorch's);
    integers and bool accumulate in int64."""
    x = as_tensor(input)
    axis = _wrap_dim(dim, x.ndim)
    with grad_node("CumsumBackward0", x):
        x = _accumulating_dtype(x, dtype)
        if x.ndim == 0:
            return bind(P.select, scalar_constant(True, dtypes.bool_, ()), x, x)
        return bind(P.cumsum, x, axis=axis, reverse=False)


cumprod = _scan_op("cumprod", "CumprodBackward0", P.mul, 1)


# ---------------------------------------------------------------- var / std


def _moments_args(dim, unbiased, keepdim, correction):
    """PyTorch's overloads: var(x, unbiased), var(x, dim, unbiased, keepdim) and
    var(x, dim, *, correction, keepdim)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if correction is not None and unbiased is not None:
        raise RuntimeError("var/std: cannot take both unbiased and correction")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, keepdim, correction


def _var_and_mean(x: Tensor, axes: tuple, keepdim: bool, correction):
    count = 1
    for a in axes:
        count *= x.shape[a]
    total = bind(P.reduce_sum, x, axes=axes)
    mean = bind(P.div, total, scalar_constant(float(count), x.dtype, total.shape))
    centred = bind(P.sub, x, bind(P.broadcast, _keep(x, mean, axes, True), shape=x.shape)) \
        if x.ndim else bind(P.sub, x, mean)
    squares = bind(P.reduce_sum, bind(P.mul, centred, centred), axes=axes)
    dof = max(count - correction, 0)
    var = bind(P.div, squares, scalar_constant(float(dof), x.dtype, squares.shape))
    return _keep(x, var, axes, keepdim), _keep(x, mean, axes, keepdim)


def _float_input(x: Tensor, name: str) -> Tensor:
    if not x.dtype.is_float:
        raise RuntimeError(f"{name}(): std and var only support floating point and "
                           f"complex dtypes (got {_type_name(x.dtype)})")
    return x


def _moments(name: str, grad_name: str, root: bool, with_mean: bool):
    def op(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        x = _float_input(as_tensor(input), name)
        dim, keepdim, correction = _moments_args(dim, unbiased, keepdim, correction)
        axes = wrap_dims(dim, x.ndim)
        with grad_node(grad_name, x):
            var, mean = _var_and_mean(x, axes, keepdim, correction)
            if root:
                var = bind(P.sqrt, var)
            return (var, mean) if with_mean else var
    op.__name__ = name
    op.__doc__ = f"{name}: divided by N - correction (1 by default: Bessel's correction)."
    return op


var = _moments("var", "VarBackward0", False, False)
std = _moments("std", "StdBackward0", True, False)
var_mean = _moments("var_mean", "VarMeanBackward0", False, True)
std_mean = _moments("std_mean", "StdMeanBackward0", True, True)


# ---------------------------------------------------------------- logsumexp


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) shifted by the (constant) maximum, which is taken as 0 where it
    is infinite: no overflow, -inf for an all -inf (or empty) slice, +inf kept."""
    x = to_float(as_tensor(input))
    axes = wrap_dims(dim, x.ndim)
    with grad_node("LogsumexpBackward0", x):
        if x.ndim == 0:
            return bind(P.add, x, _const(0.0, x))
        peak = bind(P.stop_gradient, bind(P.reduce_max, x, axes=axes))
        peak = bind(P.select, bind(P.eq, bind(P.abs, peak), _const(float("inf"), peak)),
                    _const(0.0, peak), peak)
        wide = bind(P.broadcast, _keep(x, peak, axes, True), shape=x.shape)
        total = bind(P.reduce_sum, bind(P.exp, bind(P.sub, x, wide)), axes=axes)
        return _keep(x, bind(P.add, bind(P.log, total), peak), axes, keepdim)


# ---------------------------------------------------------------- all / any / counts


def _nonzero_count(x: Tensor, axes: tuple) -> Tensor:
    nonzero = bind(P.ne, x, scalar_constant(False if x.dtype is dtypes.bool_ else 0,
                                            x.dtype, x.shape))
    return bind(P.reduce_sum, convert(nonzero, dtypes.i64), axes=axes)


def _dims(dim, x: Tensor) -> tuple:
    return wrap_dims(None if dim == () else dim, x.ndim)


def all(input, dim=None, keepdim=False):
    """Whether every element is nonzero (True for none)."""
    x = as_tensor(input)
    axes = _dims(dim, x)
    count = 1
    for a in axes:
        count *= x.shape[a]
    n = _nonzero_count(x, axes)
    return _keep(x, bind(P.eq, n, scalar_constant(count, dtypes.i64, n.shape)), axes, keepdim)


def any(input, dim=None, keepdim=False):
    """Whether some element is nonzero (False for none)."""
    x = as_tensor(input)
    axes = _dims(dim, x)
    n = _nonzero_count(x, axes)
    return _keep(x, bind(P.gt, n, scalar_constant(0, dtypes.i64, n.shape)), axes, keepdim)


def count_nonzero(input, dim=None):
    x = as_tensor(input)
    return _nonzero_count(x, _dims(dim, x))


class AminmaxResult(tuple):
    """PyTorch's `torch.return_types.aminmax`: a pair with `.min` and `.max`."""

    __slots__ = ()

    def __new__(cls, lo, hi):
        return super().__new__(cls, (lo, hi))

    min = property(lambda self: self[0])
    max = property(lambda self: self[1])

    def __repr__(self) -> str:
        return f"torch.return_types.aminmax(\nmin={self[0]!r},\nmax={self[1]!r})"


def aminmax(input, *, dim=None, keepdim=False):
    """(amin, amax) in one call; NaN wins, gradient shared among ties."""
    x = as_tensor(input)
    _check_reduced_nonempty(x, "aminmax", dim)
    axes = wrap_dims(dim, x.ndim)
    with grad_node("AminmaxBackward0", x):
        lo = _keep(x, _extreme(x, False, axes), axes, keepdim)
        hi = _keep(x, _extreme(x, True, axes), axes, keepdim)
    return AminmaxResult(lo, hi)


# ---------------------------------------------------------------- closeness


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol |b| where the difference is finite, or a == b (infinities);
    NaNs equal each other only with `equal_nan`."""
    dt = result_dtype(input, other)
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol ({rtol}) and atol ({atol}) must be non-negative")
    a, b = operands("isclose", input, other, dtype=dt)
    close = bind(P.eq, a, b)
    if not dt.is_float:
        if rtol == 0 and atol == 0:
            return close
        a, b = convert(a, dtypes.f64), convert(b, dtypes.f64)
    if equal_nan:
        both = bind(P.select, bind(P.ne, a, a), bind(P.ne, b, b),
                    scalar_constant(False, dtypes.bool_, a.shape))
        close = bind(P.select, close, close, both)
    diff = bind(P.abs, bind(P.sub, a, b))
    allowed = bind(P.add, _const(atol, b), bind(P.abs, bind(P.mul, _const(rtol, b), b)))
    finite = bind(P.eq, bind(P.sub, diff, diff), _const(0.0, diff))
    near = bind(P.select, finite, bind(P.le, diff, allowed),
                scalar_constant(False, dtypes.bool_, a.shape))
    return bind(P.select, close, close, near)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(all(isclose(input, other, rtol, atol, equal_nan)).item())


def equal(input, other) -> bool:
    """Same shape and equal elements (NaN is unequal to itself)."""
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool(all(bind(P.eq, *operands("equal", input, other))).item())


FUNCTIONS = ["prod", "cumsum", "cumprod", "var", "std", "var_mean", "std_mean", "logsumexp",
             "all", "any", "count_nonzero", "aminmax", "isclose", "allclose", "equal"]
