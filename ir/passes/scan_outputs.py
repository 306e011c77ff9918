"""Scans without the stacked outputs nobody reads, and without operands their body ignores.

DCE keeps or drops whole instructions; a scan's outputs are one tuple, so a stacked
`ys` no `output` reads would still be computed and written at every step.  The
reverse scan of a gradient is the common case: it stacks the cotangent of every
float `xs`, which `grad` with respect to the weights never reads.  Dropping that `ys`
from the body lets DCE remove its work inside the loop (a matmul per step for an
RNN's input), and a const or `xs` operand the body no longer reads goes too.
Carries stay: the next step reads them.
"""
from __future__ import annotations

from ..core import Function, Instr, Value, topo_sort
from .. import primitives as P
from ..primitives import OpGroup, infer_type
from .dce import dce
from .rewrite import in_regions, rebuilt, remap


def prune_scans(fn: Function) -> Function:
    """`fn` with each scan's unread ys and unread const/xs operands removed
    (recursively inside regions); the same object when nothing changes."""
    if any(i.prim.group is OpGroup.REGION for i in fn.body):
        fn = in_regions(fn, prune_scans)
    live = topo_sort(fn.results)
    read: dict[int, set[int]] = {}
    for instr in live:
        if instr.prim is P.output:
            read.setdefault(id(instr.operands[0]), set()).add(instr.attrs["index"])
    replaced: dict[int, Value] = {}
    renumber: dict[int, dict[int, int]] = {}
    body: list[Instr] = []
    for instr in fn.body:
        new = remap(instr, replaced)
        if new.prim is P.scan:
            pruned, index = _pruned(new, read.get(id(instr), set()))
            if pruned is not None:
                new, renumber[id(new)] = pruned, index
        elif new.prim is P.output and id(new.operands[0]) in renumber:
            k = renumber[id(new.operands[0])].get(new.attrs["index"])
            if k is not None and k != new.attrs["index"]:
                new = Instr(P.output, new.operands, {"index": k},
                            new.type, new.loc)
        if new is not instr:
            replaced[id(instr)] = new
        body.append(new)
    return dce(rebuilt(fn, body, replaced)) if replaced else fn


def _pruned(instr: Instr, read: set[int]):
    """`instr` without its unread ys and ignored operands, and {old index: new index}
    of its outputs; (None, None) when there is nothing to drop."""
    a = instr.attrs
    body, nc, m = a["body"], a["num_consts"], a["num_carry"]
    n_out = len(instr.type.types)
    keep_out = list(range(m)) + [k for k in range(m, n_out) if k in read]
    trimmed = dce(Function(body.name, body.params, body.body,
                           [body.results[k] for k in keep_out]))
    used = {id(o) for i in trimmed.body for o in i.operands} | {id(r) for r in trimmed.results}
    keep_in = [j for j, p in enumerate(body.params) if nc <= j < nc + m or id(p) in used]
    if len(keep_out) == n_out and len(keep_in) == len(body.params):
        return None, None
    region = Function(body.name, [body.params[j] for j in keep_in], trimmed.body,
                      trimmed.results)
    operands = [instr.operands[j] for j in keep_in]
    attrs = dict(a, body=region, num_consts=sum(1 for j in keep_in if j < nc))
    t = infer_type(P.scan, tuple(o.type for o in operands), attrs)
    return Instr(P.scan, operands, attrs, t, instr.loc), {k: n for n, k in enumerate(keep_out)}
