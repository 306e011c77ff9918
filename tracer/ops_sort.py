"""Values with their indices: sort, argsort, topk, kthvalue, median and mode, returning
PyTorch's named pairs (`torch.return_types.sort(values=..., indices=...)`).

Indices are computed eagerly with numpy (stable sorts, NaN ordered as the largest, as
PyTorch does) and, for a traced tensor, from pairwise comparisons (each element's rank
is how many elements order before it), which the IR can express.  sort and topk place
each element at its rank with one `scatter` (then keep the first k): its VJP is a
`gather` of the cotangent at the ranks, so every element gets exactly its place's
cotangent (a -0.0 too) and the unselected ones +0.0, as PyTorch's scatter into zeros,
in O(n) memory.  One pick per row (kthvalue, median, mode) reads x through a one-hot
mask (iota == index) summed along the axis: O(n) too, and exact for the same reason.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from .ops_core import scalar_constant
from .ops_elementwise import as_tensor
from .ops_reduce import _return_type, _keep
from .tape import bind, grad_node
from .tensor import Tensor, _wrap_dim
from .topk_order import topk_order

SortResult = _return_type("sort")
TopkResult = _return_type("topk")
KthvalueResult = _return_type("kthvalue")
MedianResult = _return_type("median")
ModeResult = _return_type("mode")


def _last(x: Tensor, axis: int) -> Tensor:
    """x with `axis` moved last."""
    if axis == x.ndim - 1:
        return x
    perm = tuple(d for d in range(x.ndim) if d != axis) + (axis,)
    return bind(P.transpose, x, perm=perm)


def _back(y: Tensor, axis: int) -> Tensor:
    """Undo _last."""
    if axis == y.ndim - 1:
        return y
    perm = list(range(y.ndim - 1))
    perm.insert(axis, y.ndim - 1)
    return bind(P.transpose, y, perm=tuple(perm))


def take_along(x: Tensor, index: Tensor, axis: int) -> Tensor:
    """out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis` (index int64, same
    shape as x except along axis, where it is 1 or small: the mask is k times x)."""
    xl, il = _last(x, axis), _last(index, axis)
    n, k = xl.shape[-1], il.shape[-1]
    batch = xl.shape[:-1]
    grid = batch + (k, n)
    xs = bind(P.broadcast, bind(P.reshape, xl, shape=batch + (1, n)), shape=grid)
    ix = bind(P.broadcast, bind(P.reshape, il, shape=batch + (k, 1)), shape=grid)
    iota = bind(P.iota, type=xs._type.with_dtype(dtypes.i64), axis=len(grid) - 1)
    zero = scalar_constant(-0.0 if x.dtype.is_float else 0, x.dtype, grid)
    src = xs if x.dtype is not dtypes.bool_ else bind(P.convert, xs, dtype=dtypes.i64)
    if x.dtype is dtypes.bool_:
        zero = scalar_constant(0, dtypes.i64, grid)
    picked = bind(P.reduce_sum, bind(P.select, bind(P.eq, iota, ix), src, zero),
                  axes=(len(grid) - 1,))
    if x.dtype is dtypes.bool_:
        picked = bind(P.convert, picked, dtype=dtypes.bool_)
    return _back(picked, axis)


# ---------------------------------------------------------------- indices


def _numpy_order(a: np.ndarray, descending: bool) -> np.ndarray:
    """Stable argsort along the last axis, NaN largest (PyTorch's order)."""
    if a.dtype == np.bool_:
        a = a.astype(np.int64)
    if descending:
        if a.dtype.kind == "f":
            # NaN first, then the rest descending, ties in their original order
            key = np.where(np.isnan(a), -np.inf, -a)
            nan = np.isnan(a)
            order = np.lexsort((key, ~nan), axis=-1)
            return order
        return np.argsort(-a, axis=-1, kind="stable")
    return np.argsort(a, axis=-1, kind="stable")


def _traced_order(xl: Tensor, descending: bool) -> tuple[Tensor, Tensor]:
    """The stable sort permutation along the last axis and its inverse, from pairwise
    comparisons: rank_i counts the j that order before i; index at position p is the i
    whose rank is p."""
    n = xl.shape[-1]
    batch = xl.shape[:-1]
    grid = batch + (n, n)  # [..., i, j]
    a = bind(P.broadcast, bind(P.reshape, xl, shape=batch + (n, 1)), shape=grid)  # x_i
    b = bind(P.broadcast, bind(P.reshape, xl, shape=batch + (1, n)), shape=grid)  # x_j
    before = bind(P.gt, a, b) if not descending else bind(P.lt, a, b)
    if xl.dtype.is_float:
        nan_a, nan_b = bind(P.ne, a, a), bind(P.ne, b, b)
        not_a, not_b = bind(P.eq, nan_a, False_(grid)), bind(P.eq, nan_b, False_(grid))
        # NaN is largest: ascending, a NaN j orders after; descending, before any number
        if descending:
            before = bind(P.select, nan_b, not_a, bind(P.select, nan_a, False_(grid), before))
        else:
            before = bind(P.select, nan_a, not_b, before)
        same = bind(P.select, nan_a, nan_b, bind(P.eq, a, b))
    else:
        same = bind(P.eq, a, b)
    ti = bind(P.iota, type=a._type.with_dtype(dtypes.i64), axis=len(grid) - 2)
    tj = bind(P.iota, type=a._type.with_dtype(dtypes.i64), axis=len(grid) - 1)
    earlier_tie = bind(P.select, same, bind(P.lt, tj, ti), False_(grid))
    counts = bind(P.select, bind(P.select, before, True_(grid), earlier_tie),
                  scalar_constant(1, dtypes.i64, grid), scalar_constant(0, dtypes.i64, grid))
    rank = bind(P.reduce_sum, counts, axes=(len(grid) - 1,))  # [..., i]
    # position p holds the i with rank_i == p: sum_i i * [rank_i == p]
    r = bind(P.broadcast, bind(P.reshape, rank, shape=batch + (1, n)), shape=grid)  # [p, i]
    hit = bind(P.eq, r, ti)  # ti varies along p here
    order = bind(P.reduce_sum, bind(P.select, hit, tj, scalar_constant(0, dtypes.i64, grid)),
                 axes=(len(grid) - 1,))
    return order, rank


def False_(shape):
    return scalar_constant(False, dtypes.bool_, shape)


def True_(shape):
    return scalar_constant(True, dtypes.bool_, shape)


def _order(x: Tensor, axis: int, descending: bool) -> Tensor:
    """int64 permutation sorting x along axis."""
    return _order_and_rank(x, axis, descending)[0]


def _topk_order_and_rank(x: Tensor, axis: int, k: int, largest: bool,
                         sorted_: bool) -> tuple[Tensor, Tensor]:
    """As _order_and_rank, the first k places being those PyTorch's CPU topk picks among
    ties (topk_order.py); a traced x is sorted stably."""
    if x._data is None:
        return _order_and_rank(x, axis, largest)
    rows = np.moveaxis(np.asarray(x._data), axis, -1)
    stable = _numpy_order(rows, largest)
    return _order_and_rank(x, axis, largest, topk_order(rows, k, largest, sorted_, stable))


def _order_and_rank(x: Tensor, axis: int, descending: bool,
                    order: np.ndarray | None = None) -> tuple[Tensor, Tensor]:
    """(the int64 permutation sorting x along axis, its inverse: each element's place;
    `order`: the permutation along the last axis, when the caller chose it)."""
    if x._data is not None:
        from .creation import tensor
        if order is None:
            order = _numpy_order(np.moveaxis(np.asarray(x._data), axis, -1), descending)
        rank = np.empty_like(order)
        places = np.broadcast_to(np.arange(order.shape[-1], dtype=order.dtype), order.shape)
        np.put_along_axis(rank, order, places, axis=-1)
        return tuple(tensor(np.ascontiguousarray(np.moveaxis(a, -1, axis), dtype=np.int64))
                     for a in (order, rank))
    order, rank = _traced_order(_last(x, axis), descending)
    return _back(order, axis), _back(rank, axis)


def _ranked(x: Tensor, rank: Tensor, axis: int, k: int) -> Tensor:
    """The first k of x placed by `rank` along axis: a `scatter` of x to its ranks (every
    place written once), cut to k.  Its VJP gathers the cotangent (padded with +0.0) at
    the ranks: PyTorch's zeros.scatter(dim, indices, grad) for sort and topk."""
    placed = bind(P.scatter, scalar_constant(0, x.dtype, x.shape), x, rank, axes=(axis,))
    return _head(placed, axis, k)


def _head(index: Tensor, axis: int, k: int) -> Tensor:
    from .ops_index import _slice_prim
    return _slice_prim(index, axis, 0, k, 1) if index.shape[axis] != k else index


# ---------------------------------------------------------------- public


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """Values and indices sorted along dim; always stable (PyTorch's CPU order for ties)."""
    if isinstance(dim, bool):  # sort(x, stable=..) given positionally
        dim = -1
    _no_out(out, "sort")
    x = as_tensor(input)
    if x.ndim == 0:
        return SortResult(x.clone(), scalar_constant(0, dtypes.i64, ()))
    axis = _wrap_dim(dim, x.ndim)
    index, rank = _order_and_rank(x, axis, descending)
    with grad_node("SortBackward0", x):
        values = _ranked(x, rank, axis, x.shape[axis])
    return SortResult(values, index)


def argsort(input, dim=-1, descending=False, stable=False):
    x = as_tensor(input)
    if x.ndim == 0:
        return scalar_constant(0, dtypes.i64, ())
    return _order(x, _wrap_dim(dim, x.ndim), descending)


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    _no_out(out, "topk")
    x = as_tensor(input)
    axis = _wrap_dim(dim, x.ndim) if x.ndim else 0
    size = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range")
    if x.ndim == 0:
        return TopkResult(x.clone(), scalar_constant(0, dtypes.i64, ()))
    order, rank = _topk_order_and_rank(x, axis, k, largest, sorted)
    with grad_node("TopkBackward0", x):
        values = _ranked(x, rank, axis, k)
    return TopkResult(values, _head(order, axis, k))


def _pick_kth(x: Tensor, axis: int, k: int, keepdim: bool, node: str, result):
    index = _order(x, axis, False)
    from .ops_index import _slice_prim
    index = _slice_prim(index, axis, k, k + 1, 1)
    with grad_node(node, x):
        values = _keep_or_drop(x, take_along(x, index, axis), axis, keepdim)
    return result(values, _keep_or_drop(x, index, axis, keepdim))


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The k-th smallest (1-based) along dim, and its index."""
    _no_out(out, "kthvalue")
    x = as_tensor(input)
    if x.ndim == 0:
        return KthvalueResult(x.clone(), scalar_constant(0, dtypes.i64, ()))
    axis = _wrap_dim(dim, x.ndim)
    if not 1 <= k <= x.shape[axis]:
        raise IndexError(f"kthvalue(): selected number k out of range for dimension {axis}")
    return _pick_kth(x, axis, int(k) - 1, keepdim, "KthvalueBackward0", KthvalueResult)


def median(input, dim=None, keepdim=False, *, out=None):
    """The lower median (PyTorch's: element (n-1)//2 of the sorted data; NaN if any is NaN).
    Without dim a 0-d value; with dim (values, indices)."""
    _no_out(out, "median")
    x = as_tensor(input)
    if dim is None:
        if x.numel() == 0:
            return scalar_constant(float("nan"), x.dtype, ())
        index = _median_index(bind(P.reshape, x, shape=(x.numel(),)) if x.ndim != 1 else x, 0)
        with grad_node("MedianBackward0", x):
            flat = bind(P.reshape, x, shape=(x.numel(),)) if x.ndim != 1 else x
            return bind(P.reshape, take_along(flat, index, 0), shape=())
    if x.ndim == 0:
        return MedianResult(x.clone(), scalar_constant(0, dtypes.i64, ()))
    axis = _wrap_dim(dim, x.ndim)
    if x.shape[axis] == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    index = _median_index(x, axis)
    with grad_node("MedianBackward1", x):
        values = _keep_or_drop(x, take_along(x, index, axis), axis, keepdim)
    return MedianResult(values, _keep_or_drop(x, index, axis, keepdim))


def _median_index(x: Tensor, axis: int) -> Tensor:
    """Index (kept dim of size 1) of the lower median; the first NaN where a row has one."""
    from .ops_index import _slice_prim
    order = _order(x, axis, False)
    n = x.shape[axis]
    mid = _slice_prim(order, axis, (n - 1) // 2, (n - 1) // 2 + 1, 1)
    if not x.dtype.is_float:
        return mid
    first_nan = _first_nan(x, axis)
    has_nan = bind(P.ne, first_nan, scalar_constant(n, dtypes.i64, first_nan.shape))
    return bind(P.select, has_nan, first_nan, mid)


def _first_nan(x: Tensor, axis: int) -> Tensor:
    """Per row, the index of the first NaN along axis, or n if there is none."""
    n = x.shape[axis]
    iota = bind(P.iota, type=x._type.with_dtype(dtypes.i64), axis=axis)
    at_nan = bind(P.select, bind(P.ne, x, x), iota, scalar_constant(n, dtypes.i64, x.shape))
    low = bind(P.neg, bind(P.reduce_max, bind(P.neg, at_nan), axes=(axis,)))
    return bind(P.reshape, low, shape=tuple(1 if i == axis else d
                                            for i, d in enumerate(x.shape)))


def _keep_or_drop(x: Tensor, t: Tensor, axis: int, keepdim: bool) -> Tensor:
    if keepdim:
        return t
    return bind(P.reshape, t, shape=tuple(d for i, d in enumerate(x.shape) if i != axis))


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along dim (the smallest among equally frequent ones) and
    the index of its last occurrence, as PyTorch's CPU kernel."""
    x = as_tensor(input)
    if x._data is None:
        raise NotImplementedError("tg.mode on a traced tensor is not supported (eager only); "
                                  "see docs/torch-coverage.md")
    if x.ndim == 0:
        return ModeResult(x.clone(), scalar_constant(0, dtypes.i64, ()))
    axis = _wrap_dim(dim, x.ndim)
    rows = np.moveaxis(np.asarray(x._data), axis, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    picks = np.empty(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]  # unique sorts, so ties go to the smallest value
        picks[r] = np.nonzero(row == best)[0][-1]
    from .creation import tensor
    index = tensor(np.moveaxis(picks.reshape(rows.shape[:-1] + (1,)), -1, axis).copy())
    with grad_node("ModeBackward0", x):
        values = _keep_or_drop(x, take_along(x, index, axis), axis, keepdim)
    return ModeResult(values, _keep_or_drop(x, index, axis, keepdim))


def _no_out(out, name: str) -> None:
    if out is not None:
        raise NotImplementedError(f"tg.{name}(..., out=...) is not supported; assign the "
                                  "result instead (see docs/torch-coverage.md)")
