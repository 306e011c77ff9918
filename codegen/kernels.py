"""Kernel lowerings: primitives that need their own loop structure.

Reductions and argmax read their operand through `em.elem`, so the producer's
elementwise chain is fused into the reduction loop.  Matmul needs its operands
as strided buffers (the planner guarantees it) and calls BLAS gemm when numpy's
OpenBLAS was found, else a row-tiled loop the LLVM vectoriser handles well.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir

from ..ir.core import Param
from ..ir.dtypes import f16
from ..ir.primitives import matmul_writes_products
from . import blas
from .layout import I32, I64, Strided, contiguous_strides

#: Fast-math flags that let LLVM reorder a sum (so it vectorises) and form FMAs.
#: Never `nnan`/`ninf`: NaN must propagate exactly as in the interpreter.
REASSOC = ("reassoc", "contract")


def _reduce(em, instr, out: Strided, identity, combine) -> None:
    """out[kept] = combine over the reduced axes, walking x in memory order.

    The trailing run of reduced axes accumulates in a register; any reduced
    axes before it accumulate into `out` (initialised to the identity).
    """
    b, (x,) = em.b, instr.operands
    axes = set(instr.attrs["axes"])
    if instr.dtype is f16:  # accumulate in float32 and round once, as PyTorch does
        return _reduce_in_register(em, instr, out, identity, combine)
    t = x.type.ndim
    while t > 0 and t - 1 in axes:
        t -= 1
    outer, inner = x.shape[:t], x.shape[t:]
    kept = [i for i in range(x.type.ndim) if i not in axes]
    direct = not any(i in axes for i in range(t))
    if not direct:
        em.loop(out.shape, lambda idx: em.store(out, idx, identity))

    flat = _flat_inner(em, x, t)

    def outer_body(oidx):
        if flat is not None:  # the contiguous run in blocks of REDUCE_BLOCK, then its tail
            acc = em.alloca(em.scalar_type(instr.dtype))
            b.store(identity, acc)
            for view in flat:
                em.loop(view.shape[t:], lambda j, view=view: b.store(
                    combine(b.load(acc), em.load(view, oidx + j)), acc))
            val = b.load(acc)
        elif inner:
            acc = em.alloca(em.scalar_type(instr.dtype))
            b.store(identity, acc)
            em.loop(inner, lambda iidx: b.store(
                combine(b.load(acc), em.elem(x, oidx + iidx)), acc))
            val = b.load(acc)
        else:
            val = em.elem(x, oidx)
        kidx = [oidx[i] for i in kept]
        em.store(out, kidx, val if direct else combine(em.load(out, kidx), val))

    em.loop(outer, outer_body)


#: elements per block of a contiguous reduction: long enough that the vector loop's
#: cross-lane sum at each block's end costs little, short enough that each lane sums
#: few terms before they join the running total (the accuracy of a 100-wide row's loop)
REDUCE_BLOCK = 1024


def _flat_inner(em, x, t: int) -> list[Strided] | None:
    """x's buffer seen as [*outer, blocks, REDUCE_BLOCK] and [*outer, tail] (the views
    to loop over, in order) when the trailing reduced axes (from t on, two or more) lie
    contiguously in memory, else None.  Nested loops vectorise only the innermost axis
    and sum its vector across lanes once per outer step (a [1000, 100] buffer: 1000
    cross-lane sums and short remainders, ~2.5x the time of the blocked loop); the
    same values are added, in another order, as the reassociating adds already allow."""
    if x.type.ndim - t < 2:
        return None
    view = em.view(x)
    if view is None or view.dtype is not x.dtype:
        return None
    inner_shape, inner_strides = view.shape[t:], view.strides[t:]
    want = contiguous_strides(inner_shape)
    if not all(d == 1 or s == w for d, s, w in zip(inner_shape, inner_strides, want)):
        return None
    n = math.prod(inner_shape)
    blocks, tail = divmod(n, REDUCE_BLOCK)
    outer, strides = view.shape[:t], view.strides[:t]
    views = []
    if blocks:
        views.append(Strided(view.storage, view.dtype, (*outer, blocks, REDUCE_BLOCK),
                             (*strides, REDUCE_BLOCK, 1), view.offset))
    if tail:
        views.append(Strided(view.storage, view.dtype, (*outer, tail), (*strides, 1),
                             view.offset + blocks * REDUCE_BLOCK))
    return views


def _reduce_in_register(em, instr, out: Strided, identity, combine) -> None:
    """out[kept] = combine over the reduced axes, one register accumulator per output
    element (each result is stored, and so rounded, once)."""
    b, (x,) = em.b, instr.operands
    axes = instr.attrs["axes"]
    kept = [i for i in range(x.type.ndim) if i not in axes]

    def per_output(kidx):
        acc = em.alloca(em.scalar_type(instr.dtype))
        b.store(identity, acc)

        def step(ridx):
            full = [None] * x.type.ndim
            for i, v in zip(kept, kidx):
                full[i] = v
            for i, v in zip(axes, ridx):
                full[i] = v
            b.store(combine(b.load(acc), em.elem(x, full)), acc)

        em.loop(tuple(x.shape[i] for i in axes), step)
        em.store(out, kidx, b.load(acc))

    em.loop(out.shape, per_output)


def reduce_sum(em, instr, out: Strided) -> None:
    b, dt = em.b, instr.dtype
    add = (lambda acc, x: b.fadd(acc, x, flags=REASSOC)) if dt.is_float else b.add
    _reduce(em, instr, out, em.zero(dt), add)


def reduce_max(em, instr, out: Strided) -> None:
    dt = instr.dtype  # an empty reduction gives -inf (or the type's minimum), as the interpreter
    lowest = em.const(dt, float("-inf")) if dt.is_float else em.const(dt, int(np.iinfo(dt.np).min))
    _reduce(em, instr, out, lowest, lambda acc, x: em.nan_max(x, acc, dt))


def argmax(em, instr, out: Strided) -> None:
    """First index of the maximum along `axis`; a NaN counts as the maximum."""
    b, (x,), axis = em.b, instr.operands, instr.attrs["axis"]
    n, dt = x.shape[axis], x.dtype

    def body(oidx):
        at = lambda k: oidx[:axis] + [k] + oidx[axis:]  # noqa: E731
        best, where = em.alloca(em.scalar_type(dt)), em.alloca(I64)
        b.store(em.elem(x, at(em.i64(0))), best)
        b.store(em.i64(0), where)

        def step(idx):
            k = b.add(idx[0], em.i64(1))
            v, cur = em.elem(x, at(k)), b.load(best)
            if dt.is_float:  # bigger, or the first NaN
                take = b.or_(b.fcmp_ordered(">", v, cur),
                             b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", cur, cur)))
            else:
                take = (b.icmp_signed if dt.is_signed else b.icmp_unsigned)(">", v, cur)
            b.store(b.select(take, v, cur), best)
            b.store(b.select(take, k, b.load(where)), where)

        em.loop((n - 1,), step)
        em.store(out, oidx, b.load(where))

    em.loop(out.shape, body)


def cumsum(em, instr, out: Strided) -> None:
    """Running sum along `axis` in order (from the end with `reverse`): one accumulator
    in a register per line, added in sequence (no reassociation: the interpreter's and
    PyTorch's order)."""
    b, (x,), axis = em.b, instr.operands, instr.attrs["axis"]
    n, dt, reverse = x.shape[axis], instr.dtype, instr.attrs["reverse"]
    lines = x.shape[:axis] + x.shape[axis + 1:]

    def line(oidx):
        acc = em.alloca(em.scalar_type(dt))
        b.store(em.zero(dt), acc)

        def step(idx):
            k = b.sub(em.i64(n - 1), idx[0]) if reverse else idx[0]
            at = oidx[:axis] + [k] + oidx[axis:]
            v = em.elem(x, at)
            total = b.fadd(b.load(acc), v) if dt.is_float else b.add(b.load(acc), v)
            b.store(total, acc)
            em.store(out, at, total)

        em.loop((n,), step)

    em.loop(lines, line)


# ---------------------------------------------------------------- matmul

def gemm_layout(view: Strided) -> tuple[int, int] | None:
    """(CBLAS transpose flag, leading dimension) for the last two axes of a view,
    or None when BLAS cannot read it in place (a broadcast row or column)."""
    r, c = view.shape[-2:]
    sr, sc = view.strides[-2:]
    if r == 1:
        sr = max(c, 1)
    if c == 1:
        sc = 1
    if sc == 1 and sr >= max(1, c):
        return blas.NO_TRANS, sr
    if sr == 1 and sc >= max(1, r):
        return blas.TRANS, sc
    return None


def _i32(v: int) -> ir.Constant:
    return ir.Constant(I32, v)


def matmul(em, instr, out: Strided) -> None:
    """out = a @ b (gemm with beta = 0)."""
    _gemm(em, instr, out, *instr.operands, alpha=1.0, accumulate=False)


def matmul_add(em, instr, out: Strided) -> None:
    """out = c + alpha * (a @ b): c (an elementwise expression, fused here) is written
    into `out` first, then gemm accumulates with beta = 1, so the product never has
    a buffer of its own and is read once (the SGD update of a gradient, say)."""
    c, a, bb = instr.operands

    def copy_in():
        em.loop(out.shape, lambda idx: em.store(out, idx, em.elem(c, idx)))

    if not isinstance(c, Param):
        copy_in()
    else:  # out may be c's own buffer (donated): then there is nothing to copy.  (No
        # fused expression here, so _guarded never runs this nest twice.)
        b, origin = em.b, [em.i64(0)] * len(out.shape)
        same = b.icmp_unsigned("==", b.ptrtoint(em.element_ptr(em.view(c), origin), I64),
                               b.ptrtoint(em.element_ptr(out, origin), I64))
        copy, done = em.func.append_basic_block("acc_copy"), em.func.append_basic_block("acc_done")
        b.cbranch(same, done, copy)
        b.position_at_end(copy)
        copy_in()
        em.b.branch(done)
        em.b.position_at_end(done)
    _gemm(em, instr, out, a, bb, alpha=float(instr.attrs["alpha"]), accumulate=True)


def _gemm(em, instr, out: Strided, a, bb, *, alpha: float, accumulate: bool) -> None:
    A, B = em.view(a), em.view(bb)
    *batch, m, k = a.shape
    n = bb.shape[-1]
    if k == 0:  # an empty sum: zeros (plus what `out` holds already)
        if not accumulate:
            em.loop(out.shape, lambda idx: em.store(out, idx, em.zero(instr.dtype)))
        return
    gemm = em.blas(instr.dtype)
    zero = [em.i64(0), em.i64(0)]
    as_products = matmul_writes_products(a.shape, bb.shape)

    def outer_product(bidx):
        """Each element is one product, written as is (a -0 stays -0), where PyTorch's mm
        does so (ir.primitives.matmul_writes_products); BLAS would add it to +0."""
        def at(ij):
            prod = em.b.fmul(em.load(A, bidx + [ij[0], zero[0]]), em.load(B, bidx + [zero[0], ij[1]]))
            em.store(out, bidx + ij, prod)
        em.loop((m, n), at)

    def per_batch(bidx):
        if as_products and not accumulate and instr.dtype.is_float:
            outer_product(bidx)
            return
        if instr.dtype is f16:
            _dot_loop(em, A, B, out, bidx, m, n, k, alpha, accumulate)
            return
        if gemm is None:
            _gemm_loop(em, A, B, out, bidx, m, n, k, alpha, accumulate)
            return
        (ta, lda), (tb, ldb) = gemm_layout(A), gemm_layout(B)
        scale = em.const(instr.dtype, alpha)
        beta = em.const(instr.dtype, 1.0 if accumulate else 0.0)
        em.b.call(gemm, [_i32(blas.ROW_MAJOR), _i32(ta), _i32(tb), em.i64(m), em.i64(n), em.i64(k),
                         scale, em.element_ptr(A, bidx + zero), em.i64(lda),
                         em.element_ptr(B, bidx + zero), em.i64(ldb),
                         beta, em.element_ptr(out, bidx + zero), em.i64(n)])

    em.loop(tuple(batch), per_batch)


def _gemm_loop(em, A, B, C, bidx, m, n, k, alpha=1.0, accumulate=False, tile=4):
    """C = alpha * A @ B (+ C when accumulating) for one batch: `tile` rows of C share
    each row of B."""
    b, dt = em.b, C.dtype
    if not accumulate:
        em.loop((m, n), lambda ij: em.store(C, bidx + ij, em.zero(dt)))

    def rows(i0, count):
        def over_p(p):
            avals = [em.load(A, bidx + [b.add(i0, em.i64(r)), p[0]]) for r in range(count)]
            if alpha != 1.0:
                avals = [b.fmul(av, em.const(dt, alpha)) for av in avals]

            def over_j(j):
                bv = em.load(B, bidx + [p[0], j[0]])
                for r, av in enumerate(avals):
                    at = bidx + [b.add(i0, em.i64(r)), j[0]]
                    prod = b.fmul(av, bv, flags=("contract",))
                    em.store(C, at, b.fadd(em.load(C, at), prod, flags=("contract",)))

            em.loop((n,), over_j)

        em.loop((k,), over_p)

    tiles = m // tile
    em.loop((tiles,), lambda t: rows(b.mul(t[0], em.i64(tile)), tile))
    for i in range(tiles * tile, m):
        rows(em.i64(i), 1)


def _dot_loop(em, A, B, C, bidx, m, n, k, alpha=1.0, accumulate=False):
    """C = alpha * A @ B (+ C) for one batch with a float32 accumulator per element of C,
    rounded once when stored: float16 as PyTorch's CPU gemm computes it."""
    b, dt = em.b, C.dtype

    def per_element(ij):
        acc = em.alloca(em.scalar_type(dt))
        b.store(em.zero(dt), acc)
        em.loop((k,), lambda p: b.store(b.fadd(b.load(acc), b.fmul(
            em.load(A, bidx + [ij[0], p[0]]), em.load(B, bidx + [p[0], ij[1]]))), acc))
        total = b.load(acc)
        if alpha != 1.0:
            total = b.fmul(total, em.const(dt, alpha))
        if accumulate:
            total = b.fadd(em.load(C, bidx + ij), total)
        em.store(C, bidx + ij, total)

    em.loop((m, n), per_element)
