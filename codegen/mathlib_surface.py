"""expm1 and the inverse trigonometric functions as branch-free polynomials; erf and
erfc through libm by name (linked with -lm, resolved by MCJIT in process).

    expm1  x = n ln2 + r (mathlib's Cody-Waite reduction), expm1(r) = r + r^2 P(r)
           with mathlib's fitted expm1 polynomial (the one tanh uses), then
           expm1(x) = 2^n q + (2^n - 1): the second term is exact for the n used,
           and the sum is one fused multiply-add.  Above EXPM1_AS_EXP (where
           expm1(x) rounds to exp(x)) it is exp(x); below -EXPM1_AS_EXP the
           argument is clamped there (the result rounds to -1).  -0.0 stays -0.0.

    atan   a = |x|; a > 1: t = 1/a (atan a = pi/2 - atan t); t > tan(pi/8): u = (t-1)/(t+1)
           (atan t = pi/4 + atan u), so |u| <= tan(pi/8) and atan u = u + u z Q(z), z = u^2,
           Q a minimax fit of our own (codegen/polyfit.py, ATAN_TAIL below: degree 5 /
           13).  The result is k pi/4 + s p: k in 0..4 and s = +-1 tracked by selects,
           pi/4 in two parts whose high part has 3 spare bits, so k * hi is exact.
    atan2  the same core on min(|x|,|y|) / max(|x|,|y|) (no overflow), then pi/2 - r when
           |y| > |x| and pi - r when x is negative (its sign bit: -0.0 too), the sign of y.
           Both zero: 0 (pi for x = -0.0); both infinite: pi/4 (3 pi/4): C's cases.
    asin, acos  atan2(x, sqrt((1-x)(1+x))) and atan2(sqrt((1-x)(1+x)), x): 1 - x is exact
           near 1 and no cancellation is left; NaN beyond [-1, 1] from the sqrt.

    erfinv  Winitzki's closed form, then three Newton steps on libm's erf / erfc (float32
           in float64): float64 precision.

    erf, erfc  float32 (and float16): in float64, erf_poly's erfc(a) = t exp(-a^2 + Q(u))
           and erf's series below |x| = 0.5, rounded once: the interpreter's formulas,
           branch-free, so the loop vectorises.  float64: libm (a scalar call; no
           float64 polynomial here beats its accuracy).

erfinv calls libm in its Newton steps, so its loop stays scalar: correct first.
"""
from __future__ import annotations

import math
from fractions import Fraction

from llvmlite import ir

from . import erf_poly
from . import mathlib as M

#: atan(u)/u - 1 = z Q(z) on z = u^2 in [0, tan(pi/8)^2 + 1e-4], low to high from z^1:
#: polyfit.fit_polynomial(ATAN_SPEC, degree, bits) (tests/codegen/test_mathlib_surface.py
#: refits and compares); max error 2^-30.5 (float32), 2^-56.5 (float64)
ATAN_TAIL = {
    32: (0.0, -0.33333316445350647, 0.1999853104352951, -0.1424446702003479,
         0.1059977188706398, -0.06091569364070892),
    64: (0.0, -0.3333333333333411, 0.20000000000214163, -0.14285714305861372,
         0.1111111203781344, -0.09090933221217916, 0.07692688030488844, -0.06670366163582024,
         0.0590394159000552, -0.053304267758862475, 0.048295956632045715,
         -0.042562036092275914, 0.04054619530437916, -0.03680472238237895),
}
ATAN_DEGREES = {32: 5, 64: 13}
ATAN_Z_MAX = 0.1716 + 1e-4
#: what to give polyfit.fit_polynomial for ATAN_TAIL (as a PolySpec's fields: taylor
#: coefficients, weight, interval, fixed coefficients); the offline fitter is not imported
ATAN_SPEC_FIELDS = (lambda k: Fraction((-1) ** k, 2 * k + 1) if k else Fraction(0),
                    lambda z: 1.0, 0.0, ATAN_Z_MAX, ((0, 0.0),))
_TAN_PI_8 = 0.41421356237309503


def _pio4_parts(bits: int) -> tuple[float, float]:
    """pi/4 = hi + lo, hi with 3 trailing zero bits (k * hi exact for k <= 4)."""
    mant = {32: 23, 64: 52}[bits]
    pio4 = M._pi(256) / 4
    quantum = Fraction(1, 2 ** (mant + 1 - 3))
    hi = round(pio4 / quantum) * quantum
    lo = float(pio4 - hi)
    if bits == 32:
        import struct
        lo = struct.unpack("f", struct.pack("f", lo))[0]
    return float(hi), lo


