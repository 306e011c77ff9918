"""One scan where two run the same steps: the forward scan runs once under grad.

The VJP of a scan (ir/regions_vjp.py) emits the forward scan again, its body
returning the same results plus the residuals (the per-step values the reverse
scan reads, stacked).  Both scans read the same operands, so the first one's
outputs are a prefix of the second one's: this pass lets the bigger scan answer
for the smaller one, which then dies, so the forward steps run once (JAX's scan
partial evaluation reaches the same point from the other side).

Two scans merge when they have the same operands (the same values), the same
`num_consts`, `num_carry`, `length` and `reverse`, and the smaller body's results
are the bigger body's first results, structurally (names and locations aside).
The bigger scan moves up to the smaller one's place (its operands are the same, so
they are defined there) and every `output` of the smaller one reads it instead.
"""
from __future__ import annotations

from ..core import Function, Instr, Value
from .. import primitives as P
from ..primitives import OpGroup
from .dce import dce
from .rewrite import in_regions, rebuilt, remap


def merge_scans(fn: Function) -> Function:
    """`fn` with every scan whose outputs another scan also computes replaced by it
    (recursively inside regions); unchanged `fn` (the same object) when there is none."""
    if any(i.prim.group is OpGroup.REGION for i in fn.body):
        fn = in_regions(fn, merge_scans)
    bigger = _merges(fn)
    if not bigger:
        return fn
    replaced: dict[int, Value] = {}
    placed: set[int] = set()
    body: list[Instr] = []
    for instr in fn.body:
        target = bigger.get(id(instr), instr)
        if id(target) in placed:  # already placed at an earlier scan's position
            replaced[id(instr)] = replaced[id(target)]
            continue
        new = remap(target, replaced)
        placed.add(id(target))
        replaced[id(target)] = new
        if target is not instr or new is not instr:
            replaced[id(instr)] = new
        body.append(new)
    return dce(rebuilt(fn, body, replaced))


def _merges(fn: Function) -> dict[int, Instr]:
    """id(scan) -> the scan (with more results) that computes its outputs too."""
    groups: dict[tuple, list[Instr]] = {}
    for instr in fn.body:
        if instr.prim is P.scan:
            a = instr.attrs
            key = (tuple(id(o) for o in instr.operands), a["num_consts"], a["num_carry"],
                   a["length"], a["reverse"])
            groups.setdefault(key, []).append(instr)
    found: dict[int, Instr] = {}
    for scans in groups.values():
        if len(scans) < 2:
            continue
        scans.sort(key=lambda s: -len(s.type.types))
        for k, small in enumerate(scans):
            for big in scans[:k]:
                if id(big) not in found and _computes(big, small):
                    found[id(small)] = big
                    break
    return found


def _computes(big: Instr, small: Instr) -> bool:
    """Whether `big`'s body returns `small`'s body's results first (structurally)."""
    n = len(small.type.types)
    if big.type.types[:n] != small.type.types:
        return False
    bb, sb = big.attrs["body"], small.attrs["body"]
    prefix = dce(Function(sb.name, bb.params, bb.body, list(bb.results[:n])))
    return prefix.structural_hash() == dce(sb).structural_hash()
