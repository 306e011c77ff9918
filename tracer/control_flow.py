"""Tracing control flow into region instructions (cond, while_loop, scan).

A region is traced once, on abstract tensors of its own parameters, whatever the
trip count.  Regions are closed (ir/region_rules.py), so after tracing, every
value the body read from outside (a captured weight, a constant it built, an
enclosing region's parameter) is *closed over*: it becomes a parameter of the
region and an operand of the instruction (a `const`).  Whatever in the body does
not depend on the region's parameters is computed outside, once: loop-invariant
code motion comes free.

    consts = free_values([params...], [results...])         # outer values read
    body = close_region("body", consts, params, results)    # Function(consts + params)

Only what cannot fail moves out: an instruction traced in the region that indexes by
data (gather, scatter) or runs a while_loop stays inside even when it reads outer
values only, so it runs only when the region does (a loop of no steps, a branch not
taken: `cond(k < n, lambda: a[k], ...)` must not index with k >= n).  A cond's
branches keep everything they traced (`hoist=False`): nothing of a branch not
taken runs.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from ..ir.core import Function, Instr, Param, SourceLoc, TensorType, TupleType, Value, topo_sort
from ..ir.passes import cse, dce
from ..ir.regions_batching import may_fail
from .errors import at
from .ops_core import filled_tensor
from .tape import note_created, recording_created, tracing
from .tensor import Tensor
from .trace import leaf_hint, param_names
from .tree_util import PyTreeDef, keystr, tree_flatten


class ControlFlowError(TypeError):
    """A region's functions do not fit together (branch types, a carry that changes)."""


