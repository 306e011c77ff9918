"""Lowering of the dynamic-index primitives: gather (fused), scatter_add and scatter
(kernels).

Their indices are data, so no compile-time check can bound them: every index is
checked against its dimension where it is read.  A bad one (below -size or at
least size; negative ones wrap as in PyTorch) is replaced by 0 for the access,
so no load or store ever leaves its buffer, and the first fault is written to
the *status record*, three i64 at the end of the scratch area: the faulting
instruction's position in the body plus one, the index operand, the value.
An entry point whose function has such instructions returns the record's first
word (0: no fault); the runtime turns a fault into IndexError
(runtime/native_call.py).  An indexed axis of size 0 faults on any index, and
then nothing is read at all.
"""
from __future__ import annotations

from llvmlite import ir

from ..ir import primitives as P
from ..ir.core import Function, regions
from ..ir.primitives import OpGroup
from .layout import I64

def is_checked(prim) -> bool:
    """Whether `prim` reads indices from data (its entry point carries a status record)."""
    return prim.group is OpGroup.GATHER or prim.group is OpGroup.SCATTER


#: the operand number a zero integer divisor is recorded with (an index operand is >= 0)
ZERO_DIVISOR = -1


def divides_integers(instr) -> bool:
    """An integer division or remainder: a zero divisor is a fault (PyTorch raises
    `RuntimeError: ZeroDivisionError`), recorded in the status record like a bad index."""
    return instr.prim in (P.div, P.fmod) and not instr.type.dtype.is_float


def zero_divisor_fault(em, instr, is_zero: ir.Value) -> None:
    """Record a zero divisor (the caller divides by 1 instead, so nothing traps)."""
    _fault(em, instr, ZERO_DIVISOR, em.i64(0), is_zero)
#: Bytes of the status record: site (instruction position + 1), index operand, value.
STATUS_BYTES = 24


def has_index_checks(fn: Function) -> bool:
    """Whether `fn`'s entry point returns a status: it checks indices read from data or
    integer divisors, or runs a while_loop (which may stop for Ctrl-C), here or inside a region."""
    return any(is_checked(instr.prim) or instr.prim is P.while_loop or divides_integers(instr)
               or any(has_index_checks(r) for _, r in regions(instr)) for instr in fn.body)


def _record(em) -> ir.Value:
    """Pointer to the status record (in this function's scratch area)."""
    return em._base(("scratch", "status"))


def clear_status(em) -> None:
    em.b.store(em.i64(0), _record(em), align=8)


def load_status(em) -> ir.Value:
    return em.b.load(_record(em), typ=I64, align=8)


def _site(em, instr) -> int:
    sites = getattr(em, "_index_sites", None)
    if sites is None:
        sites = em._index_sites = {id(i): k + 1 for k, i in enumerate(em.fn.body)}
    return sites[id(instr)]


def _fault(em, instr, j: int, value: ir.Value, bad: ir.Value | None) -> None:
    """Record a fault of index operand `j` (when `bad`, or always when None), keeping the
    first one recorded.  Stores are atomic: the parts of a parallel loop share it."""
    b = em.b
    if bad is not None:
        fault = em.func.append_basic_block("index_fault")
        ok = em.func.append_basic_block("index_ok")
        b.cbranch(bad, fault, ok)
        b.position_at_end(fault)
    rec = _record(em)
    words = [b.gep(rec, [em.i64(k)], inbounds=True, source_etype=I64) for k in range(3)]
    first = b.icmp_signed("==", b.load_atomic(words[0], "monotonic", 8, typ=I64), em.i64(0))
    for w, v in zip(words[::-1], (value, em.i64(j), em.i64(_site(em, instr)))):
        old = b.load_atomic(w, "monotonic", 8, typ=I64)
        # IRBuilder.store_atomic reads a typed pointer's pointee: build the instruction
        b._insert(ir.StoreAtomicInstr(b.block, b.select(first, v, old), w, "monotonic", 8))
    if bad is not None:
        b.branch(ok)
        b.position_at_end(ok)


def checked_index(em, instr, j: int, value: ir.Value, size: int) -> ir.Value:
    """`value` wrapped into [0, size) when it is in [-size, size), else a fault and 0."""
    b = em.b
    wrapped = b.select(b.icmp_signed("<", value, em.i64(0)), b.add(value, em.i64(size)), value)
    bad = b.icmp_unsigned(">=", wrapped, em.i64(size))  # a negative result is huge unsigned
    _fault(em, instr, j, value, bad)
    return b.select(bad, em.i64(0), wrapped)


def _source_position(em, instr, x_shape, indices, axes, idx) -> list | None:
    """The position in the indexed operand that position `idx` of the index space reaches,
    or None (after recording a fault) when an indexed axis is empty."""
    pos = list(idx)
    for j, (a, ix) in enumerate(zip(axes, indices)):
        if x_shape[a] == 0:
            _fault(em, instr, j, em.elem(ix, idx), None)
            return None
        pos[a] = checked_index(em, instr, j, em.elem(ix, idx), x_shape[a])
    return pos


def gather(em, instr, idx):
    x, *indices = instr.operands
    pos = _source_position(em, instr, x.shape, indices, instr.attrs["axes"], idx)
    return em.zero(instr.dtype) if pos is None else em.elem(x, pos)


def _scatter(em, instr, out, combine) -> None:
    """out = base, then each source element combined into its destination, in row-major
    order (one thread: the order is what makes `scatter`'s last write win)."""
    base, src, *indices = instr.operands
    em.loop(out.shape, lambda idx: em.store(out, idx, em.elem(base, idx)))
    axes = instr.attrs["axes"]

    def body(idx):
        pos = _source_position(em, instr, out.shape, indices, axes, idx)
        if pos is not None:
            em.store(out, pos, combine(em.load(out, pos), em.elem(src, idx)))

    em.loop(src.shape, body)


def scatter_add(em, instr, out) -> None:
    b = em.b
    add = b.fadd if instr.dtype.is_float else b.add
    _scatter(em, instr, out, add)


def scatter(em, instr, out) -> None:
    _scatter(em, instr, out, lambda old, new: new)


__all__ = ["is_checked", "ZERO_DIVISOR", "divides_integers", "zero_divisor_fault", "STATUS_BYTES", "has_index_checks", "clear_status", "load_status",
           "checked_index", "gather", "scatter_add", "scatter"]
