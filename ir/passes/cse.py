"""Common subexpression elimination by hash-consing."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..core import Function, Instr, Value
from ..primitives import OpGroup
from .rewrite import id_set, in_regions, rebuilt, remap


def cse(fn: Function, *, keep: Iterable[Instr] = ()) -> Function:
    """Merge instructions with the same primitive, operands, attributes and type.

    The first of each group survives and later ones are replaced by it; an
    instruction whose operands did not change stays the same object.
    Instructions in `keep` are never replaced (they may still absorb later
    duplicates); `keep` must be closed under operands.
    """
    kept = id_set(keep)
    first_of: dict[tuple, Instr] = {}
    replaced: dict[int, Value] = {}
    body: list[Instr] = []
    for instr in fn.body:
        new = instr if id(instr) in kept else remap(instr, replaced)
        key = _key(new)
        earlier = first_of.get(key)
        if earlier is not None and id(instr) not in kept:
            replaced[id(instr)] = earlier
            continue
        first_of.setdefault(key, new)
        if new is not instr:
            replaced[id(instr)] = new
        body.append(new)
    out = rebuilt(fn, body, replaced)
    if any(i.prim.group is OpGroup.REGION for i in body):  # merge inside each region too
        out = in_regions(out, cse, kept)
    return out


def _key(instr: Instr) -> tuple:
    """What makes two instructions interchangeable.

    The type is part of it (sources like `full` carry their type outside the
    attributes), and floats are told apart by their bits: `full 0.0` and
    `full -0.0` compare equal in Python but are different values.
    """
    attrs = _exact(instr.attr_key())
    return instr.prim, tuple(id(op) for op in instr.operands), attrs, instr.type


def _exact(v):
    if isinstance(v, tuple):
        return tuple(_exact(x) for x in v)
    if isinstance(v, (float, np.floating)):
        return ("float", float(v).hex())
    if isinstance(v, (bool, np.bool_)):
        return ("bool", bool(v))
    return v
