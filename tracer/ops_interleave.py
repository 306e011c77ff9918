"""torch.repeat_interleave: each element (or slice along `dim`) repeated in place.

An int count is a static copy (x with a new axis after `dim`, broadcast to the count,
the two axes merged), traceable, recorded as PyTorch's last step (ViewBackward0); its
gradient sums the copies.  A tensor of counts is data: eager only, the positions
np.repeat gives, read by index_select (IndexSelectBackward0, its gradient a scatter-add).
`repeat_interleave(counts)` alone gives those positions.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from .ops_elementwise import as_tensor
from .ops_index_fns import index_select
from .tape import bind, grad_node
from .tensor import Tensor, _wrap_dim
from .unsupported import unsupported_argument


def _counts(repeats: Tensor) -> np.ndarray:
    if repeats.dtype.is_float or repeats.dtype is dtypes.bool_:
        raise unsupported_argument("torch.repeat_interleave",
                                   f"repeats of dtype {repeats.dtype.torch_name}",
                                   "repeats are an integer tensor or an int")
    if repeats._data is None:
        raise unsupported_argument("torch.repeat_interleave", "a traced tensor of repeats",
                                   "its result's shape would be data; pass an int")
    if repeats.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    counts = np.asarray(repeats._data, dtype=np.int64).reshape(-1)
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    return counts


def _positions(counts: np.ndarray) -> Tensor:
    from .creation import tensor
    return tensor(np.repeat(np.arange(counts.size, dtype=np.int64), counts))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat x's elements (flattened without `dim`) `repeats` times each."""
    x = as_tensor(input)
    if repeats is None:  # repeat_interleave(counts): the positions
        return _positions(_counts(x))
    if dim is None:
        x = bind(P.reshape, x, shape=(x.numel(),)) if x.ndim != 1 else x
        dim = 0
    d = _wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        x = bind(P.reshape, x, shape=(1,))
    if isinstance(repeats, Tensor):
        counts = _counts(repeats)
        n = x.shape[d]
        if counts.size == 1 and repeats.ndim == 0:
            counts = np.full(n, counts[0])
        elif counts.size != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.size} and input.size({d}) = {n}")
        return index_select(x, d, _positions(counts))
    r = int(repeats)
    if r < 0:
        raise RuntimeError("repeats can not be negative")
    spread = x.shape[:d + 1] + (1,) + x.shape[d + 1:]
    with grad_node("ViewBackward0", x):
        big = bind(P.broadcast, bind(P.reshape, x, shape=spread),
                   shape=x.shape[:d + 1] + (r,) + x.shape[d + 1:])
        out = bind(P.reshape, big, shape=x.shape[:d] + (x.shape[d] * r,) + x.shape[d + 1:])
    if output_size is not None and output_size != out.shape[d]:
        raise RuntimeError(f"allocated size does not match required size: {output_size} vs "
                           f"{out.shape[d]}")
    return out


def attach() -> None:
    Tensor.repeat_interleave = repeat_interleave


attach()
