"""expm1 as a branch-free polynomial; erf, erfc and the inverse trigonometric
functions through libm by name (linked with -lm, resolved by MCJIT in process).

    expm1  x = n ln2 + r (mathlib's Cody-Waite reduction), expm1(r) = r + r^2 P(r)
           with mathlib's fitted expm1 polynomial (the one tanh uses), then
           expm1(x) = 2^n q + (2^n - 1): the second term is exact for the n used,
           and the sum is one fused multiply-add.  Above EXPM1_AS_EXP (where
           expm1(x) rounds to exp(x)) it is exp(x); below -EXPM1_AS_EXP the
           argument is clamped there (the result rounds to -1).  -0.0 stays -0.0.

The libm functions do not vectorise (a loop calling them stays scalar): correct
first, a polynomial for them is left for later (docs/torch-coverage.md says so).
"""
from __future__ import annotations

from llvmlite import ir

from . import mathlib as M

#: |x| where expm1 rounds to exp (x > 0) or to -1 (x < 0), with room: 1/e^x < 2^-(p+2)
EXPM1_AS_EXP = {32: 20.0, 64: 40.0}

FUNCTIONS = ("expm1", "erf", "erfc", "atan", "asin", "acos")
BINARY_FUNCTIONS = ("atan2",)


def libm(mb: M.MathBuilder, name: str, *args: ir.Value) -> ir.Value:
    """A call of C's `name` (`namef` for float) on scalars."""
    ty = args[0].type
    cname = name + ("f" if isinstance(ty, ir.FloatType) else "")
    module = mb.b.module
    fn = module.globals.get(cname)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ty, [ty] * len(args)), cname)
    return mb.b.call(fn, list(args))


def expm1(mb: M.MathBuilder, x: ir.Value) -> ir.Value:
    f = M._fmt(x.type)
    b = mb.b
    limit = EXPM1_AS_EXP[f.bits]
    xc = mb.clamp_below(mb.clamp_above(x, limit), -limit)
    r, n = mb._reduce_ln2(xc)
    q = mb.add(mb.mul(b.fmul(r, r), mb.horner(r, M._POLY["expm1", f.bits][2:])), r)
    s = mb._scale(x, n)
    v = mb.add(mb.mul(s, q), b.fsub(s, mb.c(x, 1.0)))
    v = mb.where(b.fcmp_ordered(">", x, mb.c(x, limit)), mb.exp(x), v)
    return mb.where(b.fcmp_ordered("==", x, mb.c(x, 0.0)), x, v)


def erf(mb, x):
    return libm(mb, "erf", x)


def erfc(mb, x):
    return libm(mb, "erfc", x)


def atan(mb, x):
    return libm(mb, "atan", x)


def asin(mb, x):
    return libm(mb, "asin", x)


def acos(mb, x):
    return libm(mb, "acos", x)


def atan2(mb, y, x):
    return libm(mb, "atan2", y, x)
