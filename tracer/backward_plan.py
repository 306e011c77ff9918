"""The tape as IR, and its adjoint, cached by the tape's structure.

`walk_tape` collects the instructions below the roots in one pass and builds a
structural key (primitives, exact attributes, types, operand positions) without
printing text; `plan_for` returns the adjoint for that structure: the forward
Function differentiated by `ir.autodiff.vjp`, with every forward value it reads
turned into a parameter (`externalize`), and where each parameter's array comes
from.  A training loop builds it once and finds it on every later step.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..ir.autodiff import residuals, vjp
from ..ir.core import Function, Instr, Param, Value
from ..ir.dtypes import DType
from ..ir.passes.externalize import externalize
from ..ir.printer import format_attr


class TapeGraph:
    """The IR graph below some roots, walked once (see `walk_tape`)."""

    __slots__ = ("params", "body", "roots", "key", "_blocks", "_refs")

    def __init__(self, params: list[Param], body: list[Instr], roots: list[Value], key: tuple,
                 refs: dict[Value, int], blocks: list | None = None):
        self.params = params  # first-use order, as free_params gives them
        self.body = body  # operands first, as topo_sort gives them
        self.roots = roots
        #: equal for two graphs exactly when they build the same forward Function, up to
        #: names and source locations (what structural_hash hashes, without printing)
        self.key = key
        self._refs = refs  # value -> body position, or -1-k for parameter k
        #: (body position, BlockShape) of each AdjointNode's instructions, or None
        self._blocks = blocks

    @property
    def virtual(self) -> tuple[int, ...] | None:
        """Body positions of instructions with no array (inside an AdjointNode's call),
        or None: the adjoint recomputes them.  Only a plan being built asks."""
        if not self._blocks:
            return None
        return tuple([base + k for base, shape in self._blocks for k in shape.virtual_offsets])

    def number(self, v: Value) -> int | None:
        """v's number (parameters first, then body instructions), None if not below the roots."""
        k = self._refs.get(v)
        if k is None:
            return None
        return -1 - k if k < 0 else len(self.params) + k

    def function(self) -> Function:
        return Function("forward", self.params, self.body, self.roots)


def walk_tape(roots: list[Value], blocks: dict | None = None) -> TapeGraph:
    """topo_sort and free_params of `roots`, and the structural key, in one pass.

    The key is one flat tuple (one tuple to hash and compare, none per instruction):
    per instruction its primitive, attributes, result dtype and shape, then its
    operand references (ints: a body position, or -1-k for parameter k); the next
    primitive (never an int) ends them.  The parameters' dtypes and shapes, a marker,
    and the roots' references complete it.  `blocks` (NodeWalk.blocks): the outputs of
    AdjointNodes; such a node's instructions are placed at once, keyed as its
    BlockShape (the structure every node of its template shares) and the references
    of its inputs, not one by one.
    """
    params: list[Param] = []
    body: list[Instr] = []
    # value -> reference, for every value already placed (keyed by the values themselves,
    # which hash by identity: no id() call per lookup)
    ref: dict[Value, int] = {}
    parts: list = []
    get = ref.get
    placed: list | None = None if blocks is None else []
    for r in roots:
        if type(r) is not Instr and r not in ref:
            ref[r] = -1 - len(params)
            params.append(r)
    for root in roots:
        if root in ref:
            continue
        stack = [root]
        push, pop = stack.append, stack.pop
        while stack:
            # depth first, operands in order (topo_sort's order); an instruction is
            # placed once all its operands are: the stack never holds one twice (a DAG)
            node = stack[-1]
            if placed is not None and node in blocks:
                _place_block(blocks[node], stack, ref, params, parts, body, placed)
                continue
            ops = node.operands
            for op in ops:
                if op not in ref and type(op) is Instr:
                    push(op)
                    break
            else:
                pop()
                t = node.type
                attrs = node.attrs
                if attrs:
                    known = _attr_keys.get(id(attrs))
                    if known is None or known[0] is not attrs:
                        if len(_attr_keys) >= _MAX_ATTR_KEYS:
                            _attr_keys.clear()
                        known = _attr_keys[id(attrs)] = (attrs, _attrs_key(attrs))
                    attrs = known[1]
                else:
                    attrs = None
                parts += (node.prim, attrs, t.dtype, t.shape)
                for op in ops:
                    k = get(op)
                    if k is None:  # a parameter, first used here
                        k = ref[op] = -1 - len(params)
                        params.append(op)
                    parts.append(k)
                ref[node] = len(body)
                body.append(node)
    for p in params:
        parts += (p.type.dtype, p.type.shape)
    parts.append(_ROOTS)
    for r in roots:
        parts.append(ref[r])
    return TapeGraph(params, body, list(roots), tuple(parts), ref, placed)


#: ends the parameters' part of a key (whose entries are dtypes and shapes)
_ROOTS = "roots"


def _place_block(f, stack: list, ref: dict, params: list, parts: list, body: list,
                 placed: list) -> None:
    """walk_tape's step at an AdjointNode's output: its inputs first (pushed, if one is
    not placed yet), then all its instructions at once, keyed by its shape."""
    for op in f.inputs:
        if op not in ref and type(op) is Instr:
            stack.append(op)
            return
    stack.pop()
    parts.append(f.shape)
    for op in f.inputs:
        k = ref.get(op)
        if k is None:  # a parameter, first used here
            k = ref[op] = -1 - len(params)
            params.append(op)
        parts.append(k)
    base = len(body)
    body += f.instrs
    for out, k in zip(f.outputs, f.shape.output_offsets):
        ref[out] = base + k
    placed.append((base, f.shape))


#: id(attrs) -> (attrs, _attrs_key(attrs)): eager constants share one attribute dict per
#: value (ops_core.scalar_constant), so a loop's tape finds their keys here.  The entry
#: holds the dict, so its id is not reused while cached; attribute dicts are never mutated.
_attr_keys: dict[int, tuple[dict, tuple]] = {}
_MAX_ATTR_KEYS = 4096


def _attrs_key(attrs: dict) -> tuple:
    """The attributes of one instruction as part of the key (their names included)."""
    if len(attrs) == 1:  # the common case (a constant's value, axes, a shape): no sort
        for k, v in attrs.items():
            return k, _exact(v)
    return tuple([(k, _exact(v)) for k, v in sorted(attrs.items())])


def _exact(v):
    """An attribute value as a key that tells apart what prints differently
    (-0.0 and 0.0, 1 and 1.0 and True) and equals itself (NaN)."""
    t = type(v)
    if t is float:
        return (float, v.hex())
    if t is int or t is bool or t is str or t is DType:
        return (t, v)
    if t is tuple or t is list:
        return tuple(_exact(x) for x in v)
    if t is np.ndarray:
        return (v.dtype.str, v.shape, v.tobytes())
    return (t, format_attr(v))  # anything else: its printed form, as structural_hash sees it


# Where each input of a cached adjoint comes from:
PARAM, COTANGENT, INSTR = "param", "ct", "instr"


class AdjointPlan:
    """A cached adjoint for one tape structure, and where each of its inputs comes from."""

    __slots__ = ("fn", "sources", "result_types", "templates")

    def __init__(self, fn: Function, sources: list[tuple[str, int, tuple[int, ...]]]):
        self.fn = fn
        #: per parameter (kind, i, readers): PARAM forward parameter i, COTANGENT of output
        #: i, INSTR the value of forward instruction i; readers are the forward
        #: instructions (body indices) whose VJP rules read it: their operations' saved
        #: copies are the ones that must be intact
        self.sources = sources
        self.result_types = fn.result_types
        #: create_graph's recording templates (backward_native), by which inputs
        #: require grad
        self.templates: dict = {}


_plans: "OrderedDict[tuple, AdjointPlan]" = OrderedDict()
_plans_lock = threading.Lock()
PLAN_CACHE_SIZE = 256


#: (key, plan) of the latest lookup: a training loop asks for one structure every step,
#: and comparing with the last key (equal parts are mostly the same objects) is cheaper
#: than hashing it, taking the lock and reordering the LRU
_last: tuple | None = None


def plan_for(graph: TapeGraph, wrt_index: list[int]) -> AdjointPlan:
    global _last
    key = (graph.key, tuple(wrt_index))
    last = _last
    if last is not None and last[0] == key:
        return last[1]  # the most recently used: the LRU's last entry already
    with _plans_lock:
        plan = _plans.get(key)
        if plan is not None:
            _plans.move_to_end(key)
            _last = (key, plan)
            return plan
    plan = _build_plan(graph.function(), wrt_index, graph.virtual)
    with _plans_lock:
        _plans[key] = plan
        while len(_plans) > PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
        _last = (key, plan)
    return plan


def _build_plan(fwd: Function, wrt_index: list[int],
                virtual: tuple[int, ...] | None = None) -> AdjointPlan:
    """The adjoint of `fwd` w.r.t. the values numbered `wrt_index`, every forward value it
    reads an input; except the `virtual` body positions (no array: see TapeGraph), which
    it recomputes from their operands, down to values that have arrays."""
    wrt = [_value_at(fwd, i) for i in wrt_index]
    adj = vjp(fwd, wrt, name="backward")
    n_fwd = len(fwd.params)
    body_ids = {id(i) for i in fwd.body}
    recomputed = {id(fwd.body[j]) for j in virtual} if virtual else ()
    needed = []
    seen = set()

    def need(v: Value) -> None:
        # forward values become inputs; constants (no operands) stay in the adjoint
        stack = [v]
        while stack:
            op = stack.pop()
            if id(op) not in body_ids or id(op) in seen or not op.operands:
                continue
            seen.add(id(op))
            if id(op) in recomputed:
                stack.extend(reversed(op.operands))
            else:
                needed.append(op)

    for instr in adj.body:
        if id(instr) in body_ids:
            continue
        for op in instr.operands:
            need(op)
    for r in adj.results:
        need(r)
    fn, _ = externalize(adj, needed)
    index_of_instr = {id(i): j for j, i in enumerate(fwd.body)}
    index_of_param = {id(p): j for j, p in enumerate(fwd.params)}
    reads = residuals(fwd, wrt)
    readers_of: dict[int, list[int]] = {}
    for j, instr in enumerate(fwd.body):
        for v in reads.get(id(instr), ()):
            readers_of.setdefault(id(v), []).append(j)
    sources = []
    for k, p in enumerate(fn.params):
        if k < n_fwd:
            sources.append((PARAM, index_of_param[id(p)], tuple(readers_of.get(id(p), ()))))
        elif k < len(adj.params):
            sources.append((COTANGENT, k - n_fwd, ()))
        else:
            v = needed[k - len(adj.params)]
            sources.append((INSTR, index_of_instr[id(v)], tuple(readers_of.get(id(v), ()))))
    return AdjointPlan(fn, sources)


def _value_at(fwd: Function, index: int) -> Value:
    """wrt values are numbered: parameters first, then body instructions."""
    n = len(fwd.params)
    return fwd.params[index] if index < n else fwd.body[index - n]


# ---------------------------------------------------------------- the graph
