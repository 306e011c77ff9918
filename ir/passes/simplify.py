"""Exact algebraic simplification.

Every rewrite here gives bit-for-bit the same values, NaN, infinities and the
sign of zero included.  That rules out some tempting ones: `x * 0` is not 0
(NaN, inf), and `x + 0.0` is not `x` (for x = -0.0 it gives +0.0); only
`x + (-0.0)` and `x - 0` are.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

from .. import primitives as P
from ..builder import coerce_scalar
from ..core import Function, Instr, TensorType, Value
from ..primitives import Primitive
from .rewrite import id_set, rebuilt, remap, in_regions
from .dce import dce
from ..primitives import OpGroup

#: prim -> rewrite(instr) returning a simpler equivalent value, or None.
REWRITES: dict[Primitive, Callable[[Instr], Value | None]] = {}


def simplify(fn: Function, *, keep: Iterable[Instr] = ()) -> Function:
    """One forward sweep of the rewrites below.

    Instructions that neither change nor have changed operands stay the same
    objects; instructions in `keep` are left alone (it must be closed under
    operands).  The sweep follows body order, so chains (`reshape` of
    `reshape` of `reshape`) collapse in one pass.  Replaced instructions
    are left in the body for `dce` to remove.
    """
    kept = id_set(keep)
    replaced: dict[int, Value] = {}
    defined = id_set(fn.params)
    body: list[Instr] = []
    for instr in fn.body:
        new = instr if id(instr) in kept else _simplest(remap(instr, replaced))
        if isinstance(new, Instr) and id(new) not in defined:
            body.append(new)
            defined.add(id(new))
        if new is not instr:
            replaced[id(instr)] = new
    out = rebuilt(fn, body, replaced)
    if any(i.prim.group is OpGroup.REGION for i in body):  # simplify inside each region
        out = in_regions(out, lambda r: dce(simplify(r)), kept)
    return out


def _simplest(instr: Instr) -> Value:
    rewrite = REWRITES.get(instr.prim)
    better = rewrite(instr) if rewrite else None
    return instr if better is None else better


def rewrites(*prims: Primitive):
    def register(fn):
        for prim in prims:
            REWRITES[prim] = fn
        return fn
    return register


# ---------------------------------------------------------------- helpers

def fill_value(v: Value):
    """The number a `full` instruction holds, or None for any other value."""
    if isinstance(v, Instr) and v.prim is P.full:
        return v.attrs["value"]
    return None


def _is(v: Value, number) -> bool:
    """`v` is a `full` of exactly `number` (the sign of zero counts)."""
    x = fill_value(v)
    if x is None or x != number:
        return False
    return not isinstance(x, float) or math.copysign(1, x) == math.copysign(1, number)


def _full(like: Instr, type: TensorType, value) -> Instr:
    return Instr(P.full, (), {"value": coerce_scalar(value, type.dtype)}, type, like.loc)


def _same(instr: Instr, prim: Primitive, operand: Value, **attrs) -> Value:
    """`prim(operand)` in place of `instr` (same type and location), simplified again."""
    return _simplest(Instr(prim, (operand,), attrs, instr.type, instr.loc))


# ---------------------------------------------------------------- arithmetic

@rewrites(P.neg)
def _neg(instr):
    (x,) = instr.operands
    if isinstance(x, Instr) and x.prim is P.neg:
        return x.operands[0]
    if fill_value(x) is not None:
        return _full(instr, instr.type, -fill_value(x))
    return None


@rewrites(P.mul)
def _mul(instr):
    x, y = instr.operands
    if _is(y, 1):
        return x
    if _is(x, 1):
        return y
    if not instr.dtype.is_float and (_is(x, 0) or _is(y, 0)):
        return _full(instr, instr.type, 0)  # exact for integers only
    return None


@rewrites(P.div)
def _div(instr):
    x, y = instr.operands
    return x if _is(y, 1) else None


@rewrites(P.pow)
def _pow(instr):
    """x ** 1 is x and x ** 0 is 1 for every x, NaN and infinities included (IEEE pow;
    the gradient of a square, 2 * x ** 1, meets the first)."""
    x, y = instr.operands
    if _is(y, 1):
        return x
    if _is(y, 0) or _is(y, -0.0):
        return _full(instr, instr.type, 1)
    return None


@rewrites(P.add)
def _add(instr):
    x, y = instr.operands
    zero = -0.0 if instr.dtype.is_float else 0
    if _is(y, zero):
        return x
    if _is(x, zero):
        return y
    return None


@rewrites(P.sub)
def _sub(instr):
    x, y = instr.operands
    return x if _is(y, 0.0 if instr.dtype.is_float else 0) else None


# ---------------------------------------------------------------- structural

@rewrites(P.broadcast, P.reshape)
def _reshaping(instr):
    """Same type: nothing to do; of a full: a bigger full; of itself: one step."""
    (x,) = instr.operands
    if x.type == instr.type:
        return x
    if fill_value(x) is not None:
        return _full(instr, instr.type, fill_value(x))
    if isinstance(x, Instr) and x.prim is instr.prim:
        return _same(instr, instr.prim, x.operands[0], shape=instr.attrs["shape"])
    return None


@rewrites(P.transpose)
def _transpose(instr):
    (x,) = instr.operands
    perm = tuple(instr.attrs["perm"])
    if perm == tuple(range(len(perm))):
        return x
    if fill_value(x) is not None:
        return _full(instr, instr.type, fill_value(x))
    if isinstance(x, Instr) and x.prim is P.transpose:
        inner = tuple(x.attrs["perm"])
        composed = tuple(inner[p] for p in perm)
        return _same(instr, P.transpose, x.operands[0], perm=composed)
    return None


@rewrites(P.convert)
def _convert(instr):
    (x,) = instr.operands
    return x if x.type == instr.type else None
