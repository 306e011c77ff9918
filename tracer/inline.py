"""Running an IR function on tensors by binding each instruction again.

This is how the adjoint of `backward(create_graph=True)` is itself recorded on
the tape, and how a transformed function called inside another trace is inlined.
"""
from __future__ import annotations

from typing import Sequence

from ..ir.core import Function
from .tape import bind
from .tensor import Tensor


def apply_function(fn: Function, args: Sequence[Tensor]) -> list[Tensor]:
    env: dict[int, Tensor] = {id(p): a for p, a in zip(fn.params, args)}
    for instr in fn.body:
        operands = [env[id(o)] for o in instr.operands]
        # the instruction keeps the user's line it came from (the forward op of a VJP rule,
        # the inner function's line of an inlined transform)
        if instr.prim.nullary_typed:
            env[id(instr)] = bind(instr.prim, type=instr.type, loc=instr.loc, **instr.attrs)
        else:
            env[id(instr)] = bind(instr.prim, *operands, loc=instr.loc, **instr.attrs)
    return [env[id(r)] for r in fn.results]
