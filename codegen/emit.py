"""Emitting one LLVM module with one entry point for an IR function.

    void @symbol(ptr %buffers)   ; buffers = [params..., results..., scratch]
    i64  @symbol(ptr %buffers)   ; the same, for a function with data-dependent indices:
                                 ; returns their status (0: all in range; codegen/indexing.py)

The body is one loop nest per root of the plan (plan.py), in order.  Inside a
loop nest `elem(value, index)` produces a value's element: a load when the
value sits in a buffer (or is a view of one), else the value's own rule applied
to its operands' elements, so elementwise chains fuse into one loop.  Loop
bounds and strides are compile-time constants, and every load or store is
checked here, at compile time, to fall inside its buffer.

Functions outside the module that the code calls (BLAS gemm, the runtime's
parallel loop) are called through pointer slots, never by name: a global
`@<symbol>_slot_<name>` (SLOTS) that the loader fills before the first call,
whether the object went into MCJIT or into a shared library loaded with
ctypes.  Only libm/libc functions LLVM itself emits (sin, cos, memset, ...)
are referenced by name.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from llvmlite import ir

from ..ir import primitives as P
from ..ir.core import Function, Instr, Value
from ..ir.dtypes import DType, bool_, f16
from . import blas, indexing, target
from .layout import F32, HALF, I1, I64, I8, I32, PTR, Strided, scalar_type, storage_type
from . import mathlib_surface
from .lowering import LOWERINGS, LoweringKind
from .mathlib import FUNCTIONS as _POLYNOMIAL, MathBuilder
from .passes import compiled_ir
from .plan import Plan, Root, plan, view_of

#: The runtime's parallel loop: void(ptr part, ptr buffers, i64 n, i64 work) calls
#: part(buffers, lo, hi) over disjoint ranges covering [0, n), on its threads, when
#: `work` (elements x fusion cost) is worth splitting for its pool (runtime/parallel.py).
PARALLEL_FOR = "tapegrad_parallel_for"
#: The runtime's Ctrl-C check a native while_loop calls (runtime/interrupt.py): i64().
INTERRUPT_PENDING = "tapegrad_interrupt_pending"
#: The functions called through pointer slots that the loader fills: the gemm of
#: each BLAS dtype (codegen.blas.INTERNAL_NAMES), the parallel loop and the Ctrl-C check.
#: runtime/sharedlib.py repeats these names (it must not import llvmlite).
SLOTS = (*blas.INTERNAL_NAMES.values(), PARALLEL_FOR, INTERRUPT_PENDING)


def slot_symbol(symbol: str, name: str) -> str:
    """The global of entry point `symbol` holding the address of function `name` (SLOTS)."""
    return f"{symbol}_slot_{name}"


#: Give a loop nest its own part function, which the runtime may split among threads,
#: from this many elements x cost per element.  The runtime decides at run time whether
#: to split (its pool knows what a hand-over costs: ~1 us native, tens of us in Python);
#: below this no pool would, and the direct loop saves the part's indirect call.
PARALLEL_WORK = 1 << 17

#: Left to LLVM intrinsics: sqrt is one instruction.
_INTRINSIC = {"sqrt"}


@dataclass(frozen=True)
class EmittedModule:
    """The unoptimised LLVM IR of one function's module and what calling it needs."""

    llvm_ir: str
    symbol: str
    scratch_bytes: int


def lower(fn: Function, symbol: str, use_blas: bool = True) -> EmittedModule:
    """The module of `compiled_ir(fn)` (codegen/passes.py) with entry point `symbol`.
    `use_blas=False` forces the LLVM matmul loop even where BLAS was found."""
    blas_dtypes = frozenset(blas.available() if use_blas else ())
    fn = compiled_ir(fn)
    p = plan(fn, blas_dtypes, lend_results=True)  # each call's result arrays are fresh
    status = with_status(p, fn)
    em = emit_function(Emitter(fn, p, symbol, blas_dtypes, status), status)
    _object_entry(em, len(fn.params) + len(fn.results) + 1)
    return EmittedModule(str(em.module), symbol, p.scratch_bytes)


