"""softmax, log_softmax and their backward kernels with PyTorch's CPU arithmetic.

The same operations, in the same order, as the interpreter's rules
(runtime/softmax_kernels.py, which says what PyTorch does and why), so native code
gives the interpreter's bits in float32 and float16: the row max, then the sums in
`vec::reduce_all`'s order (16 lanes folded in halves along the last axis; in order
down an inner axis), SLEEF's expf_u10 and logf_u10 written out here with `llvm.fma`,
and no fast-math flags anywhere.  float64 uses mathlib's exp and log (the
interpreter uses numpy's: both within an ulp).  One line along the axis per
iteration of the outer loops; the exponentials are recomputed in the last pass
rather than kept (same bits, no scratch buffer).
"""
from __future__ import annotations

from llvmlite import ir

from ..ir.dtypes import f16, f32 as F32_DTYPE, f64
from .layout import F32, I32, Strided
from .mathlib import MathBuilder

LANES = 16  # float32 lanes of PyTorch's AVX-512 vectors (float64: 8)

# SLEEF's constants (runtime/softmax_kernels.py names them)
_EXP_R_LN2 = 1.442695040888963407359924681001892137426645954152985934135449406931
_EXP_LN2 = (0.693145751953125, 1.428606765330187045e-06)
_EXP_POLY = (0.000198527617612853646278381, 0.00139304355252534151077271,
             0.00833336077630519866943359, 0.0416664853692054748535156,
             0.166666671633720397949219, 0.5)
_LOG_LN2 = (0.69314718246459960938, -1.904654323148236017e-09)
_LOG_POLY = (0.3027294874, 0.3996108174, 0.6666694880)


