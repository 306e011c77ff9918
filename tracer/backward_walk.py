"""The one walk over the nodes below backward's roots, shared by every backward path.

`walk_nodes` visits each GradFn once and gathers in that visit all that any path
needs: the nodes, the leaves' accumulators (in first-use order), the first
record of each saved value, and what makes a graph special (a custom Function,
a hook, a retained grad, a value changed in place since it was saved).
`loss.backward()` on a graph with none of those reads only the first records;
the general path reads the rest, and builds the records per operation (which a
stale value's error needs) only when the walk found one.
"""
from __future__ import annotations

import numpy as np

from ..ir.core import Value
from .backward_plan import COTANGENT, PARAM, AdjointPlan, TapeGraph
from .errors import SECOND_BACKWARD, at
from . import saved_hooks as _saved_hooks
from .tape import AccumulateGrad, AdjointNode, GradFn, PackedSaved, Saved


class NodeWalk:
    """What `walk_nodes` found below some roots (see the module docstring)."""

    __slots__ = ("fns", "leaves", "saved", "stale", "plain", "blocks", "_all_records",
                 "_producer")

    # Set by walk_nodes, without an __init__ frame (loss.backward() makes one walk per
    # step); `_all_records` and `_producer` only when first asked for.
    #   fns     every node, in walk order (depth first from the roots)
    #   leaves  the leaves' accumulators, each once, in the order the walk met them
    #   saved   id(value) -> its first record, in walk order (see `array`)
    #   stale   a record was changed in place since it was saved, or two disagree
    #   plain   not stale, and no custom Function, hook or retained grad among the
    #           nodes: loss.backward() may take its short way
    #   blocks  output instruction -> its AdjointNode (instructions that ran as one
    #           call: create_graph's adjoint, a composite's template), or None

    @property
    def customs(self) -> list[GradFn]:
        """The nodes that are not plain GradFns (custom Functions), in walk order."""
        return [] if self.plain else [f for f in self.fns if f.custom]

    @property
    def hooked(self) -> list[GradFn]:
        """The nodes with hooks on their outputs, in walk order."""
        return [] if self.plain else [f for f in self.fns if f.hooks]

    # ------------------------------------------------------------ saved values

    def array(self, value: Value, graph: TapeGraph, readers: tuple[int, ...]) -> np.ndarray:
        """The array `value` had when the operations whose gradients read it ran.

        Only the records of those operations matter (PyTorch's saved tensors): each
        must still hold the state it saw (or a copy of it), and all must agree.
        Otherwise the value was changed in place: PyTorch's error, naming the operation.
        """
        if not self.stale:  # every record intact and of one version: the first is the value
            rec = self.saved.get(id(value))
            if rec is None:
                raise RuntimeError(SECOND_BACKWARD + _where(self.fns))
            return rec.array
        recs = self._records().get(id(value))
        if not recs:
            raise RuntimeError(SECOND_BACKWARD + _where(self.fns))
        first = recs[0][1]
        for f, rec in recs:
            if rec.version != first.version or rec.version_box[0] != rec.version:
                break
        else:  # this value's records are intact and agree: whichever readers, the same
            return first.array
        if len(recs) > 1:
            body, producer = graph.body, self.producer
            reader_ids = {id(producer[id(body[j])]) for j in readers if id(body[j]) in producer}
            recs = [(f, rec) for f, rec in recs if id(f) in reader_ids] or recs
        first = recs[0][1]
        for f, rec in recs:
            if rec.version_box[0] != rec.version or rec.version != first.version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{value.type}] is at version "
                    f"{rec.version_box[0]}; expected version {rec.version} instead. The value "
                    f"was saved by {_saver(f)}.")
        return first.array

    def add_root(self, value: Value, rec: Saved) -> None:
        """A root that no operation saved stands for itself (see engine._record_leaf_root)."""
        if id(value) not in self.saved:
            self.saved[id(value)] = rec
            if getattr(self, "_all_records", None) is not None:
                self._all_records[id(value)] = [(None, rec)]

    def _records(self) -> dict[int, list[tuple[GradFn | None, Saved]]]:
        """id(value) -> every record of it, (the operation that saved it, the record), in
        walk order: what a stale value's check needs.  Built on first use."""
        if getattr(self, "_all_records", None) is None:
            recs: dict[int, list] = {}
            for f in self.fns:
                for key, rec in f.saved.items():
                    recs.setdefault(key, []).append((f, rec))
            for key, rec in self.saved.items():  # the roots that stand for themselves
                if key not in recs:
                    recs[key] = [(None, rec)]
            self._all_records = recs
        return self._all_records

    @property
    def producer(self) -> dict[int, GradFn]:
        """id(instruction) -> the node that recorded it.  Built on first use."""
        if getattr(self, "_producer", None) is None:
            self._producer = {id(i): f for f in self.fns for i in f.instrs}
        return self._producer

    def leaf_accumulator(self, param: Value) -> AccumulateGrad | None:
        for n in self.leaves:
            if n.param is param:
                return n
        return None

    def release(self) -> None:
        """Free what backward needed: a later backward through these nodes raises."""
        for f in self.fns:
            f.saved.clear()
            f.freed = True
        if not self.plain:
            for f in self.fns:
                if f.custom:
                    f.release()  # a custom Function's ctx lets go of its saved tensors


