"""PyTorch's legacy index forms: a uint8 index tensor is a boolean mask; `True` is None.

PyTorch reads `x[m]` with a uint8 `m` as `x[m != 0]` and warns (UserWarning: indexing
with dtype torch.uint8 is now deprecated), in getitem and setitem alike; a 0-d one is a
0-d bool, silently.  Writing one number through a lone uint8 mask goes to PyTorch's
masked_fill_, which refuses it (RuntimeError), so that raises here too.  A lone
`True` (a Python bool, or a 0-d bool tensor) among basic items adds a dim of size 1,
as None does.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from .ops_core import scalar_constant
from .tape import bind
from .tensor import Tensor

DEPRECATED = ("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
              "torch.bool instead.")


def _is_uint8(it) -> bool:
    return isinstance(it, Tensor) and it.dtype is dtypes.u8


def uint8_as_masks(index, stacklevel: int = 3):
    """`index` with each uint8 tensor item replaced by the bool mask PyTorch reads."""
    items = index if isinstance(index, tuple) else (index,)
    if not any(_is_uint8(it) for it in items):
        return index
    out = []
    for it in items:
        if _is_uint8(it):
            if it.ndim:
                warnings.warn(DEPRECATED, UserWarning, stacklevel=stacklevel)
            it = bind(P.ne, it, scalar_constant(0, dtypes.u8, it.shape))
        out.append(it)
    return tuple(out) if isinstance(index, tuple) else out[0]


def refuse_uint8_fill(index, value) -> None:
    """PyTorch's index_put_ hands one value written through one mask to masked_fill_,
    which takes bool masks only."""
    items = index if isinstance(index, tuple) else (index,)
    tensors = [it for it in items if isinstance(it, Tensor)]
    numel = value.numel() if isinstance(value, Tensor) else np.size(value)
    if len(tensors) == 1 and _is_uint8(tensors[0]) and tensors[0].ndim and numel == 1:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           "unsigned char")


def _is_true(it) -> bool:
    if isinstance(it, (bool, np.bool_)):
        return bool(it)
    return (isinstance(it, Tensor) and it.dtype is dtypes.bool_ and it.ndim == 0
            and it._data is not None and bool(it._data))


def true_as_none(index):
    """`index` with each True (Python or 0-d tensor) as None, when nothing else in it is
    a tensor item: PyTorch's x[True] is x.unsqueeze(0)."""
    items = index if isinstance(index, tuple) else (index,)
    if not any(_is_true(it) for it in items) or any(
            isinstance(it, (Tensor, list, np.ndarray)) and not _is_true(it) or
            isinstance(it, (bool, np.bool_)) and not it for it in items):
        return index
    out = tuple(None if _is_true(it) else it for it in items)
    return out if isinstance(index, tuple) else out[0]
