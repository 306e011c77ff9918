"""Lowering of the region primitives (cond, while_loop, scan) to LLVM blocks and loops.

Each region is an IR function, compiled like the top level one (its own plan,
fusion and scratch area, codegen/plan.region_buffers) into an internal LLVM
function of the same module with the entry point's convention `(ptr buffers)`.
The region instruction is a kernel whose code is a loop (or a branch) that fills
a small table of pointers and calls that function:

    scan        carry <- init; for i in 0..length: body(consts, carry,
                xs + i*slice) -> (next, ys + i*slice); swap(carry, next)
    while_loop  carry <- init; loop { every 2^16 steps: Ctrl-C?  cond(consts, carry)
                -> pred; stop unless pred; body(consts, carry) -> next; swap(carry, next) }

The carry lives in two planned buffers of the block (the output and `next`) whose
roles swap every step: the body reads one and writes the other, never the buffer it
reads (safe whatever the body does), and no step copies the carry.  A scan knows its
trip count, so init goes into whichever buffer makes the last step write the output;
a while_loop moves the carry into the output once, after the loop.
    cond        pred ? true(ops) -> outputs : false(ops) -> outputs

No Python runs per iteration and nothing is unrolled: the code size does not depend
on the trip count.  Every pointer handed to a region points into a buffer of the
right size (slices are in range by construction: i < length), so the region's own
compile-time bounds checks hold.  A region function that reports a status (index
checks, an inner while_loop) passes it on: an index fault is recorded at the
region instruction, and INTERRUPTED stops every enclosing loop.
"""
from __future__ import annotations

from llvmlite import ir

from ..ir.core import TensorType
from . import indexing
from .layout import I1, I8, I64, PTR, Strided, storage_type

#: the status of a loop stopped for Ctrl-C (runtime/interrupt.INTERRUPTED)
INTERRUPTED = -1
#: a native while_loop asks the runtime for a pending Ctrl-C every this many iterations
CHECK_EVERY = 1 << 16
ALIGN = 64


class RegionBuffers:
    """The scratch block of one region instruction, laid out by codegen/plan.py: its
    outputs, the next carry, the predicate, and each region's scratch area, at byte
    offsets (`offsets`, keyed by storage key) inside the block `storage`."""

    def __init__(self, storage: tuple):
        self.storage = storage
        self.offsets: dict = {}
        self.sizes: dict = {}
        self.nbytes = 0
        self.outputs: list[Strided] = []
        self.temps: list[Strided] = []
        self.pred: Strided | None = None
        self.functions: dict = {}  # attr -> (compiled region, its plan, status?, scratch key)

    def reserve(self, part: tuple, nbytes: int):
        key = (self.storage[1], *part)
        self.offsets[key] = self.nbytes
        self.sizes[("scratch", key)] = nbytes
        self.nbytes += -(-nbytes // ALIGN) * ALIGN
        return key

    def place(self, part: tuple, t: TensorType) -> Strided:
        key = self.reserve(part, t.size * t.dtype.itemsize)
        self.sizes[("scratch", key)] = t.size
        return Strided.contiguous(("scratch", key), t.dtype, t.shape)

    @property
    def size(self) -> int:  # emit_root skips an empty destination
        return self.nbytes


def _pointer(em, view: Strided, step=None, stride: int = 0) -> ir.Value:
    """Where `view`'s first element (plus `step * stride` elements) lives."""
    assert isinstance(view, Strided) and view.is_contiguous(), view
    flat = em.i64(view.offset)
    if step is not None:
        flat = em.b.add(flat, em.b.mul(step, em.i64(stride)))
    return em.b.gep(em._base(view.storage), [flat], inbounds=True,
                    source_etype=storage_type(view.dtype))


def _operand(em, v) -> Strided:
    view = em.view(v)
    if not isinstance(view, Strided):
        raise AssertionError(f"a region operand {v!r} has no contiguous buffer")
    return view


def _call(em, instr, out: RegionBuffers, attr: str, pointers: list) -> ir.Value:
    """Call region `attr` with `pointers` (its parameters, then its results); returns
    an i1 that is true when the call was interrupted (the caller stops its loop)."""
    fn, sub, status, key = out.functions[attr]
    func = em.region_function(instr, attr, fn, sub, status)
    pointers = list(pointers) + [em._base(("scratch", key))]
    table = em.alloca(ir.ArrayType(PTR, len(pointers)))
    for k, p in enumerate(pointers):
        slot = em.b.gep(table, [em.i64(0), em.i64(k)], inbounds=True)
        em.b.store(p, slot, align=8)
    first = em.b.gep(table, [em.i64(0), em.i64(0)], inbounds=True)
    r = em.b.call(func, [first])
    if not status:
        return ir.Constant(I1, 0)
    b = em.b
    fault = em.func.append_basic_block("region_fault")
    ok = em.func.append_basic_block("region_ok")
    before = b.block
    b.cbranch(b.icmp_signed("!=", r, em.i64(0)), fault, ok)
    b.position_at_end(fault)
    indexing._fault(em, instr, 0, r, None)  # an index fault inside: at this instruction
    stopped = b.icmp_signed("==", r, em.i64(INTERRUPTED))
    _mark_interrupted(em, stopped)
    b.branch(ok)
    b.position_at_end(ok)
    phi = b.phi(I1)
    phi.add_incoming(ir.Constant(I1, 0), before)
    phi.add_incoming(stopped, fault)
    return phi


def _mark_interrupted(em, when: ir.Value) -> None:
    """Status word 0 becomes INTERRUPTED when `when` (it wins over an index fault)."""
    rec = indexing._record(em)
    old = em.b.load(rec, typ=I64, align=8)
    em.b.store(em.b.select(when, em.i64(INTERRUPTED), old), rec, align=8)


def _copy(em, dst: Strided, src: Strided) -> None:
    n = dst.size * dst.dtype.itemsize
    if n == 0:
        return
    memcpy = em.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, I64])
    em.b.call(memcpy, [_pointer(em, dst), _pointer(em, src), em.i64(n), ir.Constant(I1, 0)])


