"""Memory planning: where each materialised intermediate lives in one scratch area.

    mp = plan_memory(fn, fusion_groups(fn))     # MemoryPlan: offsets and total bytes
    mp.offsets[id(root)]                        # byte offset of a root's buffer

An analysis over the fusion grouping (ir/passes/fusion.py).  Each root that is
not a result needs a buffer from its loop nest (the root's position in
`fusion.roots`) to the last loop nest that reads it.  A loop nest reads a
value when the value is an operand of the root or of any instruction fused
into it or viewed through (views and fused instructions have no buffer).
Two buffers may share bytes only when those lifetimes do not overlap: the
buffer a loop nest writes is never one that the same nest reads.

Placement is first fit in loop-nest order, each buffer aligned to `align`
bytes; results and parameters live in the caller's arrays and get no scratch.

A result's array holds nothing until its own loop nest writes it, so `hosts` (results
the caller allocates for this call alone) lend their bytes before that: a buffer
whose lifetime ends before a host's nest may live inside the host (`homes`), as
XLA's buffer assignment places temporaries in output buffers.  A gradient's
residuals then sit in the weight gradients not yet computed: the adjoint computes
the last layer's gradient first and the first layer's last.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..core import Function, Instr, TupleType, Value
from .fusion import Fusion

ALIGN = 64


@dataclass
class MemoryPlan:
    offsets: dict[int, int] = field(default_factory=dict)  # id(root) -> byte offset
    lifetimes: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (first, last)
    total: int = 0  # bytes of the scratch area
    #: id(root) -> (id(host result), byte offset in it), for buffers placed in a result
    homes: dict[int, tuple[int, int]] = field(default_factory=dict)


def reads(root: Instr, fusion: Fusion) -> list[Value]:
    """The materialised values (roots and parameters) `root`'s loop nest reads."""
    roots = {id(r) for r in fusion.roots}
    stack, seen, found = list(root.operands), set(), {}
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if id(v) in roots or not isinstance(v, Instr):
            found[id(v)] = v
        else:
            stack.extend(v.operands)
    return list(found.values())


def lifetimes(fusion: Fusion) -> dict[int, tuple[int, int]]:
    """id(root) -> (index of the nest writing it, index of the last nest reading it)."""
    index = {id(r): i for i, r in enumerate(fusion.roots)}
    life = {id(r): (i, i) for i, r in enumerate(fusion.roots)}
    for i, root in enumerate(fusion.roots):
        for v in reads(root, fusion):
            if id(v) in index:
                first, last = life[id(v)]
                life[id(v)] = (first, max(last, i))
    return life


def first_fit(buffers: list[tuple[int, int, int]], align: int = ALIGN) -> tuple[list[int], int]:
    """Offsets for buffers given as (first, last, nbytes) in order of `first`, so that
    buffers whose [first, last] intervals overlap never share a byte; and the total."""
    placed: list[tuple[int, int, int]] = []  # (offset, size, last)
    offsets, total = [], 0
    for first, last, nbytes in buffers:
        size = -(-nbytes // align) * align
        busy = sorted((o, n) for o, n, end in placed if end >= first)
        offset = 0
        for o, n in busy:
            if offset + size <= o:
                break
            offset = max(offset, o + n)
        placed.append((offset, size, last))
        offsets.append(offset)
        total = max(total, offset + size)
    return offsets, total


def plan_memory(fn: Function, fusion: Fusion,
                nbytes: Callable[[Value], int] | None = None, align: int = ALIGN,
                hosts: Sequence[Value] = ()) -> MemoryPlan:
    """Scratch offsets for every root of `fusion` that is not a result of `fn`, or a
    home inside one of `hosts` (results written by a nest of their own; see the module)."""
    nbytes = nbytes or (lambda v: v.type.nbytes if v.type.__class__ is TupleType
                        else v.type.size * v.dtype.itemsize)
    results = {id(r) for r in fn.results}
    life = lifetimes(fusion)
    scratch = [r for r in fusion.roots if id(r) not in results]
    #: (write, capacity, host, placed: [(offset, size, first, last)]), earliest write first
    lenders = sorted(([life[id(h)][0], nbytes(h), h, []] for h in hosts if id(h) in life),
                     key=lambda e: e[0])
    homes: dict[int, tuple[int, int]] = {}
    rest = []
    for r in scratch:
        first, last = life[id(r)]
        size = -(-nbytes(r) // align) * align
        home = None
        if r.type.__class__ is not TupleType:
            for write, capacity, host, placed in lenders:
                if write <= last or size > capacity:
                    continue  # the host is written while r lives (or is too small)
                offset = _fit(placed, first, last, size, capacity)
                if offset is not None:
                    placed.append((offset, size, first, last))
                    home = homes[id(r)] = (id(host), offset)
                    break
        if home is None:
            rest.append(r)
    offsets, total = first_fit([(*life[id(r)], nbytes(r)) for r in rest], align)
    return MemoryPlan({id(r): o for r, o in zip(rest, offsets)},
                      {id(r): life[id(r)] for r in scratch}, total, homes)


def _fit(placed: list, first: int, last: int, size: int, capacity: int) -> int | None:
    """The lowest offset in a host where `size` bytes are free from nest `first` to `last`."""
    busy = sorted((o, n) for o, n, f, e in placed if f <= last and e >= first)
    offset = 0
    for o, n in busy:
        if offset + size <= o:
            break
        offset = max(offset, o + n)
    return offset if offset + size <= capacity else None
