"""The lowering registry: one rule per primitive, keyed by the Primitive object.

A rule is one of three kinds, which is what makes fusion free; the primitive's op
group decides which (`LoweringKind.of`), and registering another kind is an error:

    scalar  rule(em, instr, *xs) -> x     elementwise: operand scalars -> result scalar
    gather  rule(em, instr, idx) -> x     the result element at index `idx`, reading
                                          operands through `em.elem(operand, index)`
    kernel  rule(em, instr, out)          writes the whole result into view `out`
                                          (reductions, argmax, matmul: kernels.py;
                                          scatters: indexing.py)

Scalar and gather rules are evaluated inside whatever loop nest needs the value,
so a chain of them becomes one loop (the emitter decides what to materialise).
Structural rules may also give a `view`: the result as new strides over the
operand's buffer, so no code runs at all.  Math functions go through
`em.math(name, x)` so a faster implementation can replace libm in one place.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

from llvmlite import ir

from ..ir import primitives as P
from ..ir.core import Instr
from ..ir.dtypes import bool_, f64, i64
from ..ir.primitives import ELEMENTWISE, KERNELS, OpGroup, Primitive
from . import indexing, kernels, regions, softmax_kernels
from .layout import I1, I32, I64, Strided, contiguous_strides


class LoweringKind(enum.Enum):
    """How a rule is called (see above): follows from the primitive's op group."""

    SCALAR = "scalar"
    GATHER = "gather"
    KERNEL = "kernel"

    @staticmethod
    def of(group: OpGroup) -> "LoweringKind":
        if group in ELEMENTWISE:
            return LoweringKind.SCALAR
        if group in KERNELS:
            return LoweringKind.KERNEL
        return LoweringKind.GATHER  # structural ops and sources: each element by its index


@dataclass(frozen=True)
class Lowering:
    kind: LoweringKind
    rule: Callable
    view: Callable[..., Strided | None] | None = None


LOWERINGS: dict[Primitive, Lowering] = {}


def _register(kind: LoweringKind, *prims: Primitive):
    for prim in prims:
        if LoweringKind.of(prim.group) is not kind:
            raise TypeError(f"{prim.name} is a {prim.group.value} primitive: its lowering is a "
                            f"{LoweringKind.of(prim.group).value} rule, not {kind.value}")

    def deco(rule):
        for prim in prims:
            LOWERINGS[prim] = Lowering(kind, rule)
        return rule
    return deco


scalar = lambda *prims: _register(LoweringKind.SCALAR, *prims)  # noqa: E731
gather = lambda *prims: _register(LoweringKind.GATHER, *prims)  # noqa: E731
kernel = lambda *prims: _register(LoweringKind.KERNEL, *prims)  # noqa: E731


def view(prim: Primitive):
    """Attach a view rule to an already registered primitive."""
    def deco(rule):
        low = LOWERINGS[prim]
        LOWERINGS[prim] = Lowering(low.kind, low.rule, rule)
        return rule
    return deco


def _is_float(instr: Instr, i: int = 0) -> bool:
    return instr.operands[i].dtype.is_float


# ---------------------------------------------------------------- unary

@scalar(P.neg)
def _neg(em, instr, x):
    return em.b.fneg(x) if _is_float(instr) else em.b.sub(em.zero(instr.dtype), x)


@scalar(P.abs)
def _abs(em, instr, x):
    if _is_float(instr):
        return em.intrinsic("llvm.fabs", x)
    b, dt = em.b, instr.dtype  # wraps like numpy: abs(INT64_MIN) is INT64_MIN
    if not dt.is_signed:
        return x
    return b.select(b.icmp_signed("<", x, em.zero(dt)), b.sub(em.zero(dt), x), x)


@scalar(P.sign)
def _sign(em, instr, x):
    b, dt = em.b, instr.dtype
    if not dt.is_float:
        ty = em.scalar_type(dt)
        if not dt.is_signed:
            return b.zext(b.icmp_unsigned("!=", x, em.zero(dt)), ty)
        pos = b.zext(b.icmp_signed(">", x, em.zero(dt)), ty)
        return b.sub(pos, b.zext(b.icmp_signed("<", x, em.zero(dt)), ty))
    r = b.select(b.fcmp_ordered("<", x, em.zero(dt)), em.const(dt, -1.0), x)
    return b.select(b.fcmp_ordered(">", x, em.zero(dt)), em.const(dt, 1.0), r)  # NaN, 0: x


