"""Dead code elimination: keep only what the results need."""
from __future__ import annotations

from ..core import Function


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
    return Function(fn.name, fn.params, kept, fn.results)
