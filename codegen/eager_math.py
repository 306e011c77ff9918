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

#: the functions eager code runs through these kernels (ir primitive names), one operand
FUNCTIONS = ("exp", "log", "log1p", "tanh", "logistic", "sin", "cos", "expm1", "atan",
             "asin", "acos")
#: and two (pow: compiled code's `llvm.pow`, glibc's powf; its x**k shortcuts are the
#: interpreter's rule's business)
BINARY_FUNCTIONS = ("pow", "atan2")
#: element storage type per dtype name; both compute in float32
STORAGE = {"f32": F32, "f16": HALF}
#: the loops of each module, in the order its entry point lists their addresses
LOOP_DTYPES = ("f16", "f32")


def _value(mb: mathlib.MathBuilder, name: str, xs: list, exact: bool):
    """(f(*xs), the too-big flag of a fast sin/cos or None), as Emitter.math and the
    lowering rules compute it."""
    if name == "pow":  # codegen/lowering._pow's general case
        fn = mb.b.module.declare_intrinsic("llvm.pow", [xs[0].type])
        return mb.b.call(fn, list(xs)), None
    if name in mathlib_surface.BINARY_FUNCTIONS:
        return getattr(mathlib_surface, name)(mb, *xs), None
    (x,) = xs
    if name in ("sin", "cos") and not exact:
        return mb.sincos_fast(x, int(name == "cos"))
    if name in mathlib.FUNCTIONS:
        return getattr(mb, name)(x), None
    return getattr(mathlib_surface, name)(mb, x), None


def module_text(symbol: str, name: str) -> str:
    """The LLVM IR of `name`'s ufunc loops: `<symbol>(ptr table)` writes the addresses of
    the float16 and float32 loops (LOOP_DTYPES' order) into `table`."""
    assert name in FUNCTIONS + BINARY_FUNCTIONS, name
    module = ir.Module(name=symbol)
    target.prepare(module)
    loops = [_ufunc_loop(module, f"{symbol}_{tag}", name, STORAGE[tag]) for tag in LOOP_DTYPES]
    entry = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), symbol)
    b = ir.IRBuilder(entry.append_basic_block("entry"))
    for k, loop in enumerate(loops):
        slot = b.gep(entry.args[0], [ir.Constant(I64, k)], inbounds=True, source_etype=PTR)
        b.store(loop, slot, align=8)
    b.ret_void()
    # the loader finds a cached module's code by `<symbol>` and `<symbol>_obj`: without
    # the second every process compiled the kernels again (0.1-0.4 s per function)
    obj = ir.Function(module, ir.FunctionType(ir.VoidType(), []), f"{symbol}_obj")
    ir.IRBuilder(obj.append_basic_block("entry")).ret_void()
    return str(module)


def _ufunc_loop(module: ir.Module, symbol: str, name: str, storage: ir.Type) -> ir.Function:
    """numpy's loop signature `void (char **args, npy_intp *dims, npy_intp *steps, void *)`:
    out[i] = name(x[i], ...) for i < dims[0], a vectorised loop when every step is the
    element size, else one on byte strides (the same arithmetic per element)."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, PTR, PTR]), symbol)
    fn.attributes.add("nounwind")
    args, dims, steps, _ = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    size = 2 if storage is HALF else 4
    arity = 2 if name in BINARY_FUNCTIONS else 1

    def load(base, k, ty):
        return b.load(b.gep(base, [ir.Constant(I64, k)], inbounds=True, source_etype=ty),
                      typ=ty, align=8)

    ptrs = [load(args, k, PTR) for k in range(arity + 1)]  # operands, then the result
    strides = [load(steps, k, I64) for k in range(arity + 1)]
    n = load(dims, 0, I64)
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
            at = [b.gep(p, [i], inbounds=True, source_etype=storage) for p in ptrs]
        else:
            at = [b.gep(p, [b.mul(i, s)], source_etype=I8) for p, s in zip(ptrs, strides)]
        xs = [b.load(p, typ=storage, align=size) for p in at[:-1]]
        if storage is HALF:
            xs = [b.fpext(v, F32) for v in xs]
        y, big = _value(mathlib.MathBuilder(b), name, xs, exact)
        if big is not None:
            b.store(b.or_(b.load(flag, typ=I8), b.zext(big, I8)), flag)
        if storage is HALF:
            y = b.fptrunc(y, HALF)
        b.store(y, at[-1], align=size)
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

    unit = b.icmp_signed("==", strides[0], ir.Constant(I64, size))
    for s in strides[1:]:
        unit = b.and_(unit, b.icmp_signed("==", s, ir.Constant(I64, size)))
    fast, strided = fn.append_basic_block("contiguous"), fn.append_basic_block("strided")
    b.cbranch(unit, fast, strided)
    b.position_at_end(fast)
    body(True)
    b.position_at_end(strided)
    body(False)
    return fn
