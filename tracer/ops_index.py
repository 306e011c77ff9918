"""Basic indexing: ints, slices (with steps), None and `...`.

`x[i, 1:3, None]` applies one view per index item, left to right, as PyTorch
does, so the grad_fn chain reads SelectBackward0 -> SliceBackward0 -> ...
"""
from __future__ import annotations

import numpy as np

from ..ir import primitives as P
from ..ir.core import TensorType
from ..ir.dtypes import i64
from .errors import at, user_loc
from .ops_core import scalar_constant
from .ops_index_legacy import true_as_none, uint8_as_masks
from .ops_shape import _shared_view, unsqueeze
from .tape import bind, grad_node
from .tensor import Tensor


class _Adv:
    """An index tensor item (ints, or the nonzero positions of a mask, one per dim)."""

    __slots__ = ("t",)

    def __init__(self, t: Tensor):
        self.t = t


def _index_tensor(it):
    """A list, numpy array or tensor used as an index, as a tensor (int64 or bool)."""
    if isinstance(it, Tensor):
        t = it
    else:
        from .creation import tensor
        a = np.asarray(it)
        if a.dtype == object or a.dtype.kind not in "biu" and a.size:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        t = tensor(a.astype(np.bool_ if a.dtype.kind == "b" else np.int64))
    if t.dtype.is_float or t.dtype.name in ("i8", "i16"):
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return t


def _mask_positions(mask: Tensor) -> list:
    """The positions where a bool mask holds, one int64 tensor per dim (eager only: how
    many there are is data)."""
    if mask._data is None:
        from .errors import TracerError
        raise TracerError(
            "boolean mask indexing x[mask] has a data-dependent shape and cannot be traced "
            "(tg.compile / tg.grad); keep the shape with tg.where(mask, x, 0) or "
            f"x.masked_fill(~mask, 0) instead{at(user_loc())}")
    from .creation import tensor
    return [tensor(p.astype(np.int64)) for p in np.nonzero(mask._data)]


def _normalize(x: Tensor, index) -> list:
    """The index as a list of ints, slices, Nones and _Adv items (one per dim consumed),
    with `...` expanded and masks turned into their positions."""
    if isinstance(index, list) and not any(
            isinstance(i, (slice, list, tuple, Tensor)) or i is None or i is Ellipsis
            for i in index):
        index = _index_tensor(index)  # x[[0, 2]]: a list is one index tensor
    items = list(index) if isinstance(index, tuple) else [index]
    out = []
    for it in items:
        if isinstance(it, Tensor) and it.ndim == 0 and not it.dtype.is_float \
                and it.dtype.name != "bool" and it._data is not None:
            it = int(it)
        if isinstance(it, (bool, np.bool_)):
            it = _index_tensor(np.array(bool(it)))
        if isinstance(it, (list, np.ndarray)) or isinstance(it, Tensor):
            t = _index_tensor(it)
            if t.dtype.name == "bool":
                if t.ndim == 0:
                    if t._data is None or not bool(t._data):
                        from .unsupported import unsupported_argument
                        raise unsupported_argument("torch.Tensor.__getitem__",
                                                   "a 0-d False (or traced) bool index")
                    out.append(None)
                    continue
                out.extend(_Adv(p) for p in _mask_positions(t))
                out[len(out) - t.ndim:] = [_MaskDims(out[len(out) - t.ndim:], t.shape)]
                continue
            out.append(_Adv(t))
            continue
        if not (it is None or it is Ellipsis or isinstance(it, (int, np.integer, slice))):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(it).__name__})")
        out.append(int(it) if isinstance(it, np.integer) else it)
    flat = []
    for it in out:
        flat.extend(it.items if isinstance(it, _MaskDims) else [it])
    if flat.count(Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for it in flat if it is not None and it is not Ellipsis)
    if used > x.ndim:
        if x.ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    for it in out:  # a mask must have the shape of the dims it covers
        if isinstance(it, _MaskDims):
            _check_mask(x, flat, it)
    if Ellipsis in flat:
        i = flat.index(Ellipsis)
        flat[i:i + 1] = [slice(None)] * (x.ndim - used)
    return flat


class _MaskDims:
    """The _Adv items a k-dim mask became (checked against the dims they cover)."""

    __slots__ = ("items", "shape")

    def __init__(self, items, shape):
        self.items, self.shape = items, tuple(shape)


def _check_mask(x: Tensor, flat: list, m: _MaskDims) -> None:
    first = next(k for k, it in enumerate(flat) if it is m.items[0])
    before = flat[:first]
    if Ellipsis in before:
        used_after = sum(1 for it in flat[first:] if it is not None and it is not Ellipsis)
        d = x.ndim - used_after
    else:
        d = sum(1 for it in before if it is not None)
    for k, n in enumerate(m.shape):
        if x.shape[d + k] != n:
            raise IndexError(f"The shape of the mask {list(m.shape)} at index {k} does not "
                             f"match the shape of the indexed tensor {list(x.shape)} at index "
                             f"{d + k}")


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
    index = true_as_none(uint8_as_masks(index))
    if has_tensor_items(index) or (isinstance(index, list) and index):
        return advanced_getitem(x, index)
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


