"""Scalar factors of a product's operand: `a @ (s * b)` becomes `s * (a @ b)` when b is the bigger.

    fn = scalar_factors(fn)

Differentiating through a sum scales by the cotangent: the Hessian-vector product's
second backward reads `x @ (ct * v)` with `ct` the loss's scalar cotangent and v the
size of a weight, so a loop over the whole weight (and a buffer of its size) runs
only to scale what gemm then reads.  A product is linear in each factor: the
scaling moves to the product's result, which is smaller (64x100 instead of
1000x100 there), and fuses into the loop that reads the product anyway (or, for a
constant, into the gemm epilogue's alpha).  `s` is a `full` constant or the
broadcast of a one-element value; only 2-d products, the scaled operand read
nowhere else (directly or through one transpose view).

Not bit-for-bit (the product's sums are scaled once instead of each term: the
class of change the gemm epilogue makes) and an overflowing `s * b` may read inf
where the original read NaN, so this runs in the code generator only, never
before differentiation.
"""
from __future__ import annotations

import math

from .. import primitives as P
from ..core import Function, Instr, Value
from ..dtypes import f16
from .dce import dce
from .rewrite import rewrite_each


def scalar_factors(fn: Function) -> Function:
    out = rewrite_each(fn, _factored)
    return fn if out is fn else dce(out)


def _factored(instr: Instr, uses: dict[int, int]) -> list[Instr] | None:
    """[new instructions..., the scaled product] for a 2-d matmul with a scaled operand
    bigger than its result (both operands, when both are), else None."""
    if instr.prim is not P.matmul or len(instr.shape) != 2 or not instr.dtype.is_float \
            or instr.dtype is f16 or any(len(o.shape) != 2 for o in instr.operands):
        return None  # float16 rounds each operand: the scaling stays where it was written
    operands, scalars, made = list(instr.operands), [], []
    for k, operand in enumerate(instr.operands):
        if operand.type.size <= instr.type.size:
            continue  # scaling the result would cost as much or more
        found = _scaled(operand, uses)
        if found is not None:
            scalar, operands[k], views = found
            scalars.append(scalar)
            made += views
    if not scalars:
        return None
    out = Instr(P.matmul, tuple(operands), {}, instr.type, instr.loc)
    made.append(out)
    for scalar in scalars:
        spread = _spread(scalar, instr)
        out = Instr(P.mul, (spread, out), {}, instr.type, instr.loc)
        made += [spread, out]
    return made


def _scaled(v: Value, uses: dict[int, int]):
    """(s, b, new instructions) when `v` is `s * b` (or its transpose), read only here."""
    if not isinstance(v, Instr) or uses.get(id(v), 0) != 1:
        return None
    if v.prim is P.transpose and tuple(v.attrs["perm"]) == (1, 0):
        inner = _scaled(v.operands[0], uses)
        if inner is None:
            return None
        scalar, b, made = inner
        view = Instr(P.transpose, (b,), {"perm": (1, 0)}, v.type, v.loc)
        return scalar, view, [*made, view]
    if v.prim is not P.mul:
        return None
    x, y = v.operands
    for s, b in ((x, y), (y, x)):
        if b.type == v.type and _is_scalar(s):
            return s, b, []
    return None


def _is_scalar(v: Value) -> bool:
    """A splat: a finite `full` constant, or the broadcast of a one-element value."""
    if not isinstance(v, Instr):
        return False
    if v.prim is P.full:
        return math.isfinite(float(v.attrs["value"]))
    if v.prim is P.broadcast:
        source = v.operands[0]
        return source.type.size == 1 and source.dtype is v.dtype and len(source.shape) <= 2
    return False


def _spread(scalar: Instr, product: Instr) -> Instr:
    """The same splat in the product's shape."""
    t = product.type
    if scalar.prim is P.full:
        return Instr(P.full, (), dict(scalar.attrs), t, scalar.loc)
    return Instr(P.broadcast, scalar.operands, {"shape": t.shape}, t, scalar.loc)
