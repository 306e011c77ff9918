"""Dead code elimination: keep only what the results need."""
from __future__ import annotations

from ..core import Function
from ..primitives import OpGroup
from .rewrite import in_regions


def dce(fn: Function) -> Function:
    """`fn` without the instructions no result depends on.

    Surviving instructions are the same objects, in the same order; the
    parameters stay (they are the function's signature) even when unused.
    """
    live = {id(r) for r in fn.results}
    kept = []
    for instr in reversed(fn.body):
        if id(instr) in live:
            kept.append(instr)
            live.update(id(op) for op in instr.operands)
    kept.reverse()
    out = Function(fn.name, fn.params, kept, fn.results)
    return in_regions(out, dce) if any(i.prim.group is OpGroup.REGION for i in kept) else out
