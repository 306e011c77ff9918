"""What every rewriting pass shares: replacing operands without losing identity."""
from __future__ import annotations

from typing import Iterable

from ..core import Function, Instr, Value, regions, topo_sort


def remap(instr: Instr, replaced: dict[int, Value]) -> Instr:
    """`instr` with its operands looked up in `replaced` (keyed by id).

    The same object when no operand changed, so passes keep the identity of
    everything they did not touch.
    """
    operands = tuple(replaced.get(id(op), op) for op in instr.operands)
    if all(new is old for new, old in zip(operands, instr.operands)):
        return instr
    return Instr(instr.prim, operands, dict(instr.attrs), instr.type, instr.loc)


def use_counts(fn: Function) -> dict[int, int]:
    """id(value) -> how many live instructions read it, a result counting as one read:
    a rewrite that folds a value into its user may only do so when that user is its
    only reader."""
    uses: dict[int, int] = {}
    for instr in topo_sort(fn.results):
        for o in instr.operands:
            uses[id(o)] = uses.get(id(o), 0) + 1
    for r in fn.results:
        uses[id(r)] = uses.get(id(r), 0) + 1
    return uses


def rebuilt(fn: Function, body: list[Instr], replaced: dict[int, Value]) -> Function:
    """`fn` with a new body and its results looked up in `replaced`."""
    results = [replaced.get(id(r), r) for r in fn.results]
    return Function(fn.name, fn.params, body, results)


def rewrite_each(fn: Function, rule) -> Function:
    """`fn` with each instruction (its operands already rewritten) offered to
    `rule(instr, uses)`: None keeps it; a list replaces it, its last instruction standing
    for the value and the ones before it new definitions that one reads.  The users of a
    replaced instruction follow it.  `fn` itself when nothing changed; the caller drops
    what became dead (dce)."""
    uses = use_counts(fn)
    replaced: dict[int, Value] = {}
    body: list[Instr] = []
    for instr in fn.body:
        new = remap(instr, replaced)
        made = rule(new, uses)
        if made is not None:
            body.extend(made[:-1])
            new = made[-1]
        if new is not instr:
            replaced[id(instr)] = new
            uses[id(new)] = uses.get(id(instr), 0)
        body.append(new)
    return rebuilt(fn, body, replaced) if replaced else fn


def id_set(values: Iterable[Value]) -> set[int]:
    return {id(v) for v in values}


def same_function(a: Function, b: Function) -> bool:
    """Whether `b` is `a` unchanged: the same objects in the same places."""
    return a is b or (len(a.body) == len(b.body) and len(a.results) == len(b.results)
                      and all(x is y for x, y in zip(a.body, b.body))
                      and all(x is y for x, y in zip(a.results, b.results))
                      and all(x is y for x, y in zip(a.params, b.params)))


def in_regions(fn: Function, transform, keep: set[int] = frozenset()) -> Function:
    """`fn` with `transform` (a pass) applied to the regions of its instructions,
    except those of the instructions whose ids are in `keep` (the pass's `keep=`:
    left alone, regions included, so they stay the same objects).

    Regions are closed, so a pass inside one never sees, moves or merges anything
    outside it.  An instruction whose regions did not change stays the same object
    (and so do its users): the identity contract of every rewriting pass."""
    replaced: dict[int, Value] = {}
    body: list[Instr] = []
    for instr in fn.body:
        new = remap(instr, replaced)
        attrs = None
        for key, region in ([] if id(instr) in keep else regions(new)):
            after = transform(region)
            if not same_function(region, after):
                attrs = attrs or dict(new.attrs)
                attrs[key] = after
        if attrs is not None:
            new = Instr(new.prim, new.operands, attrs, new.type, new.loc)
        if new is not instr:
            replaced[id(instr)] = new
        body.append(new)
    return rebuilt(fn, body, replaced) if replaced else fn
