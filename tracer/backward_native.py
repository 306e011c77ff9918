"""backward(create_graph=True) in native code: the adjoint runs as one call, and its
instructions go on the tape as one node.

The cached adjoint (backward_plan) runs on the saved arrays as any backward does
(runtime.execute: interpreted the first time, native from the second).  Its
instructions are then put on the tape under one `AdjointNode`, operands mapped to
the forward values, the cotangents and the leaves they read, without evaluating
them again: only the inputs' arrays (the forward's own records) and the results'
arrays exist.  A later backward through the node walks those instructions like any
other (the same IR, differentiated by the same pass, cached by the same key) and
recomputes the ones with no array inside its own adjoint (`_build_plan`'s
`virtual`), so any order works and every order runs as one native call per
backward.

What is recorded follows `bind`'s rule, decided once per plan and per pattern of
inputs that require grad (a `_Template`): an instruction is on the tape when it
is of a float type and an operand is; a result that is not, but reads a value
that requires grad, is tied to it as backward_replay does (PyTorch's double
backward of relu).  The node is named after its first recorded result's last
primitive, the name the replay gave that result (PyTorch's `MulBackward0` for
`pow`'s gradient).
"""
from __future__ import annotations

import numpy as np

from ..ir import primitives as P
from ..ir.core import Instr
from ..runtime.execute import execute
from .backward_plan import COTANGENT, INSTR, PARAM, AdjointPlan, TapeGraph
from .backward_replay import _input_requiring_grad, _tie, forward_tensor
from .backward_walk import NodeWalk, adjoint_inputs
from .block_recorder import recorder
from .inline import sum_node_name
from .node_names import default_name as _default_name
from .tape import AdjointNode, BlockShape, Saved, node_class
from .tensor import Tensor

#: a result's kinds in a template
_RECORDED, _COTANGENT, _CONSTANT = 0, 1, 2


class _Template:
    """What one create_graph backward of a plan records, for one pattern of inputs that
    require grad: the instructions (body order; operands numbered: parameters first,
    then the template's own instructions), which results are recorded, and the node's
    name and line."""

    __slots__ = ("instrs", "results", "inputs", "name", "loc", "ties", "shape", "record")

    def __init__(self, instrs, results, inputs, name, loc, ties, n_params):
        self.instrs = instrs  # (prim, operand numbers, attrs, type, loc)
        self.results = results  # per result: (kind, instruction number or parameter)
        self.inputs = inputs  # parameter positions the instructions read
        self.name = name
        self.loc = loc
        self.ties = ties  # result positions that may need a tie (not recorded, float)
        outputs = []
        for kind, ref in results:
            if kind is _RECORDED and ref - n_params not in outputs:
                outputs.append(ref - n_params)
        self.shape = BlockShape(tuple(outputs), tuple(
            [k for k in range(len(instrs)) if k not in outputs]))
        #: the node's instructions in one call (block_recorder)
        self.record = recorder(instrs, n_params)


def _template(plan: AdjointPlan, rg: tuple[bool, ...]) -> _Template | None:
    """The recording template of `plan` for inputs requiring grad as `rg`; None when
    a result is a forward value itself (the replay handles that rare case)."""
    fn = plan.fn
    requires = {id(p): f for p, f in zip(fn.params, rg)}
    for instr in fn.body:
        requires[id(instr)] = (instr.type.dtype.is_float and instr.prim is not P.stop_gradient
                               and any(requires[id(o)] for o in instr.operands))
    param_at = {id(p): k for k, p in enumerate(fn.params)}
    recorded = [r for r in fn.results if isinstance(r, Instr) and requires[id(r)]]
    # the instructions below the recorded results, in body order
    below: set[int] = set()
    stack = list(recorded)
    while stack:
        v = stack.pop()
        if id(v) in below or not isinstance(v, Instr):
            continue
        below.add(id(v))
        stack.extend(v.operands)
    number: dict[int, int] = {}
    instrs, inputs = [], []
    n = len(fn.params)
    for instr in fn.body:
        if id(instr) not in below:
            continue
        refs = []
        for o in instr.operands:
            k = param_at.get(id(o))
            if k is not None:
                if k not in inputs:
                    inputs.append(k)
                refs.append(k)
            else:
                refs.append(number[id(o)])
        number[id(instr)] = n + len(instrs)
        instrs.append((instr.prim, tuple(refs), instr.attrs, instr.type, instr.loc))
    results, ties = [], []
    for j, r in enumerate(fn.results):
        k = param_at.get(id(r))
        if k is not None:
            if plan.sources[k][0] is not COTANGENT:
                return None
            results.append((_COTANGENT, plan.sources[k][1]))
        elif requires[id(r)]:
            results.append((_RECORDED, number[id(r)]))
        else:
            results.append((_CONSTANT, None))
            if r.type.dtype.is_float:
                ties.append(j)
    first = recorded[0] if recorded else None
    return _Template(instrs, results, sorted(inputs),
                     _node_name(first) if first is not None else "",
                     first.loc if first is not None else None, ties, n)