class _Arith:
    """The arithmetic of one kernel, on scalars or on vectors of `width` lanes (the same
    operations lane by lane): float32 SLEEF functions, or float64 mathlib (scalar)."""

    def __init__(self, em, dtype, width: int = 1):
        self.em, self.b, self.wide, self.width = em, em.b, dtype is f64, width
        self.ty = em.scalar_type(f64) if self.wide else F32
        self.ity = I32
        if width > 1:
            self.ty, self.ity = ir.VectorType(self.ty, width), ir.VectorType(I32, width)
        self.half = dtype is f16

    def vector(self, width: int) -> "_Arith":
        out = _Arith(self.em, f64 if self.wide else F32_DTYPE, width)
        out.half = self.half
        return out

    def c(self, v) -> ir.Constant:
        return self._const(self.ty, float(v))

    def i(self, v) -> ir.Constant:
        return self._const(self.ity, int(v))

    def _const(self, ty, v):
        if isinstance(ty, ir.VectorType):
            return ir.Constant(ty, [ir.Constant(ty.element, v)] * ty.count)
        return ir.Constant(ty, v)

    def splat(self, x):
        """A line's scalar (its max, its sum) in every lane."""
        if self.width == 1:
            return x
        b = self.b
        one = b.insert_element(ir.Constant(self.ty, ir.Undefined), x, ir.Constant(I32, 0))
        return b.shuffle_vector(one, ir.Constant(self.ty, ir.Undefined),
                                ir.Constant(ir.VectorType(I32, self.width), [0] * self.width))

    def fma(self, x, y, z):
        return self._intrinsic("llvm.fma", x, y, z)

    def _intrinsic(self, name, *args):
        return MathBuilder(self.b)._intrinsic(name, *args)

    def exp(self, d):
        if self.wide:
            return self.em.math("exp", d, f64)
        b, c, fma = self.b, self.c, self.fma
        qf = self._intrinsic("llvm.rint", b.fmul(d, c(_EXP_R_LN2)))
        finite = b.fcmp_ordered("<", self._intrinsic("llvm.fabs", qf), c(1e9))
        qf = b.select(finite, qf, c(0))
        q = b.fptosi(qf, self.ity)
        s = fma(qf, c(-_EXP_LN2[0]), d)
        s = fma(qf, c(-_EXP_LN2[1]), s)
        u = c(_EXP_POLY[0])
        for coef in _EXP_POLY[1:]:
            u = fma(u, s, c(coef))
        u = b.fadd(c(1), fma(b.fmul(s, s), u, s))
        half = b.ashr(q, self.i(1))
        u = b.fmul(b.fmul(u, self._pow2(half)), self._pow2(b.sub(q, half)))
        u = b.select(b.fcmp_ordered("<", d, c(-104)), c(0), u)
        return b.select(b.fcmp_ordered(">", d, c(104)), c(float("inf")), u)

    def _pow2(self, k):
        bits = self.b.shl(self.b.add(k, self.i(127)), self.i(23))
        return self.b.bitcast(bits, self.ty)

    def log(self, d):
        """SLEEF's logf_u10 for a positive normal d (a softmax sum: 1 <= d <= n); NaN
        passes through."""
        if self.wide:
            return self.em.math("log", d, f64)
        b, c, fma, i32 = self.b, self.c, self.fma, self.i
        scaled = b.bitcast(b.fmul(d, c(1.0 / 0.75)), self.ity)
        e = b.sitofp(b.sub(b.lshr(scaled, i32(23)), i32(127)), self.ty)
        bits = b.bitcast(d, self.ity)
        f = b.bitcast(b.or_(b.and_(bits, i32(0x7FFFFF)), i32(127 << 23)), self.ty)  # [1, 2)
        m = b.select(b.fcmp_ordered(">=", f, c(1.5)), b.fmul(f, c(0.5)), f)  # [0.75, 1.5)
        sx = b.fmul(c(_LOG_LN2[0]), e)
        sy = fma(c(_LOG_LN2[1]), e, fma(c(_LOG_LN2[0]), e, b.fneg(sx)))
        nx, ny = self._two_sum(c(-1), m)
        dx, dy = self._two_sum(c(1), m)
        t = b.fdiv(c(1), dx)
        xx = b.fmul(nx, t)
        u = fma(t, nx, b.fneg(xx))
        v = fma(b.fneg(dy), t, fma(b.fneg(dx), t, c(1)))
        xy = fma(xx, v, fma(ny, t, u))
        x2 = b.fmul(xx, xx)
        p = fma(fma(c(_LOG_POLY[0]), x2, c(_LOG_POLY[1])), x2, c(_LOG_POLY[2]))
        ax, ay = b.fmul(xx, c(2)), b.fmul(xy, c(2))
        hi = b.fadd(sx, ax)
        lo = b.fadd(b.fadd(b.fadd(b.fsub(sx, hi), ax), sy), ay)
        w = b.fmul(b.fmul(x2, xx), p)
        hi2 = b.fadd(hi, w)
        lo2 = b.fadd(b.fadd(b.fsub(hi, hi2), w), lo)
        return b.select(b.fcmp_unordered("uno", d, d), d, b.fadd(hi2, lo2))

    def _two_sum(self, x, y):
        b = self.b
        s = b.fadd(x, y)
        v = b.fsub(s, x)
        return s, b.fadd(b.fsub(x, b.fsub(s, v)), b.fsub(y, v))

    def round_half(self, x):
        return self.em.round_half(x) if self.half else x


def _line_sum(em, a: _Arith, n: int, last: bool, loads, f, fused_dot: bool = False):
    """sum over k < n of f(a, loads(k)) in PyTorch's order (`loads(k)`: the operands'
    element k).  With `fused_dot` an inner-axis kernel accumulates the product of the
    two operands with fused multiply-adds."""
    b = em.b
    term = lambda k: f(a, loads(k))  # noqa: E731
    if not last:
        acc = em.alloca(a.ty)
        b.store(a.c(0), acc)
        if fused_dot:
            em.loop((n,), lambda k: b.store(a.fma(*loads(k[0]), b.load(acc)), acc))
        else:
            em.loop((n,), lambda k: b.store(b.fadd(b.load(acc), term(k[0])), acc))
        return b.load(acc)
    lanes = LANES // 2 if a.wide else LANES
    if n < lanes:  # in order from the first element
        acc = em.alloca(a.ty)
        b.store(term(em.i64(0)), acc)
        em.loop((n - 1,), lambda k: b.store(
            b.fadd(b.load(acc), term(b.add(k[0], em.i64(1)))), acc))
        return b.load(acc)
    vals = _lanes(em, a, n, lanes, loads, f, b.fadd)
    shift = lanes // 2
    while shift:  # fold the upper half onto the lower, as the shuffles do for lane 0
        vals = [b.fadd(vals[j], vals[j ^ shift]) for j in range(shift)]
        shift //= 2
    return vals[0]