class _Loop:
    """`for (i = 0; ; i++)` with exits: the header's phi and the exit block."""

    def __init__(self, em, name: str):
        self.em = em
        self.pre = em.b.block
        self.head = em.func.append_basic_block(f"{name}_loop")
        self.exit = em.func.append_basic_block(f"{name}_done")
        em.b.branch(self.head)
        em.b.position_at_end(self.head)
        self.i = em.b.phi(I64)
        self.i.add_incoming(em.i64(0), self.pre)
        em._memo.clear()

    def leave_if(self, cond: ir.Value) -> None:
        cont = self.em.func.append_basic_block("continue")
        self.em.b.cbranch(cond, self.exit, cont)
        self.em.b.position_at_end(cont)

    def close(self, more: ir.Value | None = None) -> None:
        b = self.em.b
        nxt = b.add(self.i, self.em.i64(1))
        self.i.add_incoming(nxt, b.block)
        if more is None:
            b.branch(self.head)
        else:
            b.cbranch(more(nxt), self.head, self.exit)
        b.position_at_end(self.exit)
        self.em._memo.clear()


class _Carries:
    """The carry in two buffers that swap roles every step (ping-pong): a step reads
    `cur` and writes `nxt`, two distinct buffers, so the body never reads what it
    writes and no step copies its carry.  Built before the loop (its pointers are
    computed in the preheader); `phis` right after the loop's header opens."""

    def __init__(self, em, first: list[Strided], second: list[Strided]):
        self.em = em
        self.a = [_pointer(em, v) for v in first]
        self.b = [_pointer(em, v) for v in second]
        self.sizes = [v.size * v.dtype.itemsize for v in first]

    def phis(self, loop: _Loop) -> None:
        self.cur = [self.em.b.phi(PTR) for _ in self.a]
        self.nxt = [self.em.b.phi(PTR) for _ in self.a]
        for c, n, a, b in zip(self.cur, self.nxt, self.a, self.b):
            c.add_incoming(a, loop.pre)
            n.add_incoming(b, loop.pre)

    def swap(self) -> None:
        """At the end of a step (the latch block): the next step reads what this wrote."""
        block = self.em.b.block
        for c, n in zip(self.cur, self.nxt):
            c.add_incoming(n, block)
            n.add_incoming(c, block)

    def settle(self) -> None:
        """After the loop: the carry into the first buffers (the outputs), where the trip
        count is data (while_loop); memmove, since it may already be there."""
        memmove = self.em.module.declare_intrinsic("llvm.memmove", [PTR, PTR, I64])
        for a, c, n in zip(self.a, self.cur, self.sizes):
            if n:
                self.em.b.call(memmove, [a, c, self.em.i64(n), ir.Constant(I1, 0)])