def _node_name(instr: Instr) -> str:
    return sum_node_name(instr) if instr.prim is P.reduce_sum else _default_name(instr.prim)


def record_adjoint(plan: AdjointPlan, graph: TapeGraph, grads: list[Tensor],
                   walk: NodeWalk) -> list[Tensor] | None:
    """The adjoint's results, computed in one call and recorded on the tape under one
    node.  None, with nothing done, where the replay must do it (a value changed in
    place since it was saved, whose error the replay's walk names; a result that is a
    forward value itself)."""
    if walk.stale:
        return None
    sources = plan.sources
    values, records, rg = [], [], []
    saved = walk.saved
    for kind, i, _ in sources:
        if kind is COTANGENT:
            g = grads[i]
            v = g._graph_value()
            values.append(v)
            records.append(Saved(v, g._data, g._version))
            rg.append(g._requires_grad)
        else:
            v = graph.params[i] if kind is PARAM else graph.body[i]
            values.append(v)
            records.append(saved.get(id(v)))
            rg.append(kind is INSTR or walk.leaf_accumulator(v) is not None)
    rg = tuple(rg)
    tmpl = plan.templates.get(rg)
    if tmpl is None:
        if rg in plan.templates:
            return None
        tmpl = plan.templates[rg] = _template(plan, rg)
        if tmpl is None:
            return None
    arrays = adjoint_inputs(plan, graph, [g._data for g in grads], walk)
    outs = execute(plan.fn, arrays)
    input_ids = {id(a) for a in arrays}
    out_arrays = [np.array(a) if id(a) in input_ids else a for a in outs]
    result_types = plan.result_types
    node = None
    if tmpl.instrs:
        cls = node_class(tmpl.name, AdjointNode)  # type(grad_fn).__name__ is PyTorch's
        node = cls.__new__(cls)
        node._name = tmpl.name
        node.next_fns = tuple([_node_of_input(sources[k], values[k], grads, walk)
                               for k in tmpl.inputs if rg[k]])
        node.freed = False
        node.loc = tmpl.loc
        node.hooks = node.retained = None
        node_saved = node.saved = {id(values[k]): records[k] for k in tmpl.inputs}
        instrs = tmpl.record(values, None)
        env = values + instrs
        node.instrs = instrs
        node.shape = tmpl.shape
        node.inputs = [values[k] for k in tmpl.inputs]
        node.outputs = tuple([instrs[k] for k in tmpl.shape.output_offsets])
    out = []
    for j, (kind, ref) in enumerate(tmpl.results):
        if kind is _COTANGENT:
            out.append(grads[ref])
        elif kind is _RECORDED:
            instr = env[ref]
            t = Tensor._make(out_arrays[j], result_types[j], True, node, instr)
            node_saved[id(instr)] = Saved(instr, out_arrays[j], t._version)
            out.append(t)
        else:
            out.append(Tensor._make(out_arrays[j], result_types[j]))
    for j in tmpl.ties:
        src = _input_requiring_grad(plan.fn, plan.fn.results[j],
                                    _LazyInputs(plan, graph, grads, walk, arrays))
        if src is not None:
            out[j] = _tie(out[j], src)
    return out


def _node_of_input(source, value, grads, walk: NodeWalk):
    """The node gradients flow into for one input of the adjoint that requires grad."""
    kind, i, _ = source
    if kind is COTANGENT:
        g = grads[i]
        return g._grad_fn if g._grad_fn is not None else g._accumulator()
    if kind is INSTR:
        return walk.producer[id(value)]
    return walk.leaf_accumulator(value)


class _LazyInputs:
    """The adjoint's inputs as tensors, made only when asked (the rare tie of a result
    that does not require grad to one that does: backward_replay._keep_dependence)."""

    def __init__(self, plan, graph, grads, walk, arrays):
        self._args = (plan, graph, grads, walk, arrays)
        self._made: dict[int, Tensor] = {}

    def __getitem__(self, k: int) -> Tensor:
        t = self._made.get(k)
        if t is None:
            plan, graph, grads, walk, arrays = self._args
            kind, i, _ = plan.sources[k]
            if kind is COTANGENT:
                t = grads[i]
            else:
                v = graph.params[i] if kind is PARAM else graph.body[i]
                t = forward_tensor(kind, v, arrays[k], walk)
            self._made[k] = t
        return t