def _lanes(em, a: _Arith, n: int, lanes: int, loads, f, combine) -> list:
    """The lane accumulators of `vec::reduce_all` (n >= lanes), as scalars: lane j
    starts with f(element j) and combines f(element j + lanes), f(j + 2 lanes), ... in
    order.  float32 runs as one vector of 16 lanes (f applied to vectors); float64
    as 8 scalar slots per step, which LLVM's SLP vectoriser may join."""
    b = em.b
    full = n - n % lanes
    if not a.wide:
        v = a.vector(lanes)
        chunk = lambda base, count=lanes: f(v, _gather(em, v, loads, base, count))  # noqa: E731

        acc = em.alloca(v.ty)
        b.store(chunk(em.i64(0)), acc)
        if full > lanes:
            em.loop((full // lanes - 1,), lambda c: b.store(combine(b.load(acc), chunk(
                b.mul(b.add(c[0], em.i64(1)), em.i64(lanes)))), acc))
        total = b.load(acc)
        if n > full:  # the tail joins the first lanes; the others keep their value
            mask = ir.Constant(ir.VectorType(ir.IntType(1), lanes),
                               [int(j < n - full) for j in range(lanes)])
            tail = combine(total, chunk(em.i64(full), n - full))
            total = b.select(mask, tail, total)
        return [b.extract_element(total, ir.Constant(I32, j)) for j in range(lanes)]
    slots = [em.alloca(a.ty) for _ in range(lanes)]
    for j, slot in enumerate(slots):
        b.store(f(a, loads(em.i64(j))), slot)

    def step(base):
        for j, slot in enumerate(slots):
            b.store(combine(b.load(slot), f(a, loads(b.add(base, em.i64(j))))), slot)

    if full > lanes:
        em.loop((full // lanes - 1,), lambda c: step(
            b.mul(b.add(c[0], em.i64(1)), em.i64(lanes))))
    for j in range(n - full):
        b.store(combine(b.load(slots[j]), f(a, loads(em.i64(full + j)))), slots[j])
    return [b.load(slot) for slot in slots]


def _gather(em, v: _Arith, loads, base, count: int) -> list:
    """The operands' elements base .. base + count - 1 as vectors (lanes past count
    undefined)."""
    b = em.b
    columns = [loads(b.add(base, em.i64(j)) if j else base) for j in range(count)]
    out = []
    for i in range(len(columns[0])):
        vec = ir.Constant(v.ty, ir.Undefined)
        for j, column in enumerate(columns):
            vec = b.insert_element(vec, column[i], ir.Constant(I32, j))
        out.append(vec)
    return out