def scan(em, instr, out: RegionBuffers) -> None:
    a = instr.attrs
    nc, m, length = a["num_consts"], a["num_carry"], a["length"]
    ops = [_operand(em, v) for v in instr.operands]
    consts, init, xs = ops[:nc], ops[nc:nc + m], ops[nc + m:]
    carry, ys = out.outputs[:m], out.outputs[m:]
    # the trip count is known: start in the buffer that makes the last step write the outputs
    first, second = (carry, out.temps) if length % 2 == 0 else (out.temps, carry)
    for dst, src in zip(first, init):
        _copy(em, dst, src)
    if length == 0:  # the carry is init; the ys have a zero-length axis
        return
    carries = _Carries(em, first, second)
    loop = _Loop(em, "scan")
    carries.phis(loop)
    step = em.b.sub(em.i64(length - 1), loop.i) if a["reverse"] else loop.i
    x_ptrs = [_pointer(em, x, step, x.size // length) for x in xs]
    y_ptrs = [_pointer(em, y, step, y.size // length) for y in ys]
    params = [_pointer(em, v) for v in consts] + carries.cur + x_ptrs
    results = carries.nxt + y_ptrs
    stopped = _call(em, instr, out, "body", params + results)
    loop.leave_if(stopped)
    carries.swap()
    loop.close(lambda nxt: em.b.icmp_unsigned("<", nxt, em.i64(length)))


def while_loop(em, instr, out: RegionBuffers) -> None:
    nc = instr.attrs["num_consts"]
    ops = [_operand(em, v) for v in instr.operands]
    consts, init = ops[:nc], ops[nc:]
    carry = out.outputs
    for dst, src in zip(carry, init):
        _copy(em, dst, src)
    b = em.b
    carries = _Carries(em, carry, out.temps)
    loop = _Loop(em, "while")
    carries.phis(loop)
    check = em.func.append_basic_block("while_check")
    run = em.func.append_basic_block("while_run")
    due = b.icmp_unsigned("==", b.and_(loop.i, em.i64(CHECK_EVERY - 1)),
                          em.i64(CHECK_EVERY - 1))  # short loops never call back
    b.cbranch(due, check, run)
    b.position_at_end(check)
    pending = em.callee("tapegrad_interrupt_pending", ir.FunctionType(I64, []))
    stop = b.icmp_signed("!=", b.call(pending, []), em.i64(0))
    _mark_interrupted(em, stop)
    b.cbranch(stop, loop.exit, run)
    b.position_at_end(run)
    params = [_pointer(em, v) for v in consts] + carries.cur
    stopped = _call(em, instr, out, "cond", params + [_pointer(em, out.pred)])
    loop.leave_if(stopped)
    go = b.load(_pointer(em, out.pred), typ=I8, align=1)
    loop.leave_if(b.icmp_unsigned("==", go, ir.Constant(I8, 0)))
    stopped = _call(em, instr, out, "body", params + carries.nxt)
    loop.leave_if(stopped)
    carries.swap()
    loop.close()
    carries.settle()


def cond(em, instr, out: RegionBuffers) -> None:
    b = em.b
    pred = em.elem(instr.operands[0], [])
    ops = [_pointer(em, _operand(em, v)) for v in instr.operands[1:]]
    results = [_pointer(em, o) for o in out.outputs]
    yes = em.func.append_basic_block("cond_true")
    no = em.func.append_basic_block("cond_false")
    done = em.func.append_basic_block("cond_done")
    b.cbranch(pred, yes, no)
    for block, attr in ((yes, "true"), (no, "false")):
        b.position_at_end(block)
        em._memo.clear()
        _call(em, instr, out, attr, ops + results)
        b.branch(done)
    b.position_at_end(done)
    em._memo.clear()


def output_view(instr, block) -> Strided | None:
    """An output of a region instruction is its slot of the block: no code."""
    if not isinstance(block, RegionBuffers):
        return None
    return block.outputs[instr.attrs["index"]]


def output(em, instr, idx):
    """An output copied elsewhere (a function result): read from the block."""
    return em.load(output_view(instr, em.view(instr.operands[0])), idx)
