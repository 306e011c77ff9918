"""Turn chosen values into parameters: the partial evaluation behind eager backward.

The adjoint of an eager tape recomputes nothing: every forward value it reads
was already computed when the operation ran, so those values become inputs.
"""
from __future__ import annotations

from typing import Sequence

from ..core import Function, Instr, Param, Value
from .dce import dce
from .rewrite import remap


def externalize(fn: Function, values: Sequence[Value]) -> tuple[Function, list[Param]]:
    """`fn` with each of `values` read from a new parameter (appended, in order).

    Returns the new function and the new parameters; instructions only those
    values needed are dropped.
    """
    new_params = [Param(v.type, getattr(v, "hint", None)) for v in values]
    replaced = {id(v): p for v, p in zip(values, new_params)}
    body = []
    for instr in fn.body:
        if id(instr) in replaced:
            continue
        new = remap(instr, replaced)
        if new is not instr:
            replaced[id(instr)] = new
        body.append(new)
    results = [replaced.get(id(r), r) for r in fn.results]
    return dce(Function(fn.name, fn.params + new_params, body, results)), new_params
