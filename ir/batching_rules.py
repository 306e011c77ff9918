"""Batching rules, one per primitive (the table beside VJP_RULES and JVP_RULES).

The batching pass (ir/batching.py) keeps every batched value's batch axis first, so a
rule sees operands whose batch axis is 0 (`batched[k]` True) or absent, at least one
batched, and returns the batched result, batch axis 0.  Rules emit primitives; an
unbatched operand is broadcast (a view in compiled code) only where the primitive
needs every operand batched, and a matmul against an unbatched matrix folds the batch
into the rows instead (one large product, not B small ones).
"""
from __future__ import annotations

from typing import Callable, Sequence

from . import primitives as P
from .builder import Builder
from .core import Instr, Value
from .dtypes import i64
from .primitives import OpGroup, Primitive

Rule = Callable[[Builder, Instr, Sequence[Value], Sequence[bool], int], Value]

BATCHING_RULES: dict[Primitive, Rule] = {}


def defbatch(*prims: Primitive):
    def register(rule: Rule) -> Rule:
        for prim in prims:
            BATCHING_RULES[prim] = rule
        return rule
    return register


def missing_batching_rules() -> list[Primitive]:
    return [p for p in P.PRIMITIVES.values() if p not in BATCHING_RULES]


def batch_all(b: Builder, operands, batched, size: int) -> list[Value]:
    """Every operand with a leading batch axis (unbatched ones broadcast to it)."""
    return [x if bx else b.broadcast(x, shape=(size,) + x.shape)
            for x, bx in zip(operands, batched)]


def _shift(axes) -> tuple[int, ...]:
    return tuple(a + 1 for a in axes)


# ---------------------------------------------------------------- elementwise

@defbatch(*[p for p in P.PRIMITIVES.values()
            if p.group in (OpGroup.UNARY, OpGroup.BINARY, OpGroup.COMPARE, OpGroup.SELECT)])
def _elementwise(b, instr, operands, batched, size):
    return b.emit(instr.prim, *batch_all(b, operands, batched, size), **instr.attrs)


@defbatch(P.full, P.constant, P.iota)
def _source(b, instr, operands, batched, size):
    """Sources have no operands, so the pass never calls this: they stay unbatched."""
    raise AssertionError(f"{instr.prim.name} has no operand to be batched")


# ---------------------------------------------------------------- structural

@defbatch(P.broadcast)
def _broadcast(b, instr, operands, batched, size):
    (x,) = operands
    shape = instr.attrs["shape"]
    lead = len(shape) - (len(x.shape) - 1)
    if lead:  # the new leading axes go after the batch axis
        x = b.reshape(x, shape=(size,) + (1,) * lead + x.shape[1:])
    return b.broadcast(x, shape=(size,) + tuple(shape))


@defbatch(P.reshape)
def _reshape(b, instr, operands, batched, size):
    return b.reshape(operands[0], shape=(size,) + tuple(instr.attrs["shape"]))


@defbatch(P.transpose)
def _transpose(b, instr, operands, batched, size):
    return b.transpose(operands[0], perm=(0,) + _shift(instr.attrs["perm"]))


@defbatch(P.slice)
def _slice(b, instr, operands, batched, size):
    a = instr.attrs
    return b.slice(operands[0], start=(0,) + tuple(a["start"]),
                   stop=(size,) + tuple(a["stop"]), step=(1,) + tuple(a["step"]))


@defbatch(P.pad)
def _pad(b, instr, operands, batched, size):
    a = instr.attrs
    return b.pad(operands[0], low=(0,) + tuple(a["low"]), high=(0,) + tuple(a["high"]),
                 interior=(0,) + tuple(a["interior"]))


@defbatch(P.concatenate)
def _concatenate(b, instr, operands, batched, size):
    return b.concatenate(*batch_all(b, operands, batched, size), axis=instr.attrs["axis"] + 1)


# ---------------------------------------------------------------- reductions