_PIO4 = {32: _pio4_parts(32), 64: _pio4_parts(64)}

#: |x| where expm1 rounds to exp (x > 0) or to -1 (x < 0), with room: 1/e^x < 2^-(p+2)
EXPM1_AS_EXP = {32: 20.0, 64: 40.0}

FUNCTIONS = ("expm1", "erf", "erfc", "erfinv", "atan", "asin", "acos")
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


def _erf_wide(mb: M.MathBuilder, x: ir.Value, complement: bool) -> ir.Value:
    """erf (or erfc) of float32 x in float64, rounded once: erf_poly's erfc form and
    erf's series below 0.5, the interpreter's formulas, branch-free (so it vectorises)."""
    b = mb.b
    wide = ir.DoubleType() if isinstance(x.type, ir.FloatType) else \
        ir.VectorType(ir.DoubleType(), x.type.count)
    v = b.fpext(x, wide)
    a = mb.fabs(v)
    t = b.fdiv(mb.c(v, 2.0), b.fadd(mb.c(v, 2.0), a))
    u = mb.sub(mb.mul(b.fsub(t, mb.c(v, erf_poly.T_LOW)), mb.c(v, 2 / (1 - erf_poly.T_LOW))),
               mb.c(v, 1.0))
    far = b.fmul(t, mb.exp(b.fsub(mb.horner(u, erf_poly.ERFC_Q), b.fmul(a, a))))  # erfc(a)
    near = b.fmul(v, mb.horner(b.fmul(v, v), erf_poly.ERF_SERIES))  # erf(v), |v| < 0.5
    small = b.fcmp_ordered("<", a, mb.c(v, 0.5))
    one = mb.c(v, 1.0)
    if complement:
        negative = b.fcmp_ordered("<", v, mb.c(v, 0.0))
        out = mb.where(small, b.fsub(one, near),
                       mb.where(negative, b.fsub(mb.c(v, 2.0), far), far))
    else:
        out = mb.where(small, near, mb.copysign(b.fsub(one, far), v))
    return b.fptrunc(out, x.type)


def _is_double(x: ir.Value) -> bool:
    ty = x.type.element if isinstance(x.type, ir.VectorType) else x.type
    return isinstance(ty, ir.DoubleType)


def erf(mb, x):
    """float32: the vectorisable float64 form; float64: libm's erf."""
    return libm(mb, "erf", x) if _is_double(x) else _erf_wide(mb, x, complement=False)


def erfc(mb, x):
    return libm(mb, "erfc", x) if _is_double(x) else _erf_wide(mb, x, complement=True)


#: Winitzki's constant: erfinv(y)^2 ~ sqrt(s^2 - w/A) - s, s = 2/(pi A) + w/2, w = log(1-y^2)
_WINITZKI = 0.147


def erfinv(mb: M.MathBuilder, y: ir.Value) -> ir.Value:
    """Winitzki's start (relative error 2e-3), then three Newton steps on libm's erf (on
    log erfc above |y| = 0.5, where 1 - |y| is exact): float64 precision; float32 in
    float64, rounded once.  +-1 give +-inf, NaN outside [-1, 1]."""
    b = mb.b
    narrow = isinstance(y.type, ir.FloatType)
    v = b.fpext(y, ir.DoubleType()) if narrow else y
    a = mb.fabs(v)
    one = mb.c(v, 1.0)
    w = mb.log(b.fmul(b.fsub(one, a), b.fadd(one, a)))
    s = b.fadd(mb.c(v, 2 / (math.pi * _WINITZKI)), b.fmul(w, mb.c(v, 0.5)))
    inner = b.fsub(b.fmul(s, s), b.fdiv(w, mb.c(v, _WINITZKI)))
    x = mb._intrinsic("llvm.sqrt", b.fsub(mb._intrinsic("llvm.sqrt", inner), s))
    rest = b.fsub(one, a)
    tail = b.fcmp_ordered(">", a, mb.c(v, 0.5))
    for _ in range(3):
        slope = b.fmul(mb.c(v, 1.1283791670955126), mb.exp(b.fneg(b.fmul(x, x))))
        c = libm(mb, "erfc", x)
        # the tail's step is Newton's on log erfc(x) = log(1 - a) (no overshoot)
        tail_step = b.fdiv(b.fmul(mb.log(b.fdiv(c, rest)), c), slope)
        body_step = b.fdiv(b.fsub(a, libm(mb, "erf", x)), slope)
        x = b.fadd(x, mb.where(tail, tail_step, body_step))
    x = mb.where(b.fcmp_ordered("==", a, one), mb.c(v, float("inf")), x)
    x = mb.where(b.fcmp_unordered(">", a, one), mb.c(v, float("nan")), x)  # NaN too
    x = mb.where(b.fcmp_ordered("==", a, mb.c(v, 0.0)), mb.c(v, 0.0), x)
    out = mb.copysign(x, v)
    return b.fptrunc(out, y.type) if narrow else out