def walk_nodes(roots: list) -> NodeWalk:
    """Visit every node below `roots` (GradFns; the list is used up) once, depth first;
    see NodeWalk."""
    fns, leaves = [], []
    # nodes and accumulators themselves (they hash by identity: no id() calls)
    seen = set()
    saved: dict[int, Saved] = {}
    setdefault = saved.setdefault
    stale = special = False
    blocks = None
    stack = roots
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        fns.append(f)
        if f.custom:  # a custom Function's node (nodes of one kind are GradFn subclasses)
            special = True
        elif isinstance(f, AdjointNode):
            if blocks is None:
                blocks = {}
            for out in f.outputs:
                blocks[out] = f
            if f.hooks or f.retained:
                special = True
        elif f.hooks or f.retained:
            special = True
        for key, rec in f.saved.items():
            if rec.version_box[0] != rec.version:
                stale = True
            first = setdefault(key, rec)
            if first is not rec and first.version != rec.version:
                stale = True
        for n in f.next_fns:
            if n is None:
                continue
            if type(n) is AccumulateGrad:
                if n not in seen:
                    seen.add(n)
                    leaves.append(n)
            elif n not in seen:
                stack.append(n)
    walk = _new(NodeWalk)
    walk.fns, walk.leaves, walk.saved, walk.stale = fns, leaves, saved, stale
    walk.plain = not (stale or special)
    walk.blocks = blocks
    return walk


_new = object.__new__


def adjoint_inputs(plan: AdjointPlan, graph: TapeGraph, cotangents: list[np.ndarray],
                   walk: NodeWalk) -> list[np.ndarray]:
    """The cached adjoint's inputs: the cotangents, and the arrays the forward saved."""
    if _saved_hooks.used:  # saved-tensor hooks: every node's unpack hook, in node order
        _saved_hooks.unpack_all(walk.fns, PackedSaved)
    arrays = []
    params, body = graph.params, graph.body
    if walk.stale:
        for kind, i, readers in plan.sources:
            if kind is COTANGENT:
                arrays.append(cotangents[i])
            else:
                arrays.append(walk.array(params[i] if kind is PARAM else body[i], graph, readers))
        return arrays
    get = walk.saved.get  # walk.array's first case, inlined: one lookup per input
    for kind, i, _ in plan.sources:
        if kind is COTANGENT:
            arrays.append(cotangents[i])
            continue
        rec = get(id(params[i] if kind is PARAM else body[i]))
        if rec is None:
            raise RuntimeError(SECOND_BACKWARD + _where(walk.fns))
        arrays.append(rec.array)
    return arrays


def _saver(f: GradFn | None) -> str:
    return "the root of backward" if f is None else f"{f.name()}{at(f.loc)}"


def _where(fns: list[GradFn]) -> str:
    loc = fns[0].loc if fns else None
    return f" (the graph was recorded at {loc.full()})" if loc is not None else ""