def as_tensor_leaf(x, what: str, loc: SourceLoc | None) -> Tensor:
    """A leaf of a carry, operand or xs as a tensor (numbers: float32 or int64 0-d)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._from_array(np.array(x))
    if isinstance(x, (bool, np.bool_)):
        return filled_tensor(bool(x), dtypes.bool_)
    if isinstance(x, (numbers.Integral, np.integer)):
        return filled_tensor(int(x), dtypes.i64)
    if isinstance(x, (numbers.Real, np.floating)):
        return filled_tensor(float(x), dtypes.f32)
    raise ControlFlowError(f"{what}: a leaf of type {type(x).__name__} is not a tensor, "
                           f"an array or a number{at(loc)}")


def flatten_tensors(tree, what: str, loc) -> tuple[list[Tensor], PyTreeDef]:
    leaves, treedef = tree_flatten(tree)
    return [as_tensor_leaf(x, f"{what}{keystr(p)}", loc)
            for x, p in zip(leaves, treedef.paths())], treedef


class TracedResults(list):
    """A region function's results, with the ids of the instructions that must stay
    inside the region even if they read no parameter (`pinned`)."""

    pinned: frozenset = frozenset()


def trace_function(f, args_tree: PyTreeDef, types: list[TensorType], what: str, loc,
                   hints=None, hoist: bool = True) -> tuple[list[Param], list[Value], PyTreeDef]:
    """Call `f(*args)` on abstract tensors of new parameters, one per leaf of the
    arguments `args_tree` (a tuple of the positional arguments).  `hoist`: whether
    what f computes from outer values alone may move out of the region (see above)."""
    if hints is None:  # the print names of f's parameters, as tracer/trace.py gives them
        kids = args_tree.children()
        names = param_names(f, len(kids))
        hints = [leaf_hint(n, p) for n, kid in zip(names, kids) for p in kid.paths()]
    params = [Param(t, h) for t, h in zip(types, hints)]
    args = args_tree.unflatten([Tensor._abstract(p) for p in params])
    with tracing(), recording_created() as created:
        out = f(*args)
        leaves, out_tree = flatten_tensors(out, f"{what}'s output", loc)
        results = TracedResults(t._trace_value() for t in leaves)
    created = set(created)
    results.pinned = frozenset(i for i in map(id, topo_sort(results)) if i in created) \
        if not hoist else frozenset(id(i) for i in topo_sort(results)
                                    if id(i) in created and may_fail([i]))
    return params, results, out_tree


def free_values(params: list[Param], results: list[Value]) -> list[Value]:
    """The values from outside that the computation of `results` from `params` reads,
    in first-use order (instructions not depending on `params` count as outside)."""
    inside = {id(p) for p in params}
    pinned = getattr(results, "pinned", frozenset())
    free: dict[int, Value] = {}
    for instr in topo_sort(results):
        if id(instr) in pinned or any(id(o) in inside for o in instr.operands):
            inside.add(id(instr))
            for o in instr.operands:
                if id(o) not in inside and not _source(o):
                    free.setdefault(id(o), o)
    for r in results:
        if id(r) not in inside and not _source(r):
            free.setdefault(id(r), r)
    return list(free.values())


def _source(v: Value) -> bool:
    """A `full`, `iota` or `constant`: copied into the region rather than passed in,
    so it stays a splat the code generator fuses."""
    return isinstance(v, Instr) and v.prim.nullary_typed


def close_region(name: str, consts: list[Value], params: list[Param],
                 results: list[Value]) -> Function:
    """The region `(consts..., params...) -> results`: each const read through a new
    parameter, every instruction depending on `params` rebuilt on those."""
    replaced: dict[int, Value] = {}
    const_params = []
    for c in consts:
        p = Param(c.type, getattr(c, "hint", None))
        const_params.append(p)
        replaced[id(c)] = p
    inside = {id(p) for p in params}
    pinned = getattr(results, "pinned", frozenset())
    body = []
    wanted = {id(o) for i in topo_sort(results) for o in i.operands}
    for instr in topo_sort(results):
        if id(instr) in replaced:
            continue
        if _source(instr) and (id(instr) in wanted or instr in results):
            inside.add(id(instr))  # a source an inside instruction reads: copied in
        elif id(instr) not in pinned and not any(id(o) in inside for o in instr.operands):
            continue
        inside.add(id(instr))
        new = Instr(instr.prim, [replaced.get(id(o), o) for o in instr.operands],
                    dict(instr.attrs), instr.type, instr.loc)
        replaced[id(instr)] = new
        body.append(new)
    fn = Function(name, const_params + list(params), body,
                  [replaced.get(id(r), r) for r in results])
    return dce(cse(fn))


def region_outputs(prim, operands: list[Value], attrs: dict, loc) -> list[Tensor]:
    """Bind a region instruction: one abstract tensor per output."""
    operand_types = tuple(o.type for o in operands)
    rtype = P.infer_type(prim, operand_types, attrs)
    instr = Instr(prim, operands, attrs, rtype, loc)
    assert isinstance(rtype, TupleType)
    outs = [Instr(P.output, (instr,), {"index": k}, t, loc) for k, t in enumerate(rtype.types)]
    for i in (instr, *outs):  # traced inside an enclosing region, if any
        note_created(i)
    return [Tensor._abstract(o) for o in outs]


def describe_types(treedef: PyTreeDef, types: list[TensorType]) -> str:
    paths = treedef.paths()
    return ", ".join(f"{keystr(p) or 'value'}: {t}" for p, t in zip(paths, types))


def check_same(what: str, want_tree: PyTreeDef, want: list[TensorType],
               got_tree: PyTreeDef, got: list[TensorType], loc) -> None:
    """Raise ControlFlowError unless the two structures and their leaf types agree."""
    if want_tree != got_tree:
        raise ControlFlowError(f"{what}: the structure {got_tree} differs from {want_tree}"
                               f"{at(loc)}")
    for p, a, b in zip(want_tree.paths(), want, got):
        if a != b:
            raise ControlFlowError(f"{what}: {keystr(p) or 'the value'} is {b}, but must be "
                                   f"{a} (the same dtype and shape){at(loc)}")
