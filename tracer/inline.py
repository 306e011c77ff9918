"""Running an IR function on tensors by binding each instruction again.

This is how the adjoint of `backward(create_graph=True)` is itself recorded on
the tape, and how a transformed function called inside another trace is inlined.
"""
from __future__ import annotations

from typing import Sequence

from ..ir import primitives as P
from ..ir.core import Function, Instr
from .tape import bind, grad_node
from .tensor import Tensor


def apply_function(fn: Function, args: Sequence[Tensor]) -> list[Tensor]:
    env: dict[int, Tensor] = {id(p): a for p, a in zip(fn.params, args)}
    for instr in fn.body:
        operands = [env[id(o)] for o in instr.operands]
        # the instruction keeps the user's line it came from (the forward op of a VJP rule,
        # the inner function's line of an inlined transform)
        if instr.prim.nullary_typed:
            env[id(instr)] = bind(instr.prim, type=instr.type, loc=instr.loc, **instr.attrs)
        elif instr.prim is P.reduce_sum and operands[0]._requires_grad:
            env[id(instr)] = _partial_sum(instr, operands[0])
        else:
            env[id(instr)] = bind(instr.prim, *operands, loc=instr.loc, **instr.attrs)
    return [env[id(r)] for r in fn.results]


def sum_node_name(instr: Instr) -> str:
    """The grad_fn PyTorch's backward formulas end with where the adjoint has this sum."""
    axes, ndim = tuple(instr.attrs["axes"]), len(instr.operands[0].shape)
    if len(axes) == ndim:
        return "SumBackward0"
    return "SumBackward1" if axes == tuple(range(len(axes))) else "SqueezeBackward1"


def _partial_sum(instr: Instr, x: Tensor) -> Tensor:
    """A sum recorded with PyTorch's nodes: over every axis SumBackward0, over leading
    axes SumBackward1 (sum(dims)), over others SumBackward1 with keepdim and then
    SqueezeBackward1 per axis (how PyTorch undoes unsqueeze + expand, the backward of
    its own sum(dim), so a double backward ends as PyTorch's does)."""
    axes = tuple(instr.attrs["axes"])
    name = sum_node_name(instr)
    if name != "SqueezeBackward1":
        with grad_node(name, x):
            return bind(P.reduce_sum, x, loc=instr.loc, axes=axes)
    kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    with grad_node("SumBackward1", x):
        out = bind(P.reshape, bind(P.reduce_sum, x, loc=instr.loc, axes=axes), shape=kept)
    for axis in sorted(axes, reverse=True):
        shape = out.shape[:axis] + out.shape[axis + 1:]
        with grad_node("SqueezeBackward1", out):
            out = bind(P.reshape, out, loc=instr.loc, shape=shape)
    return out
