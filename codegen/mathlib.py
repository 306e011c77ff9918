"""Branch-free polynomial exp, expm1, log, log1p, tanh, logistic, sin and cos in LLVM IR.

libm does not vectorise (LLVM turns `llvm.exp.v16f32` into sixteen `expf`
calls), so these are written with plain arithmetic, integer bit tricks and
selects only: the same code works on scalars and on `<N x float>` vectors, and
a loop that calls them vectorises.  Special values (NaN, +-inf, signed zeros,
denormal inputs and results) are handled by selects, never by branches.

Each function is the classic recipe, with our own (Taylor) coefficients:

    exp    x = n ln2 + r, |r| <= ln2/2; exp(r) by Horner; times 2^n as two
           halves, so results in the denormal range round once and overflow
           gives inf.  n comes from the "shifter" trick (x/ln2 + 1.5*2^p), a
           bitcast instead of fptosi, which would be poison for NaN.
    log    x = 2^e m, m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1),
           an odd series in s (|s| < 0.172).  Denormals are scaled up first.
    tanh   copysign(e / (e + 2), x) with e = expm1(2|x|), clamped where tanh
           rounds to 1.
    logistic  1 / (1 + exp(-|x|)), mirrored for x < 0: exp never overflows.
    log1p  log(u) + (x - (u - 1)) / u with u = 1 + x (the rounding of u corrected).
    sin, cos  in float64 (float32 is widened, computed, rounded once).  x = j pi/2 + r,
           |r| <= pi/4: j by the shifter trick, r = x - j (P1 + P2 + P3) with pi/2 in
           three doubles (159 bits): x - j P1 is exact (one FMA), the rest in double-
           double arithmetic, so r keeps full precision even when x is within 2^-60 of
           a multiple of pi/2.  Taylor polynomials for sin r and cos r, corrected for
           r's low part; j mod 4 picks sin/cos and the sign.  Valid for |x| <= 2^30
           (SINCOS_BIG).  Beyond it (and for +-inf: NaN) the answer comes from libm.
           A call in a vector loop would spill every vector register, so
           `sincos_fast` returns the polynomial and a "big" flag instead: the code
           generator ORs the flags over its loop and, only when one is set, runs the
           loop again with `sin`/`cos`, which select libm's value for big lanes
           (glibc's libmvec also falls back to scalar code for large arguments).

Tests (tests/test_codegen_math.py) bound the error against numpy in float32
and float64 over wide ranges, the extremes, NaN, infinities and denormals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from llvmlite import ir

#: sin/cos: above this |x| the answer comes from libm (see the module docstring).
SINCOS_BIG = 2.0 ** 30

#: Let LLVM fuse a*b+c into an FMA (one rounding fewer); never reassociate.
CONTRACT = ("contract",)


@dataclass(frozen=True)
class _Float:
    """What the bit tricks need to know about one float format."""

    bits: int         # width of the matching integer
    mant: int         # explicit mantissa bits
    bias: int         # exponent bias
    ln2_hi: float     # ln 2 with trailing zeros, so n * ln2_hi is exact
    ln2_lo: float     # ln 2 - ln2_hi
    exp_hi: float     # exp(x) is inf above this
    exp_lo: float     # exp(x) rounds to 0 below this
    tanh_one: float   # tanh(x) rounds to 1 above this
    exp_terms: int    # degree of the exp(r) Taylor polynomial
    log_terms: int    # number of odd terms of 2 atanh(s)


F32 = _Float(32, 23, 127, 0.693145751953125, 1.428606765330187e-06,
             88.8, -104.0, 9.5, 7, 5)
F64 = _Float(64, 52, 1023, 6.93147180369123816490e-01, 1.90821492927058770002e-10,
             710.0, -746.0, 20.0, 13, 11)


def _fmt(ty: ir.Type) -> _Float:
    elem = ty.element if isinstance(ty, ir.VectorType) else ty
    return F32 if isinstance(elem, ir.FloatType) else F64


class MathBuilder:
    """Emits the functions above with an llvmlite IRBuilder, for scalars or vectors."""

    def __init__(self, b: ir.IRBuilder):
        self.b = b

    # ------------------------------------------------------------ helpers

    def c(self, like: ir.Value, value) -> ir.Constant:
        """A float constant of `like`'s type (splat for vectors)."""
        return _const(like.type, float(value))

    def ci(self, like: ir.Value, value: int) -> ir.Constant:
        """An integer constant of the integer type matching `like` (a float)."""
        return _const(self.int_type(like.type), int(value))

    def int_type(self, ty: ir.Type) -> ir.Type:
        it = ir.IntType(_fmt(ty).bits)
        return ir.VectorType(it, ty.count) if isinstance(ty, ir.VectorType) else it

    def bool_type(self, ty: ir.Type) -> ir.Type:
        return ir.VectorType(ir.IntType(1), ty.count) if isinstance(ty, ir.VectorType) \
            else ir.IntType(1)

    def add(self, x, y):
        return self.b.fadd(x, y, flags=CONTRACT)

    def sub(self, x, y):
        return self.b.fsub(x, y, flags=CONTRACT)

    def mul(self, x, y):
        return self.b.fmul(x, y, flags=CONTRACT)

    def horner(self, x, coeffs) -> ir.Value:
        """coeffs[0] + x*(coeffs[1] + x*(...))."""
        acc = self.c(x, coeffs[-1])
        for a in reversed(coeffs[:-1]):
            acc = self.add(self.mul(acc, x), self.c(x, a))
        return acc

    def where(self, cond, x, y):
        return self.b.select(cond, x, y)

    def clamp_above(self, x, hi: float):
        """min(x, hi), NaN kept (an ordered compare is false for NaN)."""
        return self.where(self.b.fcmp_ordered(">", x, self.c(x, hi)), self.c(x, hi), x)

    def clamp_below(self, x, lo: float):
        return self.where(self.b.fcmp_ordered("<", x, self.c(x, lo)), self.c(x, lo), x)

    def fabs(self, x):
        return self._intrinsic("llvm.fabs", x)

    def copysign(self, x, sign):
        return self._intrinsic("llvm.copysign", x, sign)

    def fma(self, x, y, z):
        """x*y + z rounded once (the exact-product tricks below need a real FMA)."""
        return self._intrinsic("llvm.fma", x, y, z)

    def two_sum(self, a, b):
        """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth; no flags:
        contraction or reassociation would break it)."""
        bb = self.b
        s = bb.fadd(a, b)
        v = bb.fsub(s, a)
        e = bb.fadd(bb.fsub(a, bb.fsub(s, v)), bb.fsub(b, v))
        return s, e

    def _intrinsic(self, name, *args):
        ty = args[0].type
        fn = self.b.module.declare_intrinsic(f"{name}.{_suffix(ty)}", (),
                                             ir.FunctionType(ty, [ty] * len(args)))
        return self.b.call(fn, list(args))

    def _scale(self, like, n_int) -> ir.Value:
        """2**n as a float of `like`'s type, n an integer in the normal exponent range."""
        f = _fmt(like.type)
        biased = self.b.add(n_int, self.ci(like, f.bias))
        return self.b.bitcast(self.b.shl(biased, self.ci(like, f.mant)), like.type)

    def _round_to_int(self, y):
        """(round(y) as float, as integer): the shifter trick, exact for |y| < 2^(mant-1)."""
        f = _fmt(y.type)
        shifter = self.c(y, 1.5 * 2.0 ** f.mant)
        t = self.b.fadd(y, shifter)
        n = self.b.fsub(t, shifter)
        bits = self.b.sub(self.b.bitcast(t, self.int_type(y.type)),
                          self.b.bitcast(shifter, self.int_type(y.type)))
        return n, bits

    def _reduce_ln2(self, x):
        """x = n ln2 + r with |r| <= ln2/2 (Cody-Waite); returns (r, n as integer)."""
        f = _fmt(x.type)
        n, ni = self._round_to_int(self.b.fmul(x, self.c(x, 1 / math.log(2))))
        r = self.sub(x, self.mul(n, self.c(x, f.ln2_hi)))
        r = self.sub(r, self.mul(n, self.c(x, f.ln2_lo)))
        return r, ni

    # ------------------------------------------------------------ functions

    def exp(self, x) -> ir.Value:
        f = _fmt(x.type)
        x = self.clamp_below(self.clamp_above(x, f.exp_hi), f.exp_lo)
        r, n = self._reduce_ln2(x)
        p = self.horner(r, _INV_FACTORIALS[:f.exp_terms + 1])
        half = self.b.ashr(n, self.ci(x, 1))
        return self.b.fmul(self.b.fmul(p, self._scale(x, half)),
                           self._scale(x, self.b.sub(n, half)))

    def expm1_nonneg(self, y) -> ir.Value:
        """expm1(y) for 0 <= y with 2**(y/ln2) a normal number (callers clamp)."""
        f = _fmt(y.type)
        r, n = self._reduce_ln2(y)
        q = self.mul(r, self.horner(r, _INV_FACTORIALS[1:f.exp_terms + 2]))  # expm1(r)
        s = self._scale(y, n)
        return self.add(self.mul(s, q), self.b.fsub(s, self.c(y, 1.0)))

    def log(self, x) -> ir.Value:
        f = _fmt(x.type)
        b = self.b
        tiny = b.fcmp_ordered("<", x, self.c(x, 2.0 ** (1 - f.bias)))  # denormal (or <= 0)
        xs = self.where(tiny, b.fmul(x, self.c(x, 2.0 ** f.mant)), x)
        sqrt_half = self.b.bitcast(self.c(x, math.sqrt(0.5)), self.int_type(x.type))
        ix = b.sub(b.bitcast(xs, self.int_type(x.type)), sqrt_half)
        e = b.ashr(ix, self.ci(x, f.mant))
        m_bits = b.add(b.and_(ix, self.ci(x, (1 << f.mant) - 1)), sqrt_half)
        m = b.bitcast(m_bits, x.type)  # in [sqrt(1/2), sqrt(2))
        e = b.sitofp(e, x.type)
        e = self.where(tiny, b.fsub(e, self.c(x, f.mant)), e)
        g = b.fsub(m, self.c(x, 1.0))
        s = b.fdiv(g, b.fadd(g, self.c(x, 2.0)))
        z = b.fmul(s, s)
        tail = self.mul(z, self.horner(z, _ATANH2[1:f.log_terms]))  # 2s/3 s^2 + ... over s
        # log(1+g) = g - (g^2/2 - s (g^2/2 + tail)): g is exact, the rest small (fdlibm).
        hgg = b.fmul(self.c(x, 0.5), b.fmul(g, g))
        small = self.add(self.mul(s, b.fadd(hgg, tail)), self.mul(e, self.c(x, f.ln2_lo)))
        r = self.add(self.mul(e, self.c(x, f.ln2_hi)), b.fadd(g, b.fsub(small, hgg)))
        r = self.where(b.fcmp_ordered("==", x, self.c(x, math.inf)), x, r)
        r = self.where(b.fcmp_ordered("==", x, self.c(x, 0.0)), self.c(x, -math.inf), r)
        return self.where(b.fcmp_unordered("<", x, self.c(x, 0.0)), self.c(x, math.nan), r)

    def log1p(self, x) -> ir.Value:
        b = self.b
        u = b.fadd(x, self.c(x, 1.0))
        fix = b.fdiv(b.fsub(x, b.fsub(u, self.c(x, 1.0))), u)
        r = b.fadd(self.log(u), fix)
        # u = 1: x itself (keeps -0.0); u = 0: -inf; u = inf: inf (the correction is NaN).
        r = self.where(b.fcmp_ordered("==", u, self.c(x, 1.0)), x, r)
        r = self.where(b.fcmp_ordered("==", u, self.c(x, 0.0)), self.c(x, -math.inf), r)
        return self.where(b.fcmp_ordered("==", x, self.c(x, math.inf)), x, r)

    def tanh(self, x) -> ir.Value:
        f = _fmt(x.type)
        ax = self.clamp_above(self.fabs(x), f.tanh_one)
        e = self.expm1_nonneg(self.b.fadd(ax, ax))
        t = self.b.fdiv(e, self.b.fadd(e, self.c(x, 2.0)))
        return self.copysign(t, x)

    def logistic(self, x) -> ir.Value:
        b = self.b
        e = self.exp(b.fneg(self.fabs(x)))
        r = b.fdiv(self.c(x, 1.0), b.fadd(self.c(x, 1.0), e))
        return self.where(b.fcmp_ordered(">=", x, self.c(x, 0.0)), r, b.fmul(e, r))

    # ------------------------------------------------------------ sin, cos

    def sin(self, x) -> ir.Value:
        """sin(x) everywhere: the polynomial, or libm where |x| > SINCOS_BIG."""
        return self._sincos_exact(x, 0)

    def cos(self, x) -> ir.Value:
        return self._sincos_exact(x, 1)

    def sincos_fast(self, x, shift: int) -> tuple[ir.Value, ir.Value]:
        """(sin(x) if shift == 0 else cos(x), big): the value is right wherever `big`
        (|x| > SINCOS_BIG, inf included) is false.  No call: the loop vectorises."""
        b = self.b
        if _fmt(x.type) is F32:
            wide = _with_element(x.type, ir.DoubleType())
            v, big = self.sincos_fast(b.fpext(x, wide), shift)
            return b.fptrunc(v, x.type), big
        big = b.fcmp_ordered(">", self.fabs(x), self.c(x, SINCOS_BIG))
        return self._sincos_reduced(x, shift), big

    def _sincos_exact(self, x, shift: int) -> ir.Value:
        b = self.b
        if _fmt(x.type) is F32:
            wide = _with_element(x.type, ir.DoubleType())
            return b.fptrunc(self._sincos_exact(b.fpext(x, wide), shift), x.type)
        v, big = self.sincos_fast(x, shift)
        return self.where(big, self._intrinsic(("llvm.sin", "llvm.cos")[shift], x), v)

    def _sincos_reduced(self, x, shift: int) -> ir.Value:
        b = self.b
        j, ji = self._round_to_int(b.fmul(x, self.c(x, 2 / math.pi)))
        nj = b.fneg(j)
        t1 = self.fma(nj, self.c(x, _PIO2[0]), x)  # exact: a multiple of 2^-53 below 2
        h2 = b.fmul(j, self.c(x, _PIO2[1]))
        l2 = self.fma(j, self.c(x, _PIO2[1]), b.fneg(h2))  # j P2 = h2 + l2 exactly
        s, e = self.two_sum(t1, b.fneg(h2))
        lo = b.fsub(b.fsub(e, l2), b.fmul(j, self.c(x, _PIO2[2])))
        rh, rl = self.two_sum(s, lo)  # r = rh + rl, |rh| <= pi/4 (a hair more)
        z = b.fmul(rh, rh)
        # sin(rh + rl) = sin rh + rl cos rh;  cos(rh + rl) = cos rh - rl sin rh (to 2^-106)
        sin_tail = self.mul(self.mul(rh, z), self.horner(z, _SIN_TAYLOR))
        sin_r = b.fadd(rh, b.fadd(sin_tail, b.fmul(rl, b.fsub(self.c(x, 1.0),
                                                           b.fmul(z, self.c(x, 0.5))))))
        hz = b.fmul(z, self.c(x, 0.5))
        w = b.fsub(self.c(x, 1.0), hz)
        cos_tail = b.fsub(self.mul(b.fmul(z, z), self.horner(z, _COS_TAYLOR)), b.fmul(rh, rl))
        cos_r = b.fadd(w, b.fadd(b.fsub(b.fsub(self.c(x, 1.0), w), hz), cos_tail))
        k = b.add(ji, self.ci(x, shift))
        odd = b.trunc(k, self.bool_type(x.type))
        neg = b.icmp_unsigned("!=", b.and_(k, self.ci(x, 2)), self.ci(x, 0))
        v = self.where(odd, cos_r, sin_r)
        v = self.where(neg, b.fneg(v), v)
        # Tiny x (signed zeros, denormals): sin x rounds to x, cos x to 1.
        tiny = b.fcmp_ordered("<", self.fabs(x), self.c(x, 2.0 ** -27))
        return self.where(tiny, x if shift == 0 else self.c(x, 1.0), v)


