"""Eager float32/float16 transcendentals: compiled code's math functions as lean kernels.

    text = module_text("tg_..._exp", "exp")   # numpy ufunc loops for float16, float32

Compiled code computes exp, tanh, ... with mathlib's polynomials (codegen/mathlib.py,
mathlib_surface.py); numpy's float32 functions round differently in the last place
for 5-40% of inputs.  An eager program that compares an eager result with a compiled
one (a Jacobian by rows against jacrev) then sees those ulps, where PyTorch runs one
kernel on both paths.  These kernels make eager code call the very same functions, so
the two agree bit for bit by construction: the loop body is `em.math`'s (the
`MathBuilder` with the host's ldexp choice), float16 widens, computes in float32 and
rounds once, as Emitter.load/compute/store do, and sin/cos take the fast polynomial
and redo the loop with libm's fallback when an argument was too big (Emitter._guarded).

Each kernel is a numpy ufunc inner loop (`void (char **args, npy_intp *dims,
npy_intp *steps, void *data)`): runtime/eager_math.py makes a ufunc of the float16 and
float32 loops, so numpy allocates, broadcasts and walks strides, and a call costs what
a numpy ufunc call costs.  numpy passes the pointers, the count and the byte steps;
the loop reads and writes exactly dims[0] elements at those steps.
"""
from __future__ import annotations

from llvmlite import ir

from . import mathlib, mathlib_surface, target
from .layout import F32, HALF, I8, I64, PTR

#: the functions eager code runs through these kernels (ir primitive names)
FUNCTIONS = ("exp", "log", "log1p", "tanh", "logistic", "sin", "cos", "expm1", "atan",
             "asin", "acos")
#: element storage type per dtype name; both compute in float32
STORAGE = {"f32": F32, "f16": HALF}
#: the loops of each module, in the order its entry point lists their addresses
LOOP_DTYPES = ("f16", "f32")


def _value(mb: mathlib.MathBuilder, name: str, x: ir.Value, exact: bool):
    """(f(x), the too-big flag of a fast sin/cos or None), as Emitter.math computes it."""
    if name in ("sin", "cos") and not exact:
        return mb.sincos_fast(x, int(name == "cos"))
    if name in mathlib.FUNCTIONS:
        return getattr(mb, name)(x), None
    return getattr(mathlib_surface, name)(mb, x), None


def module_text(symbol: str, name: str) -> str:
    """The LLVM IR of `name`'s ufunc loops: `<symbol>(ptr table)` writes the addresses of
    the float16 and float32 loops (LOOP_DTYPES' order) into `table`."""
    assert name in FUNCTIONS, name
    module = ir.Module(name=symbol)
    target.prepare(module)
    loops = [_ufunc_loop(module, f"{symbol}_{tag}", name, STORAGE[tag]) for tag in LOOP_DTYPES]
    entry = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), symbol)
    b = ir.IRBuilder(entry.append_basic_block("entry"))
    for k, loop in enumerate(loops):
        slot = b.gep(entry.args[0], [ir.Constant(I64, k)], inbounds=True, source_etype=PTR)
        b.store(loop, slot, align=8)
    b.ret_void()
    return str(module)


def _ufunc_loop(module: ir.Module, symbol: str, name: str, storage: ir.Type) -> ir.Function:
    """numpy's loop signature `void (char **args, npy_intp *dims, npy_intp *steps, void *)`:
    y[i] = name(x[i]) for i < dims[0], a vectorised loop when both steps are the element
    size, else one on byte strides (the same arithmetic per element)."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, PTR, PTR]), symbol)
    fn.attributes.add("nounwind")
    args, dims, steps, _ = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    size = 2 if storage is HALF else 4

    def load(base, k, ty):
        return b.load(b.gep(base, [ir.Constant(I64, k)], inbounds=True, source_etype=ty),
                      typ=ty, align=8)

    xp, yp, n = load(args, 0, PTR), load(args, 1, PTR), load(dims, 0, I64)
    sx, sy = load(steps, 0, I64), load(steps, 1, I64)
    flag = b.alloca(I8)
    b.store(ir.Constant(I8, 0), flag)

    def run(exact: bool, contiguous: bool) -> None:
        """for i < n: y[i] = f(x[i]), OR-ing sin/cos's too-big flags into `flag`."""
        pre = b.block
        head = fn.append_basic_block("loop")
        after = fn.append_basic_block("after")
        b.cbranch(b.icmp_signed(">", n, ir.Constant(I64, 0)), head, after)
        b.position_at_end(head)
        i = b.phi(I64)
        i.add_incoming(ir.Constant(I64, 0), pre)
        if contiguous:
            px = b.gep(xp, [i], inbounds=True, source_etype=storage)
            py = b.gep(yp, [i], inbounds=True, source_etype=storage)
        else:
            px = b.gep(xp, [b.mul(i, sx)], source_etype=I8)
            py = b.gep(yp, [b.mul(i, sy)], source_etype=I8)
        v = b.load(px, typ=storage, align=size)
        if storage is HALF:
            v = b.fpext(v, F32)
        y, big = _value(mathlib.MathBuilder(b), name, v, exact)
        if big is not None:
            b.store(b.or_(b.load(flag, typ=I8), b.zext(big, I8)), flag)
        if storage is HALF:
            y = b.fptrunc(y, HALF)
        b.store(y, py, align=size)
        nxt = b.add(i, ir.Constant(I64, 1), flags=("nuw", "nsw"))
        i.add_incoming(nxt, b.block)
        b.cbranch(b.icmp_signed("<", nxt, n), head, after)
        b.position_at_end(after)

    def body(contiguous: bool) -> None:
        run(False, contiguous)
        if name in ("sin", "cos"):  # Emitter._guarded: again with libm's fallback
            redo = fn.append_basic_block("sincos_big")
            done = fn.append_basic_block("sincos_done")
            b.cbranch(b.icmp_unsigned("!=", b.load(flag, typ=I8), ir.Constant(I8, 0)),
                      redo, done)
            b.position_at_end(redo)
            run(True, contiguous)
            b.branch(done)
            b.position_at_end(done)
        b.ret_void()

    unit = b.and_(b.icmp_signed("==", sx, ir.Constant(I64, size)),
                  b.icmp_signed("==", sy, ir.Constant(I64, size)))
    fast, strided = fn.append_basic_block("contiguous"), fn.append_basic_block("strided")
    b.cbranch(unit, fast, strided)
    b.position_at_end(fast)
    body(True)
    b.position_at_end(strided)
    body(False)
    return fn
