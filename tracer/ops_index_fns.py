"""The indexing functions of PyTorch's API, each one gather or scatter (or a select):
gather, index_select, take, masked_fill, masked_select, scatter, scatter_add,
index_add, index_put, nonzero, argwhere and where(condition).

`gather(x, dim, index)` is the primitive on one axis; index_select and take broadcast
or flatten their index into that form.  Bounds are checked eagerly here, with
PyTorch's message, and by the primitives (the interpreter and native code) for
traced indices.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from . import ops_elementwise as E
from .errors import at, user_loc
from .ops_core import cast_to, scalar_constant
from .ops_index import _index_tensor, _mask_positions, getitem
from .ops_index_put import index_put, index_put_  # noqa: F401  (re-exported)
from .ops_inplace import _inplace
from .tape import bind, grad_node
from .tensor import Tensor, _wrap_dim
from .unsupported import unsupported_argument


class IndexOutOfRange(IndexError, RuntimeError):
    """PyTorch raises RuntimeError for gather/scatter and IndexError for indexing: both."""


def _long(index, op: str) -> Tensor:
    t = _index_tensor(index)
    if t.dtype is dtypes.bool_:
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")
    return t if t.dtype is dtypes.i64 else bind(P.convert, t, dtype=dtypes.i64)


def _check(index: Tensor, size: int, dim: int) -> None:
    data = index._data
    if data is not None and data.size:
        bad = (data < -size) | (data >= size)
        if bad.any():
            raise IndexOutOfRange(f"index {int(data[bad].flat[0])} is out of bounds for "
                                  f"dimension {dim} with size {size}{at(user_loc())}")


def _no_reduce(op: str, reduce) -> None:
    if reduce is not None:
        raise unsupported_argument(f"torch.Tensor.{op}", f"reduce={reduce!r}")


def _fits(op: str, index: Tensor, x: Tensor, dim: int, other: Tensor | None = None) -> None:
    if index.ndim != x.ndim or any(i > n for d, (i, n) in enumerate(zip(index.shape, x.shape))
                                   if d != dim) or (other is not None and (
            other.ndim != x.ndim or any(i > n for i, n in zip(index.shape, other.shape)))):
        raise RuntimeError(f"{op}: index {list(index.shape)} must have the rank of the input "
                           f"{list(x.shape)} and be no larger on the other dims"
                           f"{'' if other is None else f' and than src {list(other.shape)}'}"
                           f"{at(user_loc())}")


def _corner(src: Tensor, shape: tuple) -> Tensor:
    if src.shape == tuple(shape):
        return src
    return bind(P.slice, src, start=(0,) * src.ndim, stop=tuple(shape), step=(1,) * src.ndim)


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    d = _wrap_dim(dim, input.ndim)
    index = _long(index, "gather")
    if input.ndim == 0:
        input = bind(P.reshape, input, shape=(1,))
    _fits("gather", index, input, d)
    _check(index, input.shape[d], d)
    with grad_node("GatherBackward0", input):
        return bind(P.gather, input, index, axes=(d,))


def index_select(input: Tensor, dim: int, index) -> Tensor:
    d = _wrap_dim(dim, input.ndim)
    index = _long(index, "index_select")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    index = bind(P.reshape, index, shape=(index.numel(),)) if index.ndim == 0 else index
    x = input if input.ndim else bind(P.reshape, input, shape=(1,))
    _check(index, x.shape[d], d)
    with grad_node("IndexSelectBackward0", input):
        shape = x.shape[:d] + index.shape + x.shape[d + 1:]
        placed = bind(P.reshape, index, shape=(1,) * d + index.shape + (1,) * (x.ndim - d - 1))
        out = bind(P.gather, x, bind(P.broadcast, placed, shape=shape), axes=(d,))
        return out if input.ndim else bind(P.reshape, out, shape=())


def take(input: Tensor, index) -> Tensor:
    index = _long(index, "take")
    n = input.numel()
    data = index._data
    if data is not None and data.size and ((data < -n) | (data >= n)).any():
        bad = int(data[(data < -n) | (data >= n)].flat[0])
        raise IndexOutOfRange(f"out of range: tried to access index {bad} on a tensor of {n} "
                              f"elements.{at(user_loc())}")
    with grad_node("TakeBackward0", input):
        flat = bind(P.reshape, input, shape=(n,))
        got = bind(P.gather, flat, bind(P.reshape, index, shape=(index.numel(),)), axes=(0,))
        return bind(P.reshape, got, shape=index.shape)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype is not dtypes.bool_:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{getattr(mask, 'dtype', type(mask).__name__)}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    with grad_node("MaskedFillBackward0", input, value):
        return E.where(mask, cast_to(value, input.dtype, ()), input)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    return _inplace(self, "MaskedFillBackward0", (self, value),
                    lambda: E.where(mask, cast_to(value, self.dtype, ()), self))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype is not dtypes.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = tuple(np.broadcast_shapes(input.shape, mask.shape))
    with grad_node("MaskedSelectBackward0", input):
        x = cast_to(input, input.dtype, shape)
        m = cast_to(mask, dtypes.bool_, shape)
        if x.ndim == 0:
            x, m = (bind(P.reshape, t, shape=(1,)) for t in (x, m))
        return getitem(x, m)


def _scatter(op: str, input: Tensor, dim: int, index, src, accumulate: bool) -> Tensor:
    d = _wrap_dim(dim, input.ndim)
    index = _long(index, op)
    if isinstance(src, Tensor):
        _fits(op, index, input, d, src)
        src = _corner(cast_to(src, input.dtype, src.shape), index.shape)
    else:
        _fits(op, index, input, d)
        src = scalar_constant(src, input.dtype, index.shape)
    _check(index, input.shape[d], d)
    return bind(P.scatter_add if accumulate else P.scatter, input, src, index, axes=(d,))


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    _no_reduce("scatter", reduce)
    src = value if src is None else src
    with grad_node("ScatterBackward0" if isinstance(src, Tensor) else "ScatterBackward1",
                   input, src):
        return _scatter("scatter", input, dim, index, src, False)


def scatter_(self: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    _no_reduce("scatter_", reduce)
    src = value if src is None else src
    name = "ScatterBackward0" if isinstance(src, Tensor) else "ScatterBackward1"
    return _inplace(self, name, (self, src),
                    lambda: _scatter("scatter_", self, dim, index, src, False))


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:
    with grad_node("ScatterAddBackward0", input, src):
        return _scatter("scatter_add", input, dim, index, src, True)


def scatter_add_(self: Tensor, dim: int, index, src: Tensor) -> Tensor:
    return _inplace(self, "ScatterAddBackward0", (self, src),
                    lambda: _scatter("scatter_add_", self, dim, index, src, True))


def _index_add(input: Tensor, dim: int, index, source, alpha) -> Tensor:
    d = _wrap_dim(dim, input.ndim)
    index = _long(index, "index_add")
    if index.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    index = bind(P.reshape, index, shape=(1,)) if index.ndim == 0 else index
    source = source if isinstance(source, Tensor) else E.as_tensor(source)
    want = input.shape[:d] + index.shape + input.shape[d + 1:]
    if source.shape != want and not (source.ndim == 0 and want == (1,)):
        raise IndexError(f"index_add_(): Source/destination tensor must have same slice "
                         f"shapes; source {list(source.shape)}, index {list(index.shape)}, "
                         f"self {list(input.shape)} on dim {d}{at(user_loc())}")
    _check(index, input.shape[d], d)
    src = cast_to(source if alpha == 1 else E.mul(source, alpha), input.dtype, want)
    placed = bind(P.reshape, index, shape=(1,) * d + index.shape + (1,) * (input.ndim - d - 1))
    return bind(P.scatter_add, input, src, bind(P.broadcast, placed, shape=want), axes=(d,))


def index_add(input: Tensor, dim: int, index, source, *, alpha=1) -> Tensor:
    with grad_node("IndexAddBackward0", input, source):
        return _index_add(input, dim, index, source, alpha)


def index_add_(self: Tensor, dim: int, index, source, *, alpha=1) -> Tensor:
    return _inplace(self, "IndexAddBackward0", (self, source),
                    lambda: _index_add(self, dim, index, source, alpha))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Eager only: the number of results is data."""
    pos = _mask_positions(E.ne(input, False) if input.dtype is dtypes.bool_
                          else E.ne(input, 0)) if input.ndim else None
    from .creation import tensor
    if input.ndim == 0:
        hit = bool(np.asarray(input._data if input._data is not None else
                              _mask_positions(input)).item())
        return (tensor([0] if hit else [], dtype=dtypes.i64),) if as_tuple else \
            tensor(np.zeros((int(hit), 0), np.int64))
    if as_tuple:
        return tuple(pos)
    return tensor(np.stack([p._data for p in pos], axis=1) if pos else
                  np.zeros((0, 0), np.int64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def where(condition, input=None, other=None):
    """where(condition, input, other), or where(condition): nonzero(condition, as_tuple=True)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return E.where(condition, input, other)


FUNCTIONS = ["gather", "index_select", "take", "masked_fill", "masked_select", "scatter",
             "scatter_add", "index_add", "index_put", "nonzero", "argwhere"]
METHODS = {
    **{name: globals()[name] for name in FUNCTIONS},
    "gather": gather, "masked_fill_": masked_fill_, "scatter_": scatter_,
    "scatter_add_": scatter_add_, "index_add_": index_add_, "index_put_": index_put_,
}


def attach() -> None:
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)


attach()
