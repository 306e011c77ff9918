"""Gemm epilogues: `c + k * (a @ b)` becomes one `matmul_add` (BLAS gemm, beta = 1).

    fn = gemm_epilogues(fn)

The SGD update of a gradient, `w - lr * (x.T @ g)`, otherwise costs a buffer
for the product, the gemm zeroing it, and a loop reading it back: as
`matmul_add(w, x.T, g, alpha=-lr)` the kernel writes `w` into the result and
gemm accumulates into it.  Forms recognised, with k a `full` constant of the
product's type and the product (and the scaling) used nowhere else:

    add(c, p) add(p, c) sub(c, p)          with p = a @ b or p = (a @ b) * k

Not bit-for-bit (gemm scales the sum of products instead of each rounded
product, the same class of change as contracting a*b+c into an FMA), so this
runs in the code generator only, never before differentiation.
"""
from __future__ import annotations

import math

from .. import primitives as P
from ..dtypes import f16
from ..core import Function, Instr, Value
from .dce import dce
from .rewrite import rewrite_each


def gemm_epilogues(fn: Function) -> Function:
    out = rewrite_each(fn, _fused)
    return fn if out is fn else dce(out)


def _fused(instr: Instr, uses: dict[int, int]) -> list[Instr] | None:
    fused = _epilogue(instr, uses)
    return None if fused is None else [fused]


def _epilogue(instr: Instr, uses: dict[int, int]) -> Instr | None:
    """matmul_add for `instr`, or None when it is not one of the forms above."""
    if instr.prim not in (P.add, P.sub) or not instr.dtype.is_float or instr.dtype is f16:
        return None  # float16 rounds the product before the sum: two operations stay two
    x, y = instr.operands
    sides = [(x, y, 1.0), (y, x, 1.0)] if instr.prim is P.add else [(x, y, -1.0)]
    for c, term, sign in sides:
        product = _scaled_product(term, uses)
        if product is not None and c.type == instr.type and c is not term:
            (a, b), scale = product
            if any(v is c for v in (a, b)):
                continue
            return Instr(P.matmul_add, (c, a, b), {"alpha": sign * scale}, instr.type, instr.loc)
    return None


def _scaled_product(v: Value, uses: dict[int, int]):
    """((a, b), k) when `v` is `a @ b` or `(a @ b) * k` read only here, else None."""
    if not isinstance(v, Instr) or uses.get(id(v), 0) != 1:
        return None
    if v.prim is P.matmul:
        return v.operands, 1.0
    if v.prim is not P.mul:
        return None
    for p, k in (v.operands, reversed(v.operands)):
        if isinstance(p, Instr) and p.prim is P.matmul and uses.get(id(p), 0) == 1 \
                and isinstance(k, Instr) and k.prim is P.full:
            value = float(k.attrs["value"])
            if math.isfinite(value):
                return p.operands, value
    return None
