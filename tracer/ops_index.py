"""Basic indexing: ints, slices (with steps), None and `...`.

`x[i, 1:3, None]` applies one view per index item, left to right, as PyTorch
does, so the grad_fn chain reads SelectBackward0 -> SliceBackward0 -> ...
"""
from __future__ import annotations

import numpy as np

from ..ir import primitives as P
from .ops_shape import _shared_view, unsqueeze
from .tape import bind, grad_node
from .tensor import Tensor


def _normalize(x: Tensor, index) -> list:
    """The index as a list of ints, slices and Nones, with `...` expanded."""
    items = list(index) if isinstance(index, tuple) else [index]
    out = []
    for it in items:
        if isinstance(it, Tensor) and it.ndim == 0 and not it.dtype.is_float \
                and it.dtype.name != "bool":
            it = int(it)
        if isinstance(it, (bool, np.bool_)) or not (
                it is None or it is Ellipsis or isinstance(it, (int, np.integer, slice))):
            raise TypeError("tapegrad supports indexing with ints, slices, None and ...; got "
                            f"{type(it).__name__} (advanced indexing is not supported)")
        out.append(int(it) if isinstance(it, np.integer) else it)
    if out.count(Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for it in out if it is not None and it is not Ellipsis)
    if used > x.ndim:
        if x.ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    if Ellipsis in out:
        i = out.index(Ellipsis)
        out[i:i + 1] = [slice(None)] * (x.ndim - used)
    return out


def _check_index(i: int, dim: int, size: int) -> int:
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
    return i % size


def _bounds(s: slice, size: int) -> tuple[int, int, int]:
    if s.step is not None and s.step <= 0:
        raise ValueError("step must be greater than zero")
    start, stop, step = s.indices(size)
    return start, max(stop, start), step


def select(input: Tensor, dim: int, index: int, _real_dim: int | None = None) -> Tensor:
    """input[..., index] along `dim` (errors name `_real_dim`, the dim of the indexed tensor)."""
    from .tensor import _wrap_dim
    d = _wrap_dim(dim, input.ndim)
    i = _check_index(index, d if _real_dim is None else _real_dim, input.shape[d])
    with grad_node("SelectBackward0", input):
        part = _slice_prim(input, d, i, i + 1, 1)
        return _shared_view(bind(P.reshape, part, shape=input.shape[:d] + input.shape[d + 1:]),
                            input)


def _slice_prim(x: Tensor, d: int, start: int, stop: int, step: int) -> Tensor:
    full_range = [(0, n, 1) for n in x.shape]
    full_range[d] = (start, stop, step)
    a, b, s = zip(*full_range)
    return bind(P.slice, x, start=a, stop=b, step=s)


def narrow_slice(x: Tensor, d: int, s: slice) -> Tensor:
    """x[..., s] along dim d; the whole dim unchanged gives x itself (no node), as in PyTorch."""
    start, stop, step = _bounds(s, x.shape[d])
    if (start, stop, step) == (0, x.shape[d], 1):
        return x
    with grad_node("SliceBackward0", x):
        return _shared_view(_slice_prim(x, d, start, stop, step), x)


def getitem(x: Tensor, index) -> Tensor:
    out, d, real = x, 0, 0  # d: dim of `out`; real: dim of x the item applies to
    for it in _normalize(x, index):
        if it is None:
            out, d = unsqueeze(out, d), d + 1
        elif isinstance(it, slice):
            out, d, real = narrow_slice(out, d, it), d + 1, real + 1
        else:
            out, real = select(out, d, it, real), real + 1
    if out is x:  # x[:] and x[...] are new views of the same data
        with grad_node("AliasBackward0", x):
            out = _shared_view(bind(P.reshape, x, shape=x.shape), x)
    return out


def region(x: Tensor, index):
    """For `x[index] = v`: per dim of x the start, count and step written, and the shape
    `x[index]` has (what v broadcasts to)."""
    starts, counts, steps = [0] * x.ndim, list(x.shape), [1] * x.ndim
    view_shape, d = [], 0
    for it in _normalize(x, index):
        if it is None:
            view_shape.append(1)
        elif isinstance(it, slice):
            a, b, s = _bounds(it, x.shape[d])
            starts[d], counts[d], steps[d] = a, len(range(a, b, s)), s
            view_shape.append(counts[d])
            d += 1
        else:
            starts[d], counts[d] = _check_index(it, d, x.shape[d]), 1
            d += 1
    view_shape += counts[d:]
    return starts, counts, steps, tuple(view_shape)
