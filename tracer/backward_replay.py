"""backward(create_graph=True): the adjoint's inputs as tensors on the tape, and its
results kept differentiable.

The cached adjoint is bound again instruction by instruction (tracer.inline), so
the gradients it computes are recorded and can be differentiated once more.  Its
inputs must then be the tensors the forward values belong to, not bare arrays.
"""
from __future__ import annotations

import numpy as np

from ..ir import primitives as P
from ..ir.core import Function, Instr, Value
from .backward_plan import COTANGENT, INSTR, PARAM, AdjointPlan, TapeGraph
from .grad_mode import enable_grad
from .inline import apply_function
from .backward_walk import NodeWalk
from .tape import bind
from .tensor import Tensor


def replay(plan: AdjointPlan, graph: TapeGraph, grads: list[Tensor], walk: NodeWalk) -> list[Tensor]:
    """The adjoint bound on the tape: gradients that can be differentiated again."""
    values = _bind_tensors(plan, graph, grads, walk)
    with enable_grad():
        return _keep_dependence(plan, values, apply_function(plan.fn, values))


def _keep_dependence(plan: AdjointPlan, values: list[Tensor], computed: list[Tensor]) -> list[Tensor]:
    """create_graph: a gradient computed from values that require grad stays on the tape.

    PyTorch records a backward formula whenever one of its inputs requires grad, so
    relu's gradient (the cotangent masked where x > 0) can be differentiated again,
    giving zeros.  In the adjoint IR the mask reaches the gradient only through a
    comparison, which carries no gradient, so the replayed result would be a constant
    and a second `grad` an error.  Such a result is tied back to a value it read with a
    select that never takes that side: the numbers are unchanged, the derivative is 0.
    """
    out = []
    for g, result in zip(computed, plan.fn.results):
        if not g._requires_grad and g.dtype.is_float:
            src = _input_requiring_grad(plan.fn, result, values)
            if src is not None:
                g = _tie(g, src)
        out.append(g)
    return out


def _input_requiring_grad(fn: Function, result: Value, values: list[Tensor]) -> Tensor | None:
    """A tensor requiring grad among the inputs `result` is computed from (any dtype path).

    A comparison of two computed values (the tie masks of maximum, max, amax) is not
    followed: PyTorch's formulas for those read only the mask, so their gradients are
    constants there too.  A comparison with a constant (relu's x > 0) is followed, as
    PyTorch's threshold formulas read the input.
    """
    position = {id(p): k for k, p in enumerate(fn.params)}
    stack, seen = [result], set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        k = position.get(id(v))
        if k is not None:
            if values[k]._requires_grad:
                return values[k]
        elif isinstance(v, Instr):
            if v.prim.group is P.OpGroup.COMPARE and not any(_is_constant(op) for op in v.operands):
                continue
            stack.extend(v.operands)
    return None


def _is_constant(v: Value) -> bool:
    """A constant, possibly reshaped or broadcast."""
    while isinstance(v, Instr) and v.prim in (P.broadcast, P.reshape):
        v = v.operands[0]
    return isinstance(v, Instr) and v.prim.group is P.OpGroup.SOURCE


def _tie(g: Tensor, src: Tensor) -> Tensor:
    """select(False, f(src), g) with f = sign (derivative 0), reduced and cast to g's type."""
    link = bind(P.sign, src)
    if link.shape != g.shape:
        link = bind(P.reduce_sum, link, axes=tuple(range(link.ndim)))
        link = bind(P.broadcast, link, shape=tuple(g.shape))
    if link.dtype is not g.dtype:
        link = bind(P.convert, link, dtype=g.dtype)
    never = Tensor._from_array(np.zeros(g._type.shape, np.bool_))
    return bind(P.select, never, link, g)


def _bind_tensors(plan: AdjointPlan, graph: TapeGraph, grads: list[Tensor],
                   walk: NodeWalk) -> list[Tensor]:
    """Tensors standing for the forward values, linked to their place on the tape."""
    out = []
    for kind, i, readers in plan.sources:
        if kind is COTANGENT:
            out.append(grads[i])
            continue
        v = graph.params[i] if kind is PARAM else graph.body[i]
        out.append(forward_tensor(kind, v, walk.array(v, graph, readers), walk))
    return out


def forward_tensor(kind, v, data, walk: NodeWalk) -> Tensor:
    """The tensor for forward value `v` (holding `data`), linked to its place on the tape:
    an instruction's result under its node, a leaf as the user's own tensor."""
    if kind is INSTR:
        t = Tensor._make(data, v.type, requires_grad=True,
                         grad_fn=walk.producer[id(v)], value=v)
        t._version = walk.saved[id(v)].version_box
        return t
    accum = walk.leaf_accumulator(v)
    leaf = accum.variable if accum is not None else None
    if leaf is not None and leaf._value is v:
        return leaf
    return Tensor._make(data, v.type, requires_grad=accum is not None, value=v)