def _map_line(em, a: _Arith, n: int, loads, f, store) -> None:
    """store(k, f(a, loads(k))) for every k < n: float32 in explicit vectors of 16 lanes
    (the loop vectoriser gives up on SLEEF's exp when the result may share memory
    with an operand, as a planned buffer can), the rest one by one."""
    b = em.b
    full = 0 if a.wide else n - n % LANES
    if full:
        v = a.vector(LANES)

        def chunk(c):
            base = b.mul(c[0], em.i64(LANES))
            r = f(v, _gather(em, v, loads, base, LANES))
            for j in range(LANES):
                store(b.add(base, em.i64(j)) if j else base,
                      b.extract_element(r, ir.Constant(I32, j)))

        em.loop((full // LANES,), chunk)
    if n > full:
        em.loop((n - full,), lambda k: store(
            b.add(k[0], em.i64(full)), f(a, loads(b.add(k[0], em.i64(full))))))


def _line_max(em, a: _Arith, n: int, loads):
    """The NaN-propagating maximum (exact: any order gives the same value)."""
    b = em.b
    lanes = LANES // 2 if a.wide else LANES
    if n >= 2 * lanes:  # in lanes, so it vectorises
        vals = _lanes(em, a, n, lanes, loads, lambda ar, xs: xs[0],
                      lambda acc, v: _nan_max(b, v, acc))
        out = vals[0]
        for v in vals[1:]:
            out = _nan_max(b, v, out)
        return out
    acc = em.alloca(a.ty)
    b.store(a.c(float("-inf")), acc)
    em.loop((n,), lambda k: b.store(_nan_max(b, loads(k[0])[0], b.load(acc)), acc))
    return b.load(acc)


def _nan_max(b, x, y):
    r = b.select(b.fcmp_ordered(">", x, y), x, y)
    return b.select(b.fcmp_unordered("uno", x, x), x, r)


def _lines(em, instr, out: Strided, body) -> None:
    """body(at, n, last) once per line along the axis; at(k) is the index of element k."""
    axis = instr.attrs["axis"]
    shape = instr.operands[0].shape
    n, last = shape[axis], axis == len(shape) - 1
    if n == 0:
        return
    em.loop(shape[:axis] + shape[axis + 1:],
            lambda oidx: body(lambda k: oidx[:axis] + [k] + oidx[axis:], n, last))


def softmax(em, instr, out: Strided) -> None:
    (x,), a, b = instr.operands, _Arith(em, instr.dtype), em.b

    def line(at, n, last):
        loads = lambda k: [em.elem(x, at(k))]  # noqa: E731
        store = lambda k, v: em.store(out, at(k), v)  # noqa: E731
        m = _line_max(em, a, n, loads)
        exp = lambda ar, xs: ar.exp(b.fsub(xs[0], ar.splat(m)))  # noqa: E731
        s = _line_sum(em, a, n, last, loads, exp)
        if last:  # times the reciprocal along the last axis; divided down an inner one
            r = b.fdiv(a.c(1), s)
            _map_line(em, a, n, loads, lambda ar, xs: b.fmul(exp(ar, xs), ar.splat(r)), store)
        else:
            _map_line(em, a, n, loads, lambda ar, xs: b.fdiv(exp(ar, xs), ar.splat(s)), store)

    _lines(em, instr, out, line)


def log_softmax(em, instr, out: Strided) -> None:
    (x,), a, b = instr.operands, _Arith(em, instr.dtype), em.b

    def line(at, n, last):
        loads = lambda k: [em.elem(x, at(k))]  # noqa: E731
        m = _line_max(em, a, n, loads)
        s = _line_sum(em, a, n, last, loads,
                      lambda ar, xs: ar.exp(b.fsub(xs[0], ar.splat(m))))
        if last:  # float16 keeps the sum and its log in float16 there
            s = a.round_half(s)
        lg = a.log(s)
        if last:
            lg = a.round_half(lg)
        _map_line(em, a, n, loads,
                  lambda ar, xs: b.fsub(b.fsub(xs[0], ar.splat(m)), ar.splat(lg)),
                  lambda k, v: em.store(out, at(k), v))

    _lines(em, instr, out, line)


def softmax_backward_data(em, instr, out: Strided) -> None:
    (g, y), a, b = instr.operands, _Arith(em, instr.dtype), em.b

    def line(at, n, last):
        loads = lambda k: [em.elem(g, at(k)), em.elem(y, at(k))]  # noqa: E731
        s = _line_sum(em, a, n, last, loads, lambda ar, gy: b.fmul(*gy), fused_dot=True)
        _map_line(em, a, n, loads, lambda ar, gy: b.fmul(b.fsub(gy[0], ar.splat(s)), gy[1]),
                  lambda k, v: em.store(out, at(k), v))

    _lines(em, instr, out, line)


def log_softmax_backward_data(em, instr, out: Strided) -> None:
    (g, y), a, b = instr.operands, _Arith(em, instr.dtype), em.b

    def line(at, n, last):
        loads = lambda k: [em.elem(g, at(k)), em.elem(y, at(k))]  # noqa: E731
        s = _line_sum(em, a, n, last, lambda k: loads(k)[:1], lambda ar, gs: gs[0])
        _map_line(em, a, n, loads,
                  lambda ar, gy: ar.fma(b.fneg(ar.exp(gy[1])), ar.splat(s), gy[0]),
                  lambda k, v: em.store(out, at(k), v))

    _lines(em, instr, out, line)