@scalar(P.exp, P.log, P.log1p, P.sin, P.cos, P.tanh, P.sqrt, P.logistic)
def _math(em, instr, x):
    if instr.prim is P.exp and _nonpositive_square(instr.operands[0]):
        return em.math("exp", x, instr.dtype, nonpositive=True)
    return em.math(instr.prim.name, x, instr.dtype)


def _nonpositive_square(v) -> bool:
    """-y*y, as `mul(neg y, y)` (either order) or `neg(mul(y, y))`: never above 0, so exp
    of it needs no clamp against overflow (W2's exp(-x*x); the value is the same)."""
    if not isinstance(v, Instr) or not v.dtype.is_float:
        return False
    if v.prim is P.neg:
        inner = v.operands[0]
        return isinstance(inner, Instr) and inner.prim is P.mul and \
            inner.operands[0] is inner.operands[1]
    if v.prim is P.mul:
        a, b = v.operands
        return any(isinstance(n, Instr) and n.prim is P.neg and n.operands[0] is y
                   for n, y in ((a, b), (b, a)))
    return False


@scalar(P.stop_gradient)
def _identity(em, instr, x):
    return x


@view(P.stop_gradient)
def _identity_view(instr, src):
    return src


@scalar(P.convert)
def _convert(em, instr, x):
    b, src, dst = em.b, instr.operands[0].dtype, instr.dtype
    ty = em.scalar_type(dst)
    if src is dst:
        return x
    if dst is bool_:
        return b.fcmp_unordered("!=", x, em.zero(src)) if src.is_float \
            else b.icmp_unsigned("!=", x, em.zero(src))
    if src is bool_:
        return b.uitofp(x, ty) if dst.is_float else b.zext(x, ty)
    if src.is_float and dst.is_float:  # float16 is float32 in registers (rounded by compute)
        width = x.type.intrinsic_name, ty.intrinsic_name
        if width[0] == width[1]:
            return x
        return b.fpext(x, ty) if ty.intrinsic_name == "f64" else b.fptrunc(x, ty)
    if dst.is_float:
        return b.sitofp(x, ty) if src.is_signed else b.uitofp(x, ty)
    if not src.is_float:  # integer -> integer: wrap to the narrower, extend by the source's sign
        if dst.itemsize < src.itemsize:
            return b.trunc(x, ty)
        if dst.itemsize == src.itemsize:
            return x
        return b.sext(x, ty) if src.is_signed else b.zext(x, ty)
    # float -> int, as x86 (and so numpy and PyTorch) converts: through a 32-bit integer
    # for the narrow types (then wrapped), NaN and out-of-range giving INT_MIN
    wide = I64 if dst is i64 else I32
    limit = 2.0 ** (wide.width - 1)
    fits = b.fcmp_ordered("<", em.intrinsic("llvm.fabs", x), ir.Constant(x.type, limit))
    v = b.select(fits, b.fptosi(x, wide), ir.Constant(wide, -(1 << (wide.width - 1))))
    return v if wide.width == ty.width else b.trunc(v, ty)


# ---------------------------------------------------------------- binary

@scalar(P.add)
def _add(em, instr, x, y):
    return em.b.fadd(x, y) if _is_float(instr) else em.b.add(x, y)


@scalar(P.sub)
def _sub(em, instr, x, y):
    return em.b.fsub(x, y) if _is_float(instr) else em.b.sub(x, y)


@scalar(P.mul)
def _mul(em, instr, x, y):
    return em.b.fmul(x, y) if _is_float(instr) else em.b.mul(x, y)


@scalar(P.div)
def _div(em, instr, x, y):
    b = em.b
    if _is_float(instr):
        return b.fdiv(x, y)
    # Truncating division; x/0 is a fault (divided by 1) and x/-1 wraps, so the hardware
    # never traps.
    dt = instr.dtype
    zero = b.icmp_unsigned("==", y, em.zero(dt))
    indexing.zero_divisor_fault(em, instr, zero)
    if not dt.is_signed:
        return b.select(zero, em.zero(dt), b.udiv(x, b.select(zero, em.const(dt, 1), y)))
    minus1 = b.icmp_signed("==", y, em.const(dt, -1))
    q = b.sdiv(x, b.select(b.or_(zero, minus1), em.const(dt, 1), y))
    q = b.select(minus1, b.sub(em.zero(dt), x), q)
    return b.select(zero, em.zero(dt), q)


