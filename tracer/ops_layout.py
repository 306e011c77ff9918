"""Shape operations PyTorch programs reach for beyond view/permute/cat: repeat and tile,
flip and roll, narrow/chunk/split/unbind, movedim, unflatten, tril/triu, diagonal/diag,
and the memory-layout queries (stride, storage_offset, is_contiguous).

Each one is built from the structural primitives (slice, reshape, transpose,
broadcast, concatenate) plus select with an iota mask, so its gradient of any
order comes from those primitives' VJP rules; the grad_fn names are PyTorch's.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from .errors import at, user_loc
from .ops_core import scalar_constant
from .ops_elementwise import as_tensor
from .ops_index import _slice_prim
from .ops_shape import _is_contiguous, _permute, _shared_view, _size_args
from .tape import bind, grad_node
from .tensor import Tensor, _wrap_dim


def _dims(dims, ndim: int) -> tuple:
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return tuple(_wrap_dim(d, ndim) for d in dims)


# ---------------------------------------------------------------- repeat / tile


def repeat(input, *sizes):
    """Tile the data `sizes` times per dim (PyTorch's Tensor.repeat, numpy's tile)."""
    x = as_tensor(input)
    reps = _size_args(sizes)
    if len(reps) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           f"of dimensions of tensor{at(user_loc())}")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(reps)}: "
                           f"{list(reps)}")
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    with grad_node("RepeatBackward0", x):
        # x as (1, d0, 1, d1, ...), broadcast to (r0, d0, r1, d1, ...), merged pairwise
        spread = bind(P.reshape, x, shape=tuple(v for d in shape for v in (1, d)))
        big = bind(P.broadcast, spread, shape=tuple(v for r, d in zip(reps, shape)
                                                    for v in (r, d)))
        return bind(P.reshape, big, shape=tuple(r * d for r, d in zip(reps, shape)))


def tile(input, dims):
    x = as_tensor(input)
    reps = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return repeat(x, (1,) * (x.ndim - len(reps)) + tuple(reps))


# ---------------------------------------------------------------- flip / roll


def _reversed_along(x: Tensor, d: int) -> Tensor:
    """x reversed along d: its unit slices concatenated in reverse order (no gather)."""
    n = x.shape[d]
    if n <= 1:
        return x
    return bind(P.concatenate, *(_slice_prim(x, d, i, i + 1, 1) for i in reversed(range(n))),
                axis=d)


def flip(input, dims):
    x = as_tensor(input)
    axes = _dims(dims, x.ndim)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dims has duplicates, original flip dims size={len(axes)}, "
                           f"but unique flip dims size={len(set(axes))}")
    with grad_node("FlipBackward0", x):
        out = x
        for d in axes:
            out = _reversed_along(out, d)
        return bind(P.reshape, out, shape=x.shape) if out is x else out


def fliplr(input):
    x = as_tensor(input)
    if x.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, (1,))


def flipud(input):
    x = as_tensor(input)
    if x.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, (0,))


def _rolled(x: Tensor, shift: int, d: int) -> Tensor:
    n = x.shape[d]
    s = shift % n if n else 0
    if s == 0:
        return x
    return bind(P.concatenate, _slice_prim(x, d, n - s, n, 1), _slice_prim(x, d, 0, n - s, 1),
                axis=d)


def roll(input, shifts, dims=None):
    """Shift elements along dims, wrapping around; no dims rolls the flattened tensor."""
    x = as_tensor(input)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    with grad_node("RollBackward0", x):
        if dims is None:
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                                   "dims:0")
            flat = bind(P.reshape, x, shape=(x.numel(),))
            return bind(P.reshape, _rolled(flat, int(shifts[0]), 0), shape=x.shape)
        axes = _dims(dims, x.ndim)
        if len(axes) != len(shifts):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(axes)}")
        out = x
        for s, d in zip(shifts, axes):
            out = _rolled(out, int(s), d)
        return bind(P.reshape, out, shape=x.shape) if out is x else out


# ---------------------------------------------------------------- narrow / split


def narrow(input, dim, start, length):
    x = as_tensor(input)
    d = _wrap_dim(dim, x.ndim)
    n = x.shape[d]
    start = int(start.item() if isinstance(start, Tensor) else start)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n})."
                           f"{at(user_loc())}")
    with grad_node("SliceBackward0", x):
        return _shared_view(_slice_prim(x, d, start, start + length, 1), x)


def _pieces(x: Tensor, d: int, sizes: list, name: str) -> tuple:
    out, at_ = [], 0
    for s in sizes:
        with grad_node(name, x):
            out.append(_shared_view(_slice_prim(x, d, at_, at_ + s, 1), x))
        at_ += s
    return tuple(out)


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of `split_size` along dim (the last may be smaller), or of the listed sizes."""
    x = as_tensor(tensor)
    d = _wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}{at(user_loc())}")
        return _pieces(x, d, sizes, "SplitWithSizesBackward0")
    size = int(split_size_or_sections)
    if size <= 0 and not (size == 0 and n == 0):
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                           f"dimension size of {n}")
    count = max(-(-n // size), 1) if size else 1
    sizes = [min(size, n - i * size) for i in range(count)]
    return _pieces(x, d, sizes, "SplitBackward0")


def chunk(input, chunks, dim=0):
    x = as_tensor(input)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[_wrap_dim(dim, x.ndim)]
    return split(x, max(-(-n // chunks), 1) if n else 1, dim)


def unbind(input, dim=0):
    x = as_tensor(input)
    d = _wrap_dim(dim, x.ndim)
    out = []
    for i in range(x.shape[d]):
        with grad_node("UnbindBackward0", x):
            part = _slice_prim(x, d, i, i + 1, 1)
            out.append(_shared_view(bind(P.reshape, part, shape=x.shape[:d] + x.shape[d + 1:]),
                                    x))
    return tuple(out)


# ---------------------------------------------------------------- movedim / unflatten


def movedim(input, source, destination):
    x = as_tensor(input)
    src, dst = _dims(source, x.ndim), _dims(destination, x.ndim)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `source` or `destination`")
    rest = iter(d for d in range(x.ndim) if d not in src)
    where = dict(zip(dst, src))
    perm = tuple(where[i] if i in where else next(rest) for i in range(x.ndim))
    return _permute(x, perm, "PermuteBackward0")


def swapdims(input, dim0, dim1):
    from .ops_shape import transpose
    return transpose(input, dim0, dim1)


def unflatten(input, dim, sizes):
    from .ops_shape import view
    x = as_tensor(input)
    d = _wrap_dim(dim, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    if -1 in sizes:
        known = int(np.prod([s for s in sizes if s != -1]))
        sizes = tuple(x.shape[d] // known if s == -1 else s for s in sizes)
    if int(np.prod(sizes)) != x.shape[d]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {d} ({x.shape[d]}) in the input tensor")
    return view(x, x.shape[:d] + sizes + x.shape[d + 1:])


# ---------------------------------------------------------------- triangles / diagonals


def _triangle(input, diagonal: int, lower: bool):
    x = as_tensor(input)
    if x.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least "
                           "2 dimensions")
    with grad_node("TrilBackward0" if lower else "TriuBackward0", x):
        rows = bind(P.iota, type=x._type.with_dtype(dtypes.i64), axis=x.ndim - 2)
        cols = bind(P.iota, type=x._type.with_dtype(dtypes.i64), axis=x.ndim - 1)
        shifted = bind(P.add, rows, scalar_constant(int(diagonal), dtypes.i64, x.shape))
        keep = bind(P.le if lower else P.ge, cols, shifted)
        return bind(P.select, keep, x, scalar_constant(0, x.dtype, x.shape))


def tril(input, diagonal=0):
    return _triangle(input, diagonal, True)


def triu(input, diagonal=0):
    return _triangle(input, diagonal, False)


def _diagonal(x: Tensor, offset: int, d1: int, d2: int) -> Tensor:
    """The diagonal as the last dim: move d1, d2 last, cut the square that holds it, and
    take every (L+1)-th element of its flattening."""
    rest = tuple(d for d in range(x.ndim) if d not in (d1, d2))
    moved = bind(P.transpose, x, perm=rest + (d1, d2)) if rest + (d1, d2) != \
        tuple(range(x.ndim)) else x
    n, m = x.shape[d1], x.shape[d2]
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    size = max(min(n - r0, m - c0), 0)
    batch = tuple(x.shape[d] for d in rest)
    if size == 0:
        return bind(P.reshape, _slice_prim(bind(P.reshape, moved, shape=batch + (n * m,)),
                                           len(batch), 0, 0, 1), shape=batch + (0,))
    square = _slice_prim(_slice_prim(moved, len(batch), r0, r0 + size, 1), len(batch) + 1,
                         c0, c0 + size, 1)
    flat = bind(P.reshape, square, shape=batch + (size * size,))
    return _slice_prim(flat, len(batch), 0, size * size, size + 1)


def diagonal(input, offset=0, dim1=0, dim2=1):
    x = as_tensor(input)
    d1, d2 = _wrap_dim(dim1, x.ndim), _wrap_dim(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    with grad_node("DiagonalBackward0", x):
        return _diagonal(x, int(offset), d1, d2)


def diag(input, diagonal=0):
    """A 1-d input becomes the (offset) diagonal of a square matrix; a 2-d one gives its
    diagonal."""
    x = as_tensor(input)
    k = int(diagonal)
    if x.ndim == 2:
        with grad_node("DiagonalBackward0_copy", x):
            return _diagonal(x, k, 0, 1)
    if x.ndim != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " f"{x.ndim}D")
    n = x.shape[0] + abs(k)
    with grad_node("DiagEmbedBackward0", x):
        padded = bind(P.pad, x, low=(0,), high=(abs(k),), interior=(0,))
        along = (n, 1) if k >= 0 else (1, n)  # the value at (r, r+k) is x[r] (k >= 0)
        spread = bind(P.broadcast, bind(P.reshape, padded, shape=along), shape=(n, n))
        t = x._type.with_shape((n, n)).with_dtype(dtypes.i64)
        rows, cols = bind(P.iota, type=t, axis=0), bind(P.iota, type=t, axis=1)
        on = bind(P.eq, cols, bind(P.add, rows, scalar_constant(k, dtypes.i64, (n, n))))
        return bind(P.select, on, spread, scalar_constant(0, x.dtype, (n, n)))


# ---------------------------------------------------------------- memory layout


def stride(self, dim=None):
    """Element strides of the buffer (a traced tensor is laid out contiguously)."""
    x = self
    if x._data is not None:
        strides = tuple(s // x._data.itemsize for s in x._data.strides)
        strides = tuple(0 if n == 1 and s == 0 else s for n, s in zip(x.shape, strides))
        if any(s < 0 for s in strides) or any(s % 1 for s in strides):
            strides = _contiguous_strides(x.shape)
    else:
        strides = _contiguous_strides(x.shape)
    return strides if dim is None else strides[_wrap_dim(dim, x.ndim)]


def _contiguous_strides(shape: tuple) -> tuple:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= max(d, 1)
    return tuple(reversed(out))


def storage_offset(self) -> int:
    """Elements between the start of the viewed base's buffer and this view's first."""
    base = self._base
    if self._data is None or base is None or base._data is None:
        return 0
    here = self._data.__array_interface__["data"][0]
    start = base._data.__array_interface__["data"][0]
    return (here - start) // self._data.itemsize


def is_contiguous(self, memory_format=None) -> bool:
    return _is_contiguous(self)
