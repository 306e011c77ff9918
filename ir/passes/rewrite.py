"""What every rewriting pass shares: replacing operands without losing identity."""
from __future__ import annotations

from typing import Iterable

from ..core import Function, Instr, Value


def remap(instr: Instr, replaced: dict[int, Value]) -> Instr:
    """`instr` with its operands looked up in `replaced` (keyed by id).

    The same object when no operand changed, so passes keep the identity of
    everything they did not touch.
    """
    operands = tuple(replaced.get(id(op), op) for op in instr.operands)
    if all(new is old for new, old in zip(operands, instr.operands)):
        return instr
    return Instr(instr.prim, operands, dict(instr.attrs), instr.type, instr.loc)


def rebuilt(fn: Function, body: list[Instr], replaced: dict[int, Value]) -> Function:
    """`fn` with a new body and its results looked up in `replaced`."""
    results = [replaced.get(id(r), r) for r in fn.results]
    return Function(fn.name, fn.params, body, results)


def id_set(values: Iterable[Value]) -> set[int]:
    return {id(v) for v in values}
