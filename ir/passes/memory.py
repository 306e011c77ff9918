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
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..core import Function, Instr, TupleType, Value
from .fusion import Fusion

ALIGN = 64


@dataclass
class MemoryPlan:
    offsets: dict[int, int] = field(default_factory=dict)  # id(root) -> byte offset
    lifetimes: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (first, last)
    total: int = 0  # bytes of the scratch area


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
                nbytes: Callable[[Value], int] | None = None, align: int = ALIGN) -> MemoryPlan:
    """Scratch offsets for every root of `fusion` that is not a result of `fn`."""
    nbytes = nbytes or (lambda v: v.type.nbytes if v.type.__class__ is TupleType
                        else v.type.size * v.dtype.itemsize)
    results = {id(r) for r in fn.results}
    life = lifetimes(fusion)
    scratch = [r for r in fusion.roots if id(r) not in results]
    offsets, total = first_fit([(*life[id(r)], nbytes(r)) for r in scratch], align)
    return MemoryPlan({id(r): o for r, o in zip(scratch, offsets)},
                      {id(r): life[id(r)] for r in scratch}, total)
