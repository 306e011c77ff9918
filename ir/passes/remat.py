"""Rematerialisation: checkpointed forward values recomputed in the adjoint, not saved.

    adjoint = rematerialize(adjoint, forward_body, [Region(body, outputs, saveable)])

A region is the instructions of one checkpointed call in the forward.  Every value of
a region that the adjoint part reads, except the region's outputs and what the
policy saves (`saveable(instr)`), is recomputed: a copy of the instructions that
produce it, from the region's inputs (and saved values), placed just before the
first adjoint instruction that needs it.  The originals then die with their last
forward use, so the memory plan can reuse their bytes.

A copy must not be merged back into its original by CSE: the first copy of each
chain reads one operand through a full-range `slice` (an identity that codegen reads
as a view, and whose VJP passes the gradient, so a rematerialised adjoint still
differentiates exactly).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from .. import primitives as P
from ..core import Function, Instr, Value
from .dce import dce
from .rewrite import remap


@dataclass
class Region:
    """One checkpointed call: its instructions, its outputs, and what it still saves."""

    body: list[Instr]
    outputs: list[Value]
    saveable: Callable[[Instr], bool] = field(default=lambda instr: False)


def barrier(v: Value, loc=None) -> Instr:
    """A full-range slice of `v`: the same values, a different instruction."""
    n = len(v.shape)
    return Instr(P.slice, (v,), {"start": (0,) * n, "stop": tuple(v.shape), "step": (1,) * n},
                 v.type, loc)


def rematerialize(fn: Function, forward_body: Sequence[Instr],
                  regions: Sequence[Region]) -> Function:
    """`fn` (forward part `forward_body`, then its adjoint part) with the regions'
    values the adjoint reads recomputed there."""
    forward = {id(i) for i in forward_body}
    recompute: dict[int, Instr] = {}
    for region in regions:
        outs = {id(o) for o in region.outputs}
        for instr in region.body:
            if id(instr) in forward and id(instr) not in outs and instr.operands \
                    and not region.saveable(instr):
                recompute[id(instr)] = instr
    if not recompute:
        return fn
    replaced: dict[int, Value] = {}  # recomputed copies and rebuilt adjoint instructions
    body: list[Instr] = []

    def copy_of(root: Instr) -> Value:
        stack = [root]
        while stack:
            v = stack[-1]
            if id(v) in replaced:
                stack.pop()
                continue
            todo = [op for op in v.operands if id(op) in recompute and id(op) not in replaced]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            operands = [replaced.get(id(op), op) if id(op) in recompute else op
                        for op in v.operands]
            if not any(id(op) in recompute for op in v.operands):
                cut = barrier(operands[0], v.loc)
                body.append(cut)
                operands[0] = cut
            new = Instr(v.prim, operands, dict(v.attrs), v.type, v.loc)
            body.append(new)
            replaced[id(v)] = new
        return replaced[id(root)]

    for instr in fn.body:
        if id(instr) in forward:
            body.append(instr)
            continue
        for op in instr.operands:
            if id(op) in recompute and id(op) not in replaced:
                copy_of(op)
        new = remap(instr, replaced)
        if new is not instr:
            replaced[id(instr)] = new
        body.append(new)
    results = [r if id(r) in forward else replaced.get(id(r), r) for r in fn.results]
    return dce(Function(fn.name, fn.params, body, results))


def saved_bytes(fn: Function, forward_body: Sequence[Instr]) -> int:
    """Bytes of the forward values the adjoint part reads (the residuals it keeps
    alive); constants and fills are not counted (they are recomputed for free)."""
    forward = {id(i) for i in forward_body}
    seen: dict[int, Value] = {}
    for instr in fn.body:
        if id(instr) in forward:
            continue
        for op in instr.operands:
            if id(op) in forward and isinstance(op, Instr) and op.operands:
                seen[id(op)] = op
    return sum(v.type.size * v.dtype.itemsize for v in seen.values())
