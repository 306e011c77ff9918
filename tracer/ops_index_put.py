"""Writing through an index with tensor items: `x[idx] = v`, `x[mask] = v`, `x[idx] += v`,
`index_put_`.

`x[idx] = v` is a `scatter` of v into the positions `x[idx]` reads (ops_index.positions):
duplicates are written in order and the last stays, so `x[idx] += v` (Python's
`x[idx] = x[idx] + v`) does not accumulate duplicates, as in PyTorch.  A lone mask
whose value fits the dims after it is a `select` instead: the shape stays static, so
it also works in traced code (`grad_input[input < 0] = 0`).
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from . import ops_elementwise as E
from .ops_core import cast_to
from .ops_index_legacy import refuse_uint8_fill, uint8_as_masks
from .ops_index import _index_tensor, flat_positions, has_tensor_items, positions
from .ops_inplace import _inplace, check_value_fits, region_setitem
from .tape import bind
from .tensor import Tensor
from .unsupported import unsupported_argument


def setitem(x: Tensor, index, value) -> None:
    """`x[index] = value`: through the positions an index with tensor items (or a list)
    reads, else into the region a basic index selects."""
    refuse_uint8_fill(index, value)
    index = uint8_as_masks(index)
    if has_tensor_items(index) or (isinstance(index, list) and index):
        return index_setitem(x, index, value)
    return region_setitem(x, index, value)


def _lone_mask(x: Tensor, index):
    """(mask, first dim) when the index is one bool mask among full slices and `...`."""
    items = list(index) if isinstance(index, tuple) else [index]
    masks = [k for k, it in enumerate(items)
             if (isinstance(it, Tensor) and it.dtype is dtypes.bool_ and it.ndim > 0)]
    if len(masks) != 1 or any(
            not (it is Ellipsis or (isinstance(it, slice) and it == slice(None)))
            for k, it in enumerate(items) if k != masks[0]):
        return None
    k = masks[0]
    mask = items[k]
    before = items[:k]
    if Ellipsis in before:
        after = len(items) - k - 1 - (1 if Ellipsis in items[k + 1:] else 0)
        d = x.ndim - mask.ndim - after
    else:
        d = len(before)
    if d < 0 or d + mask.ndim > x.ndim or x.shape[d:d + mask.ndim] != mask.shape:
        return None
    return mask, d


def _fits_after(vshape: tuple, trailing: tuple) -> bool:
    vshape = tuple(vshape)
    while len(vshape) > len(trailing) and vshape[0] == 1:
        vshape = vshape[1:]
    if len(vshape) > len(trailing):
        return False
    return all(a == 1 or a == b for a, b in zip(vshape[::-1], trailing[::-1]))


def index_setitem(x: Tensor, index, value) -> None:
    val = value if isinstance(value, Tensor) else E.as_tensor(value)
    lone = _lone_mask(x, index)
    if lone is not None and _fits_after(val.shape, x.shape[lone[1] + lone[0].ndim:]):
        mask, d = lone
        _inplace(x, "IndexPutBackward0", (x, val), lambda: _masked_write(x, mask, d, val))
        return
    # PyTorch indexes a view first when there are ints or partial slices: CopySlices
    items = index if isinstance(index, tuple) else (index,)
    partial = any(isinstance(it, (int, np.integer)) and not isinstance(it, (bool, np.bool_))
                  or isinstance(it, slice) and it != slice(None) for it in items)
    _inplace(x, "CopySlices" if partial else "IndexPutBackward0", (x, val),
             lambda: put(x, index, val, accumulate=False))


def _masked_write(x: Tensor, mask: Tensor, d: int, val: Tensor) -> Tensor:
    placed = (1,) * d + mask.shape + (1,) * (x.ndim - d - mask.ndim)
    m = bind(P.reshape, mask, shape=placed) if placed != mask.shape else mask
    m = m if m.shape == x.shape else bind(P.broadcast, m, shape=x.shape)
    return bind(P.select, m, cast_to(val, x.dtype, x.shape), x)


def put(x: Tensor, index, val: Tensor, accumulate: bool) -> Tensor:
    """x with `val` written (or added, duplicates summed) at the positions x[index] reads."""
    pos, shape = positions(x, index)
    check_value_fits("index_put", val.shape, shape)
    flat = flat_positions(x, pos, shape)
    src = bind(P.reshape, cast_to(val, x.dtype, shape), shape=flat[0].shape) if flat else val
    prim = P.scatter_add if accumulate else P.scatter
    if accumulate and x.dtype is dtypes.bool_:
        raise unsupported_argument("torch.Tensor.index_put_", "accumulate=True",
                                   "on a bool tensor")
    return bind(prim, x, src, *flat, axes=tuple(range(x.ndim)))


def _indices_tuple(indices) -> tuple:
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_(): indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    return tuple(i if i is None else _index_tensor(i) for i in indices)


def index_put_(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    index = _indices_tuple(indices)
    if not accumulate:
        refuse_uint8_fill(index, values)
    index = uint8_as_masks(index)
    val = values if isinstance(values, Tensor) else E.as_tensor(values)
    _inplace(self, "IndexPutBackward0", (self, val),
             lambda: put(self, index, val, accumulate=bool(accumulate)))
    return self


def index_put(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    from .tape import grad_node
    index = _indices_tuple(indices)
    if not accumulate:
        refuse_uint8_fill(index, values)
    index = uint8_as_masks(index)
    val = values if isinstance(values, Tensor) else E.as_tensor(values)
    with grad_node("IndexPutBackward0", self, val):
        return put(self, index, val, accumulate=bool(accumulate))


__all__ = ["index_setitem", "index_put_", "index_put", "put"]
