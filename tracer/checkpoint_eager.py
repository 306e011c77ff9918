"""Eager checkpointing (torch.utils.checkpoint, use_reentrant=False): the values a
checkpointed call computed inside are dropped, and backward recomputes them.

    y = tg.checkpoint(block)(x)        # eager: block's inner arrays are freed after it runs

f runs as written (Python control flow on values included), recording the tape as
always.  Then the nodes it made are folded into one `tape.AdjointNode`: copies of
their instructions, reading the values from outside f (its arguments, the parameters
it closes over, anything computed before), with arrays only for those inputs and for
f's results (and for what the policy saves).  The old nodes, and their arrays, die
with the last reference to them.  A backward through the node recomputes the values
without arrays inside its own adjoint (backward_plan's `virtual` values), as for
create_graph's recorded adjoints and composite templates: the recomputation runs the
recorded instructions, not f's Python, so it draws no random numbers again (dropout's
mask is an input of the node: PyTorch's preserve_rng_state).

Nodes that are not plain operations (a custom Function, a recorded adjoint, a node with
hooks or retained grads) stay as they are: the fold stops at them.
"""
from __future__ import annotations

import threading

from ..ir.core import Instr
from .backward_plan import _attrs_key
from .grad_mode import is_grad_enabled
from .tape import AccumulateGrad, AdjointNode, BlockShape, GradFn, Saved, node_class
from .tensor import Tensor
from .tree_util import tree_flatten

_shapes: dict[tuple, BlockShape] = {}
_shapes_lock = threading.Lock()
_MAX_SHAPES = 1024


def run_checkpointed(f, args: tuple, kwargs: dict, saveable=None):
    """f(*args, **kwargs), its inner values dropped from the tape (see the module)."""
    out = f(*args, **kwargs)
    if not is_grad_enabled():
        return out
    results = []
    for t in tree_flatten(out)[0]:
        if isinstance(t, Tensor) and t._grad_fn is not None and _plain(t._grad_fn) \
                and all(t is not r for r in results):
            results.append(t)
    stops = {t._grad_fn for t in tree_flatten((args, kwargs))[0]
             if isinstance(t, Tensor) and t._grad_fn is not None}
    nodes = _nodes_below([t._grad_fn for t in results], stops)
    if nodes:
        _fold(nodes, [t for t in results if t._grad_fn in nodes], saveable)
    return out


def _plain(f) -> bool:
    return type(f) is not AccumulateGrad and not f.custom and not isinstance(f, AdjointNode) \
        and not f.hooks and not f.retained and not f.freed


def _nodes_below(roots: list, stops: set) -> set:
    """The plain nodes reached from `roots` without passing a stop or another node."""
    found, stack = set(), list(roots)
    while stack:
        f = stack.pop()
        if f is None or f in found or f in stops or not _plain(f):
            continue
        found.add(f)
        stack.extend(f.next_fns)
    return found


def _fold(nodes: set, results: list[Tensor], saveable) -> None:
    inner = {}
    for f in nodes:
        for instr in f.instrs:
            inner[instr] = f
    outs = [t._value for t in results]
    order = _block_order(outs, inner)
    inputs: list = []
    index: dict = {}
    copies: dict = {}
    refs_key = []
    instrs = []
    for j, instr in enumerate(order):
        operands, refs = [], []
        for op in instr.operands:
            if op in copies:
                operands.append(copies[op])
                refs.append(index[op])
                continue
            if op not in index:
                index[op] = -1 - len(inputs)
                inputs.append(op)
            operands.append(op)
            refs.append(index[op])
        new = Instr(instr.prim, operands, instr.attrs, instr.type, instr.loc)
        copies[instr] = new
        index[instr] = j
        instrs.append(new)
        t = instr.type
        refs_key.append((instr.prim, _attrs_key(instr.attrs) if instr.attrs else None,
                         t.dtype, t.shape, tuple(refs)))
    positions = {index[t._value] for t in results}
    kept = {}  # position -> the record of a value the policy saves
    for j, instr in enumerate(order):
        if saveable is not None and j not in positions and instr.operands and saveable(instr):
            rec = inner[instr].saved.get(id(instr))
            if rec is not None:
                kept[j] = rec
    shape = _interned(tuple(refs_key), tuple(sorted(positions)),
                      tuple(j for j in range(len(order)) if j not in positions and j not in kept))
    first = results[0]._grad_fn
    name = first.name()
    cls = node_class(name, AdjointNode)  # type(grad_fn).__name__: the last operation's
    node = cls.__new__(cls)
    GradFn.__init__(node, name, (), first.loc)
    below = _nodes_of_inputs(nodes)
    node.next_fns = tuple(below.get(v) for v in inputs)
    saved = node.saved
    for v in inputs:
        rec = _record_of(v, nodes)
        if rec is not None:
            saved[id(v)] = rec
    for j, rec in kept.items():
        saved[id(instrs[j])] = _copy_record(instrs[j], rec)
    node.instrs = instrs
    node.shape = shape
    node.inputs = inputs
    node.outputs = tuple(instrs[j] for j in shape.output_offsets)
    for t in results:
        new = copies[t._value]
        t._value, t._grad_fn = new, node
        saved[id(new)] = Saved(new, t._data, t._version)


def _block_order(outs: list, inner: dict) -> list[Instr]:
    """The inner instructions below `outs`, operands first."""
    order, done = [], set()
    for root in outs:
        stack = [root]
        while stack:
            v = stack[-1]
            if v in done:
                stack.pop()
                continue
            todo = [op for op in v.operands if op in inner and op not in done]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            done.add(v)
            order.append(v)
    return order


def _interned(structure: tuple, outputs: tuple, virtual: tuple) -> BlockShape:
    """One BlockShape per structure: backward_plan keys an AdjointNode by its shape's
    identity, so equal blocks share their cached adjoint."""
    key = (structure, outputs, virtual)
    with _shapes_lock:
        shape = _shapes.get(key)
        if shape is None:
            if len(_shapes) >= _MAX_SHAPES:
                _shapes.clear()
            shape = _shapes[key] = BlockShape(outputs, virtual)
    return shape


def _nodes_of_inputs(nodes: set) -> dict:
    """value -> the node outside `nodes` that produced it (or a leaf's accumulator)."""
    found = {}
    for f in nodes:
        for n in f.next_fns:
            if n is None or n in nodes:
                continue
            if type(n) is AccumulateGrad:
                found[n.param] = n
            else:
                for instr in n.instrs:
                    found[instr] = n
    return found


def _copy_record(value, rec: Saved) -> Saved:
    new = Saved(value, rec.array, rec.version_box)
    new.version = rec.version
    return new


def _record_of(v, nodes: set) -> Saved | None:
    for f in nodes:
        rec = f.saved.get(id(v))
        if rec is not None:
            return rec
    return None