def _splat(v):
    """The value of a `full` (seen through broadcasts and reshapes), else None."""
    while isinstance(v, Instr) and v.prim in (P.broadcast, P.reshape):
        v = v.operands[0]
    return v.attrs["value"] if isinstance(v, Instr) and v.prim is P.full else None


def _reciprocal(em, x, dt):
    return em.b.fdiv(em.const(dt, 1.0), x)


#: x ** k for these constant k as PyTorch's CPU kernel computes them (sqrt, 1 / sqrt,
#: 1 / x, 1 / (x x): correctly rounded steps, where llvm.pow's vector powf is not)
_POWER_SHORTCUTS = {
    0.5: lambda em, x, dt: em.intrinsic("llvm.sqrt", x),
    -0.5: lambda em, x, dt: _reciprocal(em, em.intrinsic("llvm.sqrt", x), dt),
    -1: lambda em, x, dt: _reciprocal(em, x, dt),
    -2: lambda em, x, dt: _reciprocal(em, em.b.fmul(x, x), dt),
}


@scalar(P.pow)
def _pow(em, instr, x, y):
    if _is_float(instr):
        k = _splat(instr.operands[1])
        if k in (1, 2, 3):  # small integer powers: multiplications, no libm call in the loop
            r = x
            for _ in range(int(k) - 1):
                r = em.b.fmul(r, x)
            return r
        if k in _POWER_SHORTCUTS:  # PyTorch's kernel's shortcuts (and the interpreter's)
            return _POWER_SHORTCUTS[k](em, x, instr.dtype)
        return em.intrinsic("llvm.pow", x, y)
    # A negative exponent truncates 1/x**|y| toward zero: 1, +-1 (x == -1) or 0.  Narrow
    # integers compute in i64 and wrap back (the low bits of a product need only the
    # low bits of its factors).
    b, dt = em.b, instr.dtype
    if dt is not i64:
        widen = b.sext if dt.is_signed else b.zext
        x, y = widen(x, I64), widen(y, I64)
    one = em.const(i64, 1)
    odd = b.trunc(y, I1)
    neg = b.select(b.icmp_signed("==", x, one), one, b.select(
        b.icmp_signed("==", x, em.const(i64, -1)), b.select(odd, em.const(i64, -1), one),
        em.zero(i64)))
    r = b.select(b.icmp_signed("<", y, em.zero(i64)), neg, b.call(em.ipow(), [x, y]))
    return r if dt is i64 else b.trunc(r, em.scalar_type(dt))


@scalar(P.max, P.min)
def _max_min(em, instr, x, y):
    return em.nan_max(x, y, instr.dtype, instr.prim is P.min)


_ORDER = {P.eq: "==", P.ne: "!=", P.lt: "<", P.le: "<=", P.gt: ">", P.ge: ">="}


@scalar(*_ORDER)
def _compare(em, instr, x, y):
    op, dt = _ORDER[instr.prim], instr.operands[0].dtype
    if dt.is_float:  # every comparison with NaN is false, except !=
        return em.b.fcmp_unordered(op, x, y) if op == "!=" else em.b.fcmp_ordered(op, x, y)
    if not dt.is_signed:  # bool and uint8
        return em.b.icmp_unsigned(op, x, y)
    return em.b.icmp_signed(op, x, y)


@scalar(P.select)
def _select(em, instr, c, x, y):
    return em.b.select(c, x, y)


# ---------------------------------------------------------------- structural

@gather(P.broadcast)
def _broadcast(em, instr, idx):
    (x,) = instr.operands
    lead = instr.type.ndim - x.type.ndim
    return em.elem(x, [em.i64(0) if d == 1 else idx[lead + i] for i, d in enumerate(x.shape)])


@view(P.broadcast)
def _broadcast_view(instr, src):
    lead = instr.type.ndim - len(src.shape)
    strides = (0,) * lead + tuple(0 if d == 1 else s for d, s in zip(src.shape, src.strides))
    return Strided(src.storage, src.dtype, instr.shape, strides, src.offset)


@gather(P.transpose)
def _transpose(em, instr, idx):
    perm = instr.attrs["perm"]
    src_idx = [None] * len(perm)
    for i, p in enumerate(perm):
        src_idx[p] = idx[i]
    return em.elem(instr.operands[0], src_idx)


@view(P.transpose)
def _transpose_view(instr, src):
    perm = instr.attrs["perm"]
    return Strided(src.storage, src.dtype, instr.shape,
                   tuple(src.strides[p] for p in perm), src.offset)