def _suffix(ty: ir.Type) -> str:
    """The overload suffix of an intrinsic for `ty`: f64, v8f64, v16i1 (llvmlite knows
    scalars only)."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{_suffix(ty.element)}"
    return ty.intrinsic_name


def _with_element(ty: ir.Type, elem: ir.Type) -> ir.Type:
    return ir.VectorType(elem, ty.count) if isinstance(ty, ir.VectorType) else elem


def _const(ty: ir.Type, value) -> ir.Constant:
    if isinstance(ty, ir.VectorType):
        return ir.Constant(ty, [ir.Constant(ty.element, value)] * ty.count)
    return ir.Constant(ty, value)


#: 1/k!, k = 0.. (exact fractions, rounded once to float).
_INV_FACTORIALS = [float(Fraction(1, math.factorial(k))) for k in range(20)]
#: 2/(2k+1): log m = s * sum(_ATANH2[k] * s^(2k)).
_ATANH2 = [float(Fraction(2, 2 * k + 1)) for k in range(20)]



def _pi(bits: int) -> Fraction:
    """pi to `bits` bits (Machin's formula in integers)."""
    one = 1 << (bits + 16)

    def atan_inv(n: int) -> int:  # atan(1/n) * one
        total, term, k, sign = 0, one // n, 1, 1
        while term:
            total += sign * (term // k)
            term //= n * n
            k, sign = k + 2, -sign
        return total

    return Fraction(4 * (4 * atan_inv(5) - atan_inv(239)), one)


def _split(value: Fraction, parts: int) -> tuple[float, ...]:
    out = []
    for _ in range(parts):
        out.append(float(value))
        value -= Fraction(out[-1])
    return tuple(out)


#: pi/2 as P1 + P2 + P3 (each the nearest double to what is left).
_PIO2 = _split(_pi(256) / 2, 3)
#: sin r = r + r^3 (sum of (-1)^k r^(2k-2) / (2k+1)!), k = 1..8 (to r^17).
_SIN_TAYLOR = [float(Fraction((-1) ** k, math.factorial(2 * k + 1))) for k in range(1, 9)]
#: cos r = 1 - r^2/2 + r^4 (sum of (-1)^k r^(2k-4) / (2k)!), k = 2..9 (to r^18).
_COS_TAYLOR = [float(Fraction((-1) ** k, math.factorial(2 * k))) for k in range(2, 10)]

FUNCTIONS = ("exp", "log", "log1p", "tanh", "logistic", "sin", "cos")