@defbatch(P.reduce_sum, P.reduce_max)
def _reduce(b, instr, operands, batched, size):
    return b.emit(instr.prim, operands[0], axes=_shift(instr.attrs["axes"]))


@defbatch(P.argmax)
def _argmax(b, instr, operands, batched, size):
    return b.argmax(operands[0], axis=instr.attrs["axis"] + 1)


@defbatch(P.cumsum)
def _cumsum(b, instr, operands, batched, size):
    return b.cumsum(operands[0], axis=instr.attrs["axis"] + 1, reverse=instr.attrs["reverse"])


# ---------------------------------------------------------------- matmul

def _fold_rows(b, x, y, size):
    """(B, *k, m, n) @ (*k, n, p): the batch joins the rows, one product of B*m rows."""
    nd = len(x.shape)
    inner = tuple(range(1, nd - 2))
    moved = b.transpose(x, perm=inner + (0, nd - 2, nd - 1))  # (*k, B, m, n)
    m, n = x.shape[-2], x.shape[-1]
    rows = b.reshape(moved, shape=x.shape[1:-2] + (size * m, n))
    out = b.matmul(rows, y)  # (*k, B*m, p)
    out = b.reshape(out, shape=x.shape[1:-2] + (size, m, y.shape[-1]))
    k = len(inner)
    return b.transpose(out, perm=(k,) + tuple(range(k)) + (k + 1, k + 2))


def _fold_columns(b, x, y, size):
    """(*k, m, n) @ (B, *k, n, p): the batch joins the columns."""
    nd = len(y.shape)
    inner = tuple(range(1, nd - 2))
    moved = b.transpose(y, perm=inner + (nd - 2, 0, nd - 1))  # (*k, n, B, p)
    n, p = y.shape[-2], y.shape[-1]
    cols = b.reshape(moved, shape=y.shape[1:-2] + (n, size * p))
    out = b.matmul(x, cols)  # (*k, m, B*p)
    m = x.shape[-2]
    out = b.reshape(out, shape=y.shape[1:-2] + (m, size, p))
    k = len(inner)
    return b.transpose(out, perm=(k + 1,) + tuple(range(k)) + (k, k + 2))


@defbatch(P.matmul)
def _matmul(b, instr, operands, batched, size):
    x, y = operands
    bx, by = batched
    if bx and by:
        return b.matmul(x, y)
    return _fold_rows(b, x, y, size) if bx else _fold_columns(b, x, y, size)


@defbatch(P.matmul_add)
def _matmul_add(b, instr, operands, batched, size):
    return b.matmul_add(*batch_all(b, operands, batched, size), alpha=instr.attrs["alpha"])


# ---------------------------------------------------------------- dynamic indexing

@defbatch(P.gather)
def _gather(b, instr, operands, batched, size):
    """The batch axis is not indexed: position (k, p) reads x[k, ...] itself.  An
    unbatched operand is read as batch row 0 of a size-1 batch axis."""
    x, *indices = operands
    axes = _shift(instr.attrs["axes"])
    indices = batch_all(b, indices, batched[1:], size)
    if batched[0]:
        return b.gather(x, *indices, axes=axes)
    one = b.reshape(x, shape=(1,) + x.shape)
    row0 = b.full(indices[0].type.with_dtype(i64), 0)
    return b.gather(one, row0, *indices, axes=(0,) + axes)


@defbatch(P.scatter_add, P.scatter)
def _scatter(b, instr, operands, batched, size):
    return b.emit(instr.prim, *batch_all(b, operands, batched, size),
                  axes=_shift(instr.attrs["axes"]))


@defbatch(P.softmax, P.log_softmax, P.softmax_backward_data, P.log_softmax_backward_data)
def _softmax(b, instr, operands, batched, size):
    """The batch axis goes first, so the softmax axis moves one on (and stays the last
    axis if it was: the same kernel, the same bits)."""
    return b.emit(instr.prim, *batch_all(b, operands, batched, size),
                  axis=instr.attrs["axis"] + 1)