@gather(P.reshape)
def _reshape(em, instr, idx):
    b, (x,) = em.b, instr.operands
    flat = em.i64(0)
    for i, s in zip(idx, contiguous_strides(instr.shape)):
        flat = b.add(flat, b.mul(i, em.i64(s)))
    src_idx = []
    for s in contiguous_strides(x.shape):  # delinearise: dividing by constants
        src_idx.append(b.udiv(flat, em.i64(s)))
        flat = b.urem(flat, em.i64(s))
    return em.elem(x, src_idx)


@view(P.reshape)
def _reshape_view(instr, src):
    if not src.is_contiguous():
        return None
    return Strided(src.storage, src.dtype, instr.shape, contiguous_strides(instr.shape),
                   src.offset)


@gather(P.slice)
def _slice(em, instr, idx):
    b, a = em.b, instr.attrs
    src_idx = [b.add(em.i64(lo), b.mul(i, em.i64(st)))
               for i, lo, st in zip(idx, a["start"], a["step"])]
    return em.elem(instr.operands[0], src_idx)


@view(P.slice)
def _slice_view(instr, src):
    a = instr.attrs
    offset = src.offset + sum(lo * s for lo, s in zip(a["start"], src.strides))
    return Strided(src.storage, src.dtype, instr.shape,
                   tuple(s * st for s, st in zip(src.strides, a["step"])), offset)


@gather(P.pad)
def _pad(em, instr, idx):
    b, (x,), a = em.b, instr.operands, instr.attrs
    if x.type.size == 0:
        return em.zero(instr.dtype)
    inside, src_idx = em.true(), []
    for i, d, lo, it in zip(idx, x.shape, a["low"], a["interior"]):
        j = b.sub(i, em.i64(lo))
        ok = b.icmp_signed(">=", j, em.i64(0))
        if it:
            ok = b.and_(ok, b.icmp_signed("==", b.srem(j, em.i64(it + 1)), em.i64(0)))
            j = b.sdiv(j, em.i64(it + 1))
        ok = b.and_(ok, b.icmp_signed("<", j, em.i64(d)))
        inside = b.and_(inside, ok)
        src_idx.append(j)
    # Read at a clamped index (always inside x), then choose: no load ever strays.
    src_idx = [b.select(inside, j, em.i64(0)) for j in src_idx]
    return b.select(inside, em.elem(x, src_idx), em.zero(instr.dtype))


@gather(P.concatenate)
def _concatenate(em, instr, idx):
    b, axis = em.b, instr.attrs["axis"]
    parts, start = [], 0
    for x in instr.operands:
        if x.shape[axis]:
            parts.append((x, start))
        start += x.shape[axis]
    i = idx[axis]
    result = None
    for x, start in reversed(parts):  # last part first: earlier parts select over it
        n = x.shape[axis]
        j = b.sub(i, em.i64(start))
        j = b.select(b.icmp_signed("<", j, em.i64(0)), em.i64(0), j)
        j = b.select(b.icmp_signed(">=", j, em.i64(n)), em.i64(n - 1), j)
        v = em.elem(x, idx[:axis] + [j] + idx[axis + 1:])
        result = v if result is None else \
            b.select(b.icmp_signed("<", i, em.i64(start + n)), v, result)
    return result


# ---------------------------------------------------------------- sources

@gather(P.full)
def _full(em, instr, idx):
    return em.const(instr.dtype, instr.attrs["value"])


@gather(P.iota)
def _iota(em, instr, idx):
    return idx[instr.attrs["axis"]]


@gather(P.constant)
def _constant(em, instr, idx):
    return em.load(_constant_view(instr), idx)  # (its global, even when materialised)


@view(P.constant)
def _constant_view(instr):
    return Strided.contiguous(("const", id(instr)), instr.dtype, instr.shape)


# ---------------------------------------------------------------- maths surface (issue 15)

_ROUNDING = {P.floor: "llvm.floor", P.ceil: "llvm.ceil", P.round: "llvm.roundeven",
             P.trunc: "llvm.trunc"}


@scalar(*_ROUNDING)
def _rounding(em, instr, x):
    """One SSE4.1/AVX instruction each (they vectorise); integers are already whole."""
    return em.intrinsic(_ROUNDING[instr.prim], x) if _is_float(instr) else x


@scalar(P.expm1, P.erf, P.erfc, P.erfinv, P.atan, P.asin, P.acos)
def _math_surface(em, instr, x):
    return em.math(instr.prim.name, x, instr.dtype)