# ---------------------------------------------------------------- advanced indexing
# An index with tensor items (integer tensors, lists, masks) is computed as one `gather`
# over every dim of x: for each element of the result, its position in x, one int64
# tensor per dim of x, built from iotas (slices), constants (ints) and the index
# tensors.  Setitem scatters into the same positions, so both follow one layout.


def has_tensor_items(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(it, (Tensor, list, np.ndarray, bool, np.bool_)) and not (
        isinstance(it, Tensor) and it.ndim == 0 and it._data is not None
        and it.dtype.name not in ("bool",) and not it.dtype.is_float) for it in items)


def _i64(t: Tensor) -> Tensor:
    return t if t.dtype is i64 else bind(P.convert, t, dtype=i64)


def positions(x: Tensor, index) -> tuple[list[Tensor], tuple]:
    """(one int64 tensor per dim of x, each of the result's shape G; G) for `x[index]`.

    The dims the index tensors select go where PyTorch puts them: in place of the
    first when those dims are adjacent, else first (ints select first, as in PyTorch)."""
    items = _normalize(x, index)
    items += [slice(None)] * (x.ndim - sum(1 for it in items if it is not None))
    per_dim: list = []  # per dim of x: ('int', c) | ('slice', y dim, start, step) | ('adv', j)
    ydims: list = []  # per dim of the basic result: ('new',) | ('slice', n) | ('adv',)
    advs: list[Tensor] = []
    d = 0
    for it in items:
        if it is None:
            ydims.append(("new", 1))
        elif isinstance(it, slice):
            a, b, s = _bounds(it, x.shape[d])
            per_dim.append(("slice", len(ydims), a, s))
            ydims.append(("slice", len(range(a, b, s))))
            d += 1
        elif isinstance(it, _Adv):
            t = it.t
            if t._data is not None and t.numel():
                _check_values(t._data, len(advs), x.shape[d])
            per_dim.append(("adv", len(advs)))
            ydims.append(("adv",))
            advs.append(t)
            d += 1
        else:
            per_dim.append(("int", _check_index(it, d, x.shape[d])))
            d += 1
    try:
        bshape = tuple(np.broadcast_shapes(*(t.shape for t in advs)))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {', '.join(str(list(t.shape)) for t in advs)}"
                         f"{at(user_loc())}") from None
    where = [e for e, yd in enumerate(ydims) if yd[0] == "adv"]
    adjacent = where == list(range(where[0], where[0] + len(where)))
    others = [e for e, yd in enumerate(ydims) if yd[0] != "adv"]
    first = where[0] if adjacent else 0
    lead = [e for e in others if e < first] if adjacent else []
    # the result: the dims of the basic result before the block, the block, the rest
    gpos, g = {}, 0
    for e in lead:
        gpos[e], g = g, g + 1
    bstart, g = g, g + len(bshape)
    for e in others:
        if e not in gpos:
            gpos[e], g = g, g + 1
    shape = [0] * g
    for e, gi in gpos.items():
        shape[gi] = ydims[e][1]
    shape[bstart:bstart + len(bshape)] = bshape
    shape = tuple(shape)
    out = []
    for item in per_dim:
        if item[0] == "int":
            out.append(scalar_constant(item[1], i64, shape))
        elif item[0] == "slice":
            _, e, a, s = item
            pos = bind(P.iota, type=TensorType(i64, shape), axis=gpos[e])
            if s != 1:
                pos = bind(P.mul, pos, scalar_constant(s, i64, shape))
            if a:
                pos = bind(P.add, pos, scalar_constant(a, i64, shape))
            out.append(pos)
        else:
            t = _i64(advs[item[1]])
            t = t if t.shape == bshape else bind(P.broadcast, t, shape=bshape)
            placed = (1,) * bstart + bshape + (1,) * (len(shape) - bstart - len(bshape))
            t = bind(P.reshape, t, shape=placed) if placed != bshape else t
            out.append(t if t.shape == shape else bind(P.broadcast, t, shape=shape))
    return out, shape


def _check_values(data: np.ndarray, j: int, size: int) -> None:
    bad = (data < -size) | (data >= size)
    if bad.any():
        raise IndexError(f"index {int(data[bad].flat[0])} is out of bounds for dimension {j} "
                         f"with size {size}{at(user_loc())}")


def flat_positions(x: Tensor, pos: list[Tensor], shape: tuple) -> list[Tensor]:
    """The positions as gather/scatter over every dim of x take them: (m, 1, ..., 1)."""
    m = int(np.prod(shape, dtype=np.int64))
    flat = (m,) + (1,) * (x.ndim - 1)
    return [bind(P.reshape, p, shape=flat) for p in pos]


def advanced_getitem(x: Tensor, index) -> Tensor:
    with grad_node("IndexBackward0", x):
        pos, shape = positions(x, index)
        got = bind(P.gather, x, *flat_positions(x, pos, shape), axes=tuple(range(x.ndim)))
        return bind(P.reshape, got, shape=shape)
