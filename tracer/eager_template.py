"""Eager composite operations from a template: one call, one node.

A composite operation (binary_cross_entropy_with_logits: a dozen primitives under
one grad_fn) costs a Python frame, a numpy call and a tape record per primitive
each time it runs.  Marked with `@composite(name)`, it is instead traced once per
*signature* (the tensors' types and whether they require grad, the other
arguments' values), from its second call with that signature: the traced
Function is its template.  Every later call runs the template on the eager tier
(`runtime.execute`: native from its second use) and records one node whose
instructions are the template's, operands mapped to the arguments' values, as
backward_native records create_graph's adjoint: only the arguments' and the
result's arrays exist, and backward recomputes the inner values inside its own
adjoint (tape.AdjointNode's `virtual`).  What the user sees is the same node
(name, next_functions, the in-place check on its inputs); values differ from the
interpreter's only within the native math's accuracy bounds.

The contract of a function so marked: its checks read only shapes, dtypes and the
other arguments (a template skips them), its result is one tensor, and it draws
no random numbers.  Inside another operation, under no_grad, while tracing, or
when no tensor argument requires grad, it runs as written.
"""
from __future__ import annotations

import functools
import sys

from ..ir.core import Instr
from ..runtime.execute import execute
from .block_recorder import CALL_LOC, recorder
from .dual_state import state as _duals
from .grad_mode import _state as _grad_state
from .tape import AdjointNode, BlockShape, GradFn, Saved, _caller_loc, _tls, node_class
from .tensor import Tensor
from .trace import trace

_SEEN, _NEVER = "seen", "never"  # a signature met once / one that cannot be templated
_SCALARS = (int, float, str, bool, type(None))


class _Template:
    __slots__ = ("fn", "instrs", "result", "rtype", "shape", "inputs", "record")

    def __init__(self, fn):
        self.fn = fn
        number = {id(p): k for k, p in enumerate(fn.params)}
        self.instrs = []
        for instr in fn.body:
            number[id(instr)] = len(fn.params) + len(self.instrs)
            self.instrs.append((instr.prim, tuple([number[id(o)] for o in instr.operands]),
                                instr.attrs, instr.type))
        self.result = number[id(fn.results[0])]
        self.rtype = fn.results[0].type
        out = self.result - len(fn.params)
        self.shape = BlockShape((out,), tuple([k for k in range(len(self.instrs)) if k != out]))
        #: the parameters the instructions read (a tensor argument may be unused)
        read = {r for _, refs, _, _ in self.instrs for r in refs if r < len(fn.params)}
        self.inputs = sorted(read)
        #: the node's instructions in one call (block_recorder), at the call's line
        self.record = recorder([(*i, CALL_LOC) for i in self.instrs], len(fn.params))


def composite(name: str):
    """Run the decorated operation from its template (see the module docstring);
    `name` is its grad_fn's name."""
    def deco(op):
        templates: dict = {}
        cls = node_class(name, AdjointNode)  # type(grad_fn).__name__ is PyTorch's

        @functools.wraps(op)
        def run(*args, **kwargs):
            if _tls.node is not None or _tls.trace_depth or _duals.active or \
                    not getattr(_grad_state, "enabled", True):
                return op(*args, **kwargs)
            key, tensors = _signature(args, kwargs)
            if key is None:
                return op(*args, **kwargs)
            entry = templates.get(key)
            if entry is None or entry is _NEVER:
                if entry is None:
                    if len(templates) > 256:
                        templates.clear()
                    templates[key] = _SEEN
                return op(*args, **kwargs)
            if entry is _SEEN:
                entry = templates[key] = _build(op, args, kwargs, tensors)
                if entry is _NEVER:
                    return op(*args, **kwargs)
            return _record(entry, cls, name, tensors, _caller_loc(sys._getframe(1)))
        run.__wrapped_composite__ = op
        return run
    return deco


def _signature(args: tuple, kwargs: dict):
    """(key, tensor arguments) when the call can use a template, else (None, None)."""
    key, tensors = [], []
    requires_grad = False
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            if a._data is None:
                return None, None
            t = a._type  # its dtype and shape: TensorType's own hash is Python code
            key.append((t.dtype, t.shape, a._requires_grad))
            requires_grad = requires_grad or a._requires_grad
            tensors.append(a)
        elif isinstance(a, _SCALARS):  # a float by its bits: -0.0 is not 0.0 here
            key.append((type(a), a.hex() if type(a) is float else a))
        else:
            return None, None
    if not requires_grad:
        return None, None
    if kwargs:
        key.append(tuple(kwargs))
    return tuple(key), tensors


def _build(op, args: tuple, kwargs: dict, tensors: list):
    """The template of `op` at this signature, or _NEVER (a result that is not one float
    tensor, or a function that does not trace)."""
    slots = [i for i, a in enumerate((*args, *kwargs.values())) if isinstance(a, Tensor)]
    names = list(kwargs)

    def traced(*ts):
        flat = list((*args, *kwargs.values()))
        for i, t in zip(slots, ts):
            flat[i] = t
        return op(*flat[:len(args)], **dict(zip(names, flat[len(args):])))

    try:
        fn, tree = trace(traced, tuple(tensors))
    except Exception:  # noqa: BLE001 - the call as written raises it where it belongs
        return _NEVER
    if len(fn.results) != 1 or tree.num_leaves != 1 or not fn.results[0].type.dtype.is_float \
            or not isinstance(fn.results[0], Instr):
        return _NEVER
    return _Template(fn)


def _record(tmpl: _Template, cls: type, name: str, tensors: list, loc) -> Tensor:
    """The template run on the tensors' arrays, recorded as one node of class `cls`."""
    out = execute(tmpl.fn, [t._data for t in tensors])[0]
    node = cls.__new__(cls)
    GradFn.__init__(node, name, tensors, loc)
    env = [t._graph_value() for t in tensors]
    saved = node.saved
    for t, v in zip(tensors, env):
        if id(v) not in saved:
            saved[id(v)] = Saved(v, t._data, t._version)
    instrs = node.instrs = tmpl.record(env, loc)
    result = instrs[tmpl.result - len(env)]
    t = Tensor._make(out, tmpl.rtype, True, node, result)
    saved[id(result)] = Saved(result, out, t._version)
    node.shape = tmpl.shape
    node.inputs = [env[k] for k in tmpl.inputs]
    node.outputs = (result,)
    return t