@scalar(P.atan2)
def _atan2(em, instr, y, x):
    return em.math2("atan2", y, x, instr.dtype)


@scalar(P.hypot)
def _hypot(em, instr, x, y):
    """m sqrt(1 + (n/m)^2), m = max(|x|, |y|): no overflow or underflow in between;
    inf wins over NaN (C's hypot), 0 at the origin.  float32 (and float16, computed in
    float32) as glibc's hypotf: sqrt(x^2 + y^2) in float64, exact but for the one sum,
    rounded once to float32; so eager code (numpy's hypotf) and PyTorch agree."""
    b, dt = em.b, instr.dtype
    if dt is not f64:
        wide = ir.DoubleType()
        xw, yw = b.fpext(x, wide), b.fpext(y, wide)
        r = b.fptrunc(em.intrinsic("llvm.sqrt", b.fadd(b.fmul(xw, xw), b.fmul(yw, yw))),
                      x.type)
        inf = ir.Constant(x.type, float("inf"))
        either_inf = b.or_(b.fcmp_ordered("==", em.intrinsic("llvm.fabs", x), inf),
                           b.fcmp_ordered("==", em.intrinsic("llvm.fabs", y), inf))
        return b.select(either_inf, inf, r)
    ax, ay = em.intrinsic("llvm.fabs", x), em.intrinsic("llvm.fabs", y)
    bigger = b.fcmp_ordered(">", ax, ay)
    m, n = b.select(bigger, ax, ay), b.select(bigger, ay, ax)  # a NaN lands in m
    q = b.fdiv(n, m)
    r = b.fmul(m, em.intrinsic("llvm.sqrt", b.fadd(em.const(dt, 1.0), b.fmul(q, q))))
    r = b.select(b.fcmp_ordered("==", m, em.zero(dt)), n, r)  # 0 (n is 0 too)
    inf = em.const(dt, float("inf"))
    either_inf = b.or_(b.fcmp_ordered("==", ax, inf), b.fcmp_ordered("==", ay, inf))
    return b.select(either_inf, inf, r)


@scalar(P.bitwise_and, P.bitwise_or, P.bitwise_xor)
def _bitwise(em, instr, x, y):
    b = em.b
    return {P.bitwise_and: b.and_, P.bitwise_or: b.or_, P.bitwise_xor: b.xor}[instr.prim](x, y)


@scalar(P.fmod)
def _fmod(em, instr, x, y):
    b = em.b
    if _is_float(instr):
        return b.frem(x, y)  # C's fmod: exact, the sign of x
    # x % 0 is a fault and x % -1 is 0 (the hardware traps on both)
    dt = instr.dtype
    zero = b.icmp_unsigned("==", y, em.zero(dt))
    indexing.zero_divisor_fault(em, instr, zero)
    if not dt.is_signed:  # uint8: unsigned remainder
        return b.select(zero, em.zero(dt), b.urem(x, b.select(zero, em.const(dt, 1), y)))
    minus1 = b.icmp_signed("==", y, em.const(dt, -1))
    r = b.srem(x, b.select(b.or_(zero, minus1), em.const(dt, 1), y))
    return b.select(b.or_(zero, minus1), em.zero(dt), r)


# ---------------------------------------------------------------- kernels

kernel(P.reduce_sum)(kernels.reduce_sum)
kernel(P.reduce_max)(kernels.reduce_max)
kernel(P.argmax)(kernels.argmax)
kernel(P.matmul)(kernels.matmul)
kernel(P.matmul_add)(kernels.matmul_add)
kernel(P.cumsum)(kernels.cumsum)  # maths surface (issue 15)
for _prim in (P.softmax, P.log_softmax, P.softmax_backward_data, P.log_softmax_backward_data):
    kernel(_prim)(getattr(softmax_kernels, _prim.name))  # PyTorch's arithmetic

# ---------------------------------------------------------------- dynamic indexing (indexing.py)

gather(P.gather)(indexing.gather)
kernel(P.scatter_add)(indexing.scatter_add)
kernel(P.scatter)(indexing.scatter)

# ---------------------------------------------------------------- control flow (regions.py)

kernel(P.cond)(regions.cond)
kernel(P.while_loop)(regions.while_loop)
kernel(P.scan)(regions.scan)
gather(P.output)(regions.output)
view(P.output)(regions.output_view)

__all__ = ["LOWERINGS", "Lowering", "LoweringKind"]