def _atan_unit(mb: M.MathBuilder, t: ir.Value):
    """atan(t) for t in [0, 1] (or NaN) as (k, p): k pi/4 + p."""
    b = mb.b
    bits = M._fmt(t.type).bits
    upper = b.fcmp_ordered(">", t, mb.c(t, _TAN_PI_8))
    one = mb.c(t, 1.0)
    u = mb.where(upper, b.fdiv(b.fsub(t, one), b.fadd(t, one)), t)
    z = b.fmul(u, u)
    p = mb.add(mb.mul(b.fmul(u, z), mb.horner(z, ATAN_TAIL[bits][1:])), u)
    return mb.where(upper, one, mb.c(t, 0.0)), p


def _combine(mb: M.MathBuilder, k: ir.Value, s: ir.Value, p: ir.Value) -> ir.Value:
    """k pi/4 + s p, pi/4 in two parts (k * hi is exact)."""
    hi, lo = _PIO4[M._fmt(p.type).bits]
    tail = mb.add(mb.mul(k, mb.c(p, lo)), mb.mul(s, p))
    return mb.add(mb.mul(k, mb.c(p, hi)), tail)


def atan(mb, x):
    b = mb.b
    a = mb.fabs(x)
    big = b.fcmp_ordered(">", a, mb.c(x, 1.0))
    k, p = _atan_unit(mb, mb.where(big, b.fdiv(mb.c(x, 1.0), a), a))
    # a > 1: pi/2 - (k pi/4 + p) = (2 - k) pi/4 - p
    k = mb.where(big, b.fsub(mb.c(x, 2.0), k), k)
    s = mb.where(big, mb.c(x, -1.0), mb.c(x, 1.0))
    return mb.copysign(_combine(mb, k, s, p), x)


def _sign_bit(mb: M.MathBuilder, x: ir.Value) -> ir.Value:
    b = mb.b
    return b.icmp_signed("<", b.bitcast(x, mb.int_type(x.type)), mb.ci(x, 0))


def atan2(mb, y, x):
    b = mb.b
    ay, ax = mb.fabs(y), mb.fabs(x)
    steep = b.fcmp_ordered(">", ay, ax)
    num, den = mb.where(steep, ax, ay), mb.where(steep, ay, ax)
    ratio = b.fdiv(num, den)
    inf = mb.c(x, float("inf"))
    both_inf = b.and_(b.fcmp_ordered("==", ax, inf), b.fcmp_ordered("==", ay, inf))
    ratio = mb.where(both_inf, mb.c(x, 1.0), ratio)
    ratio = mb.where(b.fcmp_ordered("==", den, mb.c(x, 0.0)), mb.c(x, 0.0), ratio)  # 0/0
    k, p = _atan_unit(mb, ratio)
    s = mb.c(x, 1.0)
    # |y| > |x|: pi/2 - r, r = k pi/4 + p
    k = mb.where(steep, b.fsub(mb.c(x, 2.0), k), k)
    s = mb.where(steep, mb.c(x, -1.0), s)
    # x negative (-0.0 too): pi - r
    left = _sign_bit(mb, x)
    k = mb.where(left, b.fsub(mb.c(x, 4.0), k), k)
    s = mb.where(left, b.fneg(s), s)
    r = mb.copysign(_combine(mb, k, s, p), y)
    return mb.where(b.fcmp_unordered("uno", x, y), b.fadd(x, y), r)


def _cosine_side(mb: M.MathBuilder, x: ir.Value) -> ir.Value:
    """sqrt((1 - x)(1 + x)): sqrt(1 - x^2) without cancellation; NaN outside [-1, 1]."""
    b, one = mb.b, mb.c(x, 1.0)
    return mb._intrinsic("llvm.sqrt", b.fmul(b.fsub(one, x), b.fadd(one, x)))


def asin(mb, x):
    return atan2(mb, x, _cosine_side(mb, x))


def acos(mb, x):
    return atan2(mb, _cosine_side(mb, x), x)
