"""Deciding what gets its own loop and buffer (fusion), and where buffers live.

A value is *materialised* (computed by a loop nest of its own into a buffer)
when it must be: a result, a kernel (reduction, argmax, matmul), a matmul
operand that is not already a strided buffer; or when recomputing it inside its
consumers would cost too much: it has several consumers, a broadcast would
repeat it, or its fused expression grows too big (which also bounds how deep
the emitter recurses).  Everything else is fused into the loops of its
consumers, as a strided view when it is structural, else as scalar code.

Intermediate buffers share one scratch area; two buffers overlap only when
their lifetimes (first write .. last read, in loop-nest order) do not.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import primitives as P
from ..ir.core import Function, Instr, Param, Value, topo_sort
from .kernels import gemm_layout
from .layout import Strided
from .lowering import LOWERINGS

#: Above this estimated cost per element a fused expression is materialised.
MAX_COST = 48
#: A value read by several instructions is recomputed only when cheaper than this.
SHARE_COST = 3
_COSTLY = {P.exp: 8, P.log: 8, P.log1p: 8, P.sin: 8, P.cos: 8, P.tanh: 8,
           P.logistic: 10, P.pow_: 10, P.sqrt: 4, P.div: 4}
ALIGN = 64


@dataclass
class Root:
    """One loop nest of the entry point: compute `value` (or copy it) into `dst`."""

    value: Value
    dst: Strided
    copy: bool = False


@dataclass
class Plan:
    roots: list[Root]
    views: dict[int, Strided]  # id(value) -> its buffer, for every materialised value
    sizes: dict[tuple, int]  # storage key -> size in elements (for bounds checks)
    scratch_offsets: dict[int, int] = field(default_factory=dict)  # slot -> byte offset
    scratch_bytes: int = 0


def view_of(v: Value, views: dict[int, Strided]) -> Strided | None:
    """`v` as strides over a materialised buffer, or None (iterative: no recursion)."""
    chain: list[Instr] = []
    while id(v) not in views:
        low = LOWERINGS.get(v.prim) if isinstance(v, Instr) else None
        if low is None or low.view is None or len(v.operands) > 1:
            return None
        chain.append(v)
        if not v.operands:
            break
        v = v.operands[0]
    cur = views.get(id(v))
    for instr in reversed(chain):
        cur = LOWERINGS[instr.prim].view(instr, *([cur] if instr.operands else []))
        if cur is None:
            return None
    return cur


def _gemm_ready(view: Strided | None, dtype, blas_dtypes) -> bool:
    if view is None:
        return False
    return dtype.name not in blas_dtypes or gemm_layout(view) is not None


def plan(fn: Function, blas_dtypes=frozenset()) -> Plan:
    live = topo_sort(fn.results)
    consumers: dict[int, list[Instr]] = {}
    for instr in live:
        for o in {id(o): o for o in instr.operands}.values():
            consumers.setdefault(id(o), []).append(instr)
    first_slot: dict[int, int] = {}
    for k, r in enumerate(fn.results):
        first_slot.setdefault(id(r), k)

    views = {id(p): Strided.contiguous(("param", i), p.dtype, p.shape)
             for i, p in enumerate(fn.params)}
    sizes = {("param", i): p.type.size for i, p in enumerate(fn.params)}
    sizes.update({("result", k): r.type.size for k, r in enumerate(fn.results)})
    cost: dict[int, int] = {}
    roots: list[Root] = []
    for instr in live:
        low = LOWERINGS[instr.prim]
        view = view_of(instr, views)
        users = consumers.get(id(instr), [])
        need = id(instr) in first_slot or low.kind == "kernel" or any(
            u.prim is P.matmul and not _gemm_ready(view, instr.dtype, blas_dtypes) for u in users)
        c = 0
        if view is None:
            distinct = {id(o): o for o in instr.operands}.values() if low.kind == "scalar" \
                else instr.operands
            c = _COSTLY.get(instr.prim, 1) + sum(cost.get(id(o), 0) for o in distinct)
            repeated = any(u.prim is P.broadcast and u.type.size > instr.type.size for u in users)
            need = need or c > MAX_COST or repeated or (len(users) > 1 and c >= SHARE_COST)
        if need:
            slot = first_slot.get(id(instr))
            storage = ("result", slot) if slot is not None else ("scratch", len(roots))
            views[id(instr)] = Strided.contiguous(storage, instr.dtype, instr.shape)
            sizes.setdefault(storage, instr.type.size)
            roots.append(Root(instr, views[id(instr)]))
            c = 0
        cost[id(instr)] = c
    for k, r in enumerate(fn.results):  # parameters and repeats are copied
        if isinstance(r, Param) or first_slot[id(r)] != k:
            roots.append(Root(r, Strided.contiguous(("result", k), r.dtype, r.shape), copy=True))
    result = Plan(roots, views, sizes)
    _place_scratch(result)
    return result


def _reads(root: Root, views: dict[int, Strided]) -> set[tuple]:
    """Storage keys a root's loop nest reads (through fused expressions and views)."""
    stack = [root.value] if root.copy else list(root.value.operands)
    seen, found = set(), set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if id(v) in views:
            found.add(views[id(v)].storage)
        elif isinstance(v, Instr):
            stack.extend(v.operands)
    return found


def _place_scratch(p: Plan) -> None:
    """First-fit placement of scratch buffers whose lifetimes overlap."""
    last_read: dict[tuple, int] = {}
    for i, root in enumerate(p.roots):
        for s in _reads(root, p.views):
            last_read[s] = i
    placed: list[tuple[int, int, int]] = []  # (offset, nbytes, last root that reads it)
    for i, root in enumerate(p.roots):
        key = root.dst.storage
        if key[0] != "scratch" or root.copy:
            continue
        nbytes = root.dst.size * root.dst.dtype.itemsize
        nbytes = -(-nbytes // ALIGN) * ALIGN
        busy = sorted((o, n) for o, n, end in placed if end >= i)
        offset = 0
        for o, n in busy:
            if offset + nbytes <= o:
                break
            offset = max(offset, o + n)
        placed.append((offset, nbytes, max(i, last_read.get(key, i))))
        p.scratch_offsets[key[1]] = offset
        p.scratch_bytes = max(p.scratch_bytes, offset + nbytes)