def with_status(p: Plan, fn: Function) -> bool:
    """Whether `fn`'s code reports a status (data-dependent index checks, or a native
    while_loop that may stop for Ctrl-C); if so its record ends the scratch area."""
    status = indexing.has_index_checks(fn)
    if status:
        p.scratch_offsets["status"] = -(-p.scratch_bytes // 8) * 8
        p.scratch_bytes = p.scratch_offsets["status"] + indexing.STATUS_BYTES
    return status


def emit_function(em: "Emitter", status: bool) -> "Emitter":
    """Every loop nest of the plan, then the return (of the status, if any)."""
    if status:
        indexing.clear_status(em)
    for root in em.plan.roots:
        em.emit_root(root)
    if status:
        em.b.ret(indexing.load_status(em))
    else:
        em.b.ret_void()
    return em


def _object_entry(em: "Emitter", n: int) -> None:
    """void @<symbol>_obj(i64 offset, ptr obj0, ..., ptr scratch_obj): a second entry
    point taking array *objects*, whose data pointers sit at byte `offset` (numpy's
    PyArrayObject.data).  It gathers them (the scratch one aligned up to 64 bytes)
    and calls the entry point: reading the pointers here spares Python ~0.3 us each."""
    ret = em.func.function_type.return_type  # i64 status or void, as the entry point's
    f = ir.Function(em.module, ir.FunctionType(ret, [I64] + [PTR] * n), em.func.name + "_obj")
    f.attributes.add("nounwind")
    b = ir.IRBuilder(f.append_basic_block("entry"))
    table = b.alloca(PTR, size=n)
    offset, *objects = f.args
    for k, obj in enumerate(objects):
        data = b.load(b.gep(obj, [offset], inbounds=True, source_etype=I8), typ=PTR, align=8)
        if k == n - 1:
            pad = b.and_(b.sub(ir.Constant(I64, 0), b.ptrtoint(data, I64)), ir.Constant(I64, 63))
            data = b.gep(data, [pad], inbounds=True, source_etype=I8)
        b.store(data, b.gep(table, [ir.Constant(I64, k)], inbounds=True, source_etype=PTR),
                align=8)
    status = b.call(em.func, [table])
    if isinstance(ret, ir.VoidType):
        b.ret_void()
    else:
        b.ret(status)


class _SlotLoad(ir.LoadInstr):
    """The load of a function pointer from a slot, callable with IRBuilder.call
    (which reads the callee's function type; an opaque pointer has none)."""

    def __init__(self, block, slot, fnty: ir.FunctionType):
        super().__init__(block, slot, typ=PTR)
        self.align = 8
        self._fnty = fnty

    @property
    def function_type(self) -> ir.FunctionType:
        return self._fnty


class Emitter:
    """Builder state for one entry point; lowering rules call its helpers."""

    def __init__(self, fn: Function, p: Plan, symbol: str, blas_dtypes=frozenset(),
                 status: bool = False, module: ir.Module | None = None,
                 name: str | None = None):
        """`module` and `name`: a region's function inside its parent's module
        (codegen/regions.py); slots stay keyed by the entry point's `symbol`."""
        self.fn, self.plan, self.blas_dtypes, self.symbol = fn, p, blas_dtypes, symbol
        if module is None:
            module = ir.Module(name=symbol)
            target.prepare(module)
        self.module = module
        # with index checks (codegen/indexing.py) the entry point returns their status
        ret = I64 if status else ir.VoidType()
        self.func = ir.Function(self.module, ir.FunctionType(ret, [PTR]), name or symbol)
        self.func.attributes.add("nounwind")
        self.entry = self.func.append_basic_block("entry")
        body = self.func.append_basic_block("body")
        self.b = ir.IRBuilder(self.entry)
        self.b.branch(body)
        self.b.position_at_end(body)
        self._bases: dict[tuple, ir.Value] = {}
        self._consts: dict[int, ir.Constant] = {}
        self._memo: dict[tuple, ir.Value] = {}
        self._constants = {id(i): i for i in fn.body if i.prim is P.constant}
        self._ipow = None
        self._parts: list[ir.Function] = []
        self._big: ir.Value | None = None  # the "sin/cos argument too big" flag, or None
        self._big_used = False
        self._exact = False  # re-emitting a loop nest with libm's sin/cos for big arguments

    # ------------------------------------------------------------ roots

    def emit_root(self, root: Root) -> None:
        v, dst = root.value, root.dst
        if dst.size == 0 and not (not root.copy and indexing.is_checked(v.prim)):
            return  # (an empty scatter still checks the indices of its source)
        low = LOWERINGS.get(v.prim) if isinstance(v, Instr) else None
        if not root.copy and low.kind is LoweringKind.KERNEL:
            self._guarded(lambda: low.rule(self, v, dst))
            return
        get = self.elem if root.copy else self.compute
        body = lambda idx: self.store(dst, idx, get(v, idx))  # noqa: E731
        split = self._split_axis(root)
        if split is None:
            self._guarded(lambda: self.loop(dst.shape, body))
        else:
            self._emit_parallel(dst.shape, split, body, self._work(root))

    def _guarded(self, emit) -> None:
        """Emit a loop nest (or kernel) with the fast sin/cos; if any of their arguments
        was too big for the polynomial, run it again computing those with libm.

        A loop nest writes only its own buffer and reads others (a reduction
        re-initialises what it accumulates into), so running it twice is safe."""
        saved = self._big, self._big_used
        self._big, self._big_used = self.alloca(I8), False
        self.b.store(ir.Constant(I8, 0), self._big)
        self._memo.clear()
        emit()
        if self._big_used:
            redo = self.func.append_basic_block("sincos_big")
            done = self.func.append_basic_block("sincos_done")
            flag = self.b.load(self._big, typ=I8)
            self.b.cbranch(self.b.icmp_unsigned("!=", flag, ir.Constant(I8, 0)), redo, done)
            self.b.position_at_end(redo)
            self._exact, self._big = True, None
            self._memo.clear()
            emit()
            self._exact = False
            self.b.branch(done)
            self.b.position_at_end(done)
            self._memo.clear()
        self._big, self._big_used = saved

    # ------------------------------------------------------------ threads

    def _work(self, root: Root) -> int:
        """Elements x fusion cost per element of a root's loop nest."""
        fusion = self.plan.fusion
        cost = max(1, fusion.cost.get(id(root.value), 1)) if fusion else 1
        return root.dst.size * cost

    def _split_axis(self, root: Root) -> int | None:
        """The axis to share among threads, for an elementwise root worth splitting."""
        if self._work(root) < PARALLEL_WORK:
            return None
        return next((a for a, d in enumerate(root.dst.shape) if d > 1), None)

    def _emit_parallel(self, shape, axis: int, body, work: int) -> None:
        """The loop nest as a function of its own over a range of `axis`, which the
        entry point hands to `tapegrad_parallel_for` (the runtime's thread pool)."""
        n = shape[axis]
        fnty = ir.FunctionType(ir.VoidType(), [PTR, I64, I64])
        part = ir.Function(self.module, fnty, f"{self.func.name}_part{len(self._parts)}")
        part.linkage = "internal"
        part.attributes.add("nounwind")
        self._parts.append(part)
        saved = (self.func, self.entry, self.b, self._bases, self._memo)
        self.func, self._bases, self._memo = part, {}, {}
        self.entry = part.append_basic_block("entry")
        start, done = part.append_basic_block("start"), part.append_basic_block("done")
        self.b = ir.IRBuilder(self.entry)
        lo, hi = part.args[1], part.args[2]
        b = self.b
        lo = b.select(b.icmp_signed("<", lo, self.i64(0)), self.i64(0), lo)
        hi = b.select(b.icmp_signed(">", hi, self.i64(n)), self.i64(n), hi)
        b.cbranch(b.icmp_signed("<", lo, hi), start, done)  # never an empty do-while
        b.position_at_end(start)
        self._guarded(lambda: self.loop(shape, body, ranges={axis: (lo, hi)}))
        self.b.branch(done)
        self.b.position_at_end(done)
        self.b.ret_void()
        self.func, self.entry, self.b, self._bases, self._memo = saved
        pfor = self.callee(PARALLEL_FOR, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, I64]))
        self.b.call(pfor, [part, self.func.args[0], self.i64(n), self.i64(work)])

    def region_function(self, instr: Instr, attr: str, fn: Function, p: Plan,
                        status: bool) -> ir.Function:
        """Region `attr` of `instr` as an internal function of this module, with the
        entry point's convention (codegen/regions.py calls it); emitted once."""
        key = ("region", id(instr), attr)
        func = self._bases.get(key)
        if func is None:
            name = f"{self.func.name}_{attr}{len(self.module.globals)}"
            sub = Emitter(fn, p, self.symbol, self.blas_dtypes, status, self.module, name)
            sub.func.linkage = "internal"
            emit_function(sub, status)
            func = self._bases[key] = sub.func
        return func

    def callee(self, name: str, fnty: ir.FunctionType) -> ir.Value:
        """Function `name` (one of SLOTS) from its slot, loaded once in this function's
        entry block."""
        assert name in SLOTS, name
        key = ("slot", name)
        ptr = self._bases.get(key)
        if ptr is None:
            gname = slot_symbol(self.symbol, name)
            g = self.module.globals.get(gname)
            if g is None:
                g = ir.GlobalVariable(self.module, PTR, gname)
                g.initializer, g.align = ir.Constant(PTR, None), 8
            with self.b.goto_block(self.entry):
                ptr = _SlotLoad(self.b.block, g, fnty)
                self.b._insert(ptr)
            self._bases[key] = ptr
        return ptr

    # ------------------------------------------------------------ elements

    def elem(self, v: Value, idx: list) -> ir.Value:
        """Element `idx` of `v`, from its buffer, a view, or its own rule."""
        key = (id(v), tuple(map(id, idx)))
        got = self._memo.get(key)
        if got is None:
            view = self.view(v)
            got = self.load(view, idx) if view is not None else self.compute(v, idx)
            self._memo[key] = got
        return got

    def compute(self, v: Instr, idx: list) -> ir.Value:
        low = LOWERINGS[v.prim]
        if low.kind is LoweringKind.SCALAR:
            x = low.rule(self, v, *(self.elem(o, idx) for o in v.operands))
            # float16: each operation rounds its float32 result, as PyTorch's kernels
            return self.round_half(x) if v.type.dtype is f16 else x
        if low.kind is LoweringKind.GATHER:
            return low.rule(self, v, idx)
        raise AssertionError(f"kernel {v.prim.name} was not materialised by the plan")

    def view(self, v: Value) -> Strided | None:
        return view_of(v, self.plan.views)

    # ------------------------------------------------------------ memory

    def _base(self, storage: tuple) -> ir.Value:
        base = self._bases.get(storage)
        if base is None:
            with self.b.goto_block(self.entry):
                kind, k = storage
                if kind == "const":
                    base = self._global(self._constants[k])
                else:
                    offset = None
                    if kind == "scratch" and k in self.plan.scratch_homes:  # in a result
                        kind, (k, offset) = "result", self.plan.scratch_homes[k]
                    slot = k if kind == "param" else len(self.fn.params) + (
                        k if kind == "result" else len(self.fn.results))
                    ptr = self.b.gep(self.func.args[0], [self.i64(slot)], inbounds=True,
                                     source_etype=PTR)
                    base = self.b.load(ptr, typ=PTR, align=8)
                    if kind == "scratch" or offset is not None:
                        at = self.plan.scratch_offsets[k] if offset is None else offset
                        base = self.b.gep(base, [self.i64(at)], inbounds=True, source_etype=I8)
            self._bases[storage] = base
        return base

    def element_ptr(self, view: Strided, idx: list) -> ir.Value:
        lo, hi = view.extent()
        size = self.plan.sizes.get(view.storage, 0) if view.storage[0] != "const" \
            else self._constants[view.storage[1]].type.size  # the whole constant's
        if view.size and not (0 <= lo and hi <= size):
            raise AssertionError(f"view {view} reaches outside its buffer of {size} elements")
        flat = self.i64(view.offset)
        for i, d, s in zip(idx, view.shape, view.strides):
            if d != 1 and s != 0:
                flat = self.b.add(flat, self.b.mul(i, self.i64(s)))
        return self.b.gep(self._base(view.storage), [flat], inbounds=True,
                          source_etype=storage_type(view.dtype))

    def load(self, view: Strided, idx: list) -> ir.Value:
        ty = storage_type(view.dtype)
        x = self.b.load(self.element_ptr(view, idx), typ=ty, align=view.dtype.itemsize)
        if view.dtype is bool_:
            return self.b.icmp_unsigned("!=", x, ir.Constant(I8, 0))
        return self.b.fpext(x, F32) if view.dtype is f16 else x

    def store(self, view: Strided, idx: list, x: ir.Value) -> None:
        if view.dtype is bool_:
            x = self.b.zext(x, I8)
        elif view.dtype is f16:
            x = self.b.fptrunc(x, HALF)  # the one rounding of a float32 result (a sum)
        self.b.store(x, self.element_ptr(view, idx), align=view.dtype.itemsize)

    def round_half(self, x: ir.Value) -> ir.Value:
        """A float32 result rounded to the nearest float16 value (kept in float32)."""
        return self.b.fpext(self.b.fptrunc(x, HALF), F32)

    def _global(self, instr: Instr) -> ir.GlobalVariable:
        data = np.ascontiguousarray(instr.attrs["value"], instr.dtype.np).view(np.uint8)
        ty = ir.ArrayType(I8, data.size)
        g = ir.GlobalVariable(self.module, ty, f"const{len(self.module.global_values)}")
        g.initializer = ir.Constant(ty, bytearray(data.tobytes()))
        g.global_constant, g.linkage, g.align = True, "private", 64
        return g

    def alloca(self, ty: ir.Type) -> ir.Value:
        """A stack slot in the entry block (mem2reg turns it into registers)."""
        with self.b.goto_block(self.entry):
            return self.b.alloca(ty)

    # ------------------------------------------------------------ loops

    def loop(self, shape, body, ranges=None) -> None:
        """Call body(index) inside a nest of counted loops; nothing if any extent is 0.

        `ranges` maps an axis to runtime bounds (lo, hi) with 0 <= lo < hi <= extent,
        which the caller guarantees (a thread's share of the loop)."""
        shape, ranges = tuple(shape), ranges or {}
        if any(d == 0 for d in shape):
            return
        idx: list[ir.Value] = []

        def nest(d: int) -> None:
            if d == len(shape):
                body(list(idx))
                return
            lo, hi = ranges.get(d, (self.i64(0), self.i64(shape[d])))
            if shape[d] == 1:
                idx.append(self.i64(0))
            else:
                idx.append(self._open_loop(lo))
            nest(d + 1)
            i = idx.pop()
            if shape[d] != 1:
                self._close_loop(i, hi)

        nest(0)

    def _open_loop(self, start=None) -> ir.Value:
        pre = self.b.block
        head = self.func.append_basic_block("loop")
        self.b.branch(head)
        self.b.position_at_end(head)
        i = self.b.phi(I64)
        i.add_incoming(self.i64(0) if start is None else start, pre)
        self._memo.clear()
        return i

    def _close_loop(self, i: ir.PhiInstr, n) -> None:
        nxt = self.b.add(i, self.i64(1), flags=("nuw", "nsw"))
        i.add_incoming(nxt, self.b.block)
        after = self.func.append_basic_block("next")
        end = self.i64(n) if isinstance(n, int) else n
        self.b.cbranch(self.b.icmp_unsigned("<", nxt, end), i.parent, after)
        self.b.position_at_end(after)
        self._memo.clear()

    # ------------------------------------------------------------ scalars

    def scalar_type(self, dtype: DType) -> ir.Type:
        return scalar_type(dtype)

    def i64(self, n: int) -> ir.Constant:
        c = self._consts.get(n)
        if c is None:
            c = self._consts[n] = ir.Constant(I64, n)
        return c

    def const(self, dtype: DType, value) -> ir.Constant:
        if dtype is bool_:
            return ir.Constant(I1, int(bool(value)))
        if dtype.is_float:
            return ir.Constant(scalar_type(dtype), float(value))
        bits = dtype.itemsize * 8  # wrapped to the type's width (u8's 255 is i8's -1)
        return ir.Constant(scalar_type(dtype), int(value) & ((1 << bits) - 1))

    def zero(self, dtype: DType) -> ir.Constant:
        return self.const(dtype, 0)

    def true(self) -> ir.Constant:
        return ir.Constant(I1, 1)

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        fn = self.module.declare_intrinsic(name, [args[0].type])
        return self.b.call(fn, list(args))

    def math(self, name: str, x: ir.Value, dtype: DType, nonpositive: bool = False) -> ir.Value:
        """exp, log, tanh, ...: inline polynomials (mathlib.py), so loops vectorise.
        `nonpositive`: x is known <= 0 (or NaN); exp skips its overflow clamp."""
        if nonpositive:
            return MathBuilder(self.b).exp(x, nonpositive=True)
        if name in ("sin", "cos") and not self._exact and self._big is not None:
            value, big = MathBuilder(self.b).sincos_fast(x, int(name == "cos"))
            flag = self.b.load(self._big, typ=I8)
            self.b.store(self.b.or_(flag, self.b.zext(big, I8)), self._big)
            self._big_used = True
            return value
        if name in _POLYNOMIAL:
            return getattr(MathBuilder(self.b), name)(x)
        if name in _INTRINSIC:
            return self.intrinsic("llvm." + name, x)
        if name in mathlib_surface.FUNCTIONS:
            return getattr(mathlib_surface, name)(MathBuilder(self.b), x)
        raise AssertionError(f"no math function {name}")

    def math2(self, name: str, x: ir.Value, y: ir.Value, dtype: DType) -> ir.Value:
        """A two-argument math function (atan2): mathlib_surface."""
        assert name in mathlib_surface.BINARY_FUNCTIONS, name
        return getattr(mathlib_surface, name)(MathBuilder(self.b), x, y)

    def nan_max(self, x, y, dtype: DType, minimum: bool = False) -> ir.Value:
        """max(x, y) (or min) that returns NaN when either is NaN, like numpy."""
        b, op = self.b, "<" if minimum else ">"
        if not dtype.is_float:
            cmp = b.icmp_signed if dtype.is_signed else b.icmp_unsigned
            return b.select(cmp(op, x, y), x, y)
        r = b.select(b.fcmp_ordered(op, x, y), x, y)  # y when y is NaN
        return b.select(b.fcmp_unordered("uno", x, x), x, r)

    def ipow(self) -> ir.Function:
        """x ** y for i64 by squaring (wrapping like numpy); 1 when y <= 0."""
        if self._ipow is None and "tg_ipow" in self.module.globals:  # a region's parent's
            self._ipow = self.module.globals["tg_ipow"]
        if self._ipow is None:
            f = ir.Function(self.module, ir.FunctionType(I64, [I64, I64]), "tg_ipow")
            f.linkage = "internal"
            entry, loop, done = (f.append_basic_block(n) for n in ("entry", "loop", "done"))
            b = ir.IRBuilder(entry)
            x0, y0 = f.args
            b.cbranch(b.icmp_signed(">", y0, ir.Constant(I64, 0)), loop, done)
            b.position_at_end(loop)
            r, x, y = (b.phi(I64) for _ in range(3))
            for phi, init in ((r, ir.Constant(I64, 1)), (x, x0), (y, y0)):
                phi.add_incoming(init, entry)
            odd = b.trunc(y, I1)
            r2 = b.select(odd, b.mul(r, x), r)
            x2, y2 = b.mul(x, x), b.lshr(y, ir.Constant(I64, 1))
            for phi, nxt in ((r, r2), (x, x2), (y, y2)):
                phi.add_incoming(nxt, loop)
            b.cbranch(b.icmp_signed(">", y2, ir.Constant(I64, 0)), loop, done)
            b.position_at_end(done)
            out = b.phi(I64)
            out.add_incoming(ir.Constant(I64, 1), entry)
            out.add_incoming(r2, loop)
            b.ret(out)
            self._ipow = f
        return self._ipow

    def blas(self, dtype: DType) -> ir.Value | None:
        """The gemm (CBLAS, 64-bit integers) for `dtype`, or None to use the loop fallback."""
        if dtype.name not in self.blas_dtypes:
            return None
        t = scalar_type(dtype)
        return self.callee(blas.INTERNAL_NAMES[dtype.name], ir.FunctionType(ir.VoidType(), [
            I32, I32, I32, I64, I64, I64, t, PTR, I64, PTR, I64, t, PTR, I64]))

