"""Forward-mode rules, one per primitive, written in IR (the table beside VJP_RULES).

A rule gets the builder, the primal instruction (already computed: rules may read
it and its operands) and one tangent per operand (None: a symbolic zero), and
returns the result's tangent (None: zero).  Every rule is the transpose of the
instruction's VJP rule in ir/vjp_rules.py, edge cases included (ties of max/min,
relu against a fill, NaN maxima, pow at zero), so <u, J v> = <J^T u, v> holds
exactly; tests/ir/test_forward_mode.py checks that for every primitive.  Rules
emit primitives, so a JVP program is ordinary IR: it can be differentiated,
batched and compiled like any other.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from . import primitives as P
from .builder import Builder
from .core import Instr, Value
from .dtypes import bool_
from .primitives import Primitive
from .vjp_rules import _TWO_OVER_SQRT_PI, _is_fill, sum_along

Rule = Callable[[Builder, Instr, Sequence[Optional[Value]]], Optional[Value]]

JVP_RULES: dict[Primitive, Rule] = {}


def defjvp(*prims: Primitive):
    def register(rule: Rule) -> Rule:
        for prim in prims:
            JVP_RULES[prim] = rule
        return rule
    return register


def missing_jvp_rules() -> list[Primitive]:
    return [p for p in P.PRIMITIVES.values() if p not in JVP_RULES]


# ---------------------------------------------------------------- helpers

def _fill(b, like: Value, value) -> Value:
    return b.full(like.type, value)


def _zero_if_none(b, t: Value | None, like: Value) -> Value:
    return _fill(b, like, 0) if t is None else t


def _sum(b, *terms: Value | None) -> Value | None:
    """The sum of the non-zero terms (None when all are zero)."""
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else b.add(out, t)
    return out


def _scaled(b, t: Value | None, factor: Value) -> Value | None:
    return None if t is None else b.mul(t, factor)


def _same_op(b, instr: Instr, *operands: Value) -> Value:
    return b.emit(instr.prim, *operands, **instr.attrs)


# ---------------------------------------------------------------- no tangent

@defjvp(P.eq, P.ne, P.lt, P.le, P.gt, P.ge, P.argmax, P.sign, P.full, P.constant, P.iota,
        P.stop_gradient, P.floor, P.ceil, P.round, P.trunc)
def _zero(b, instr, tangents):
    """Piecewise constant, not a function of an operand, or cut on purpose."""
    return None


# ---------------------------------------------------------------- linear: the same op on tangents

@defjvp(P.neg, P.broadcast, P.reshape, P.transpose, P.slice, P.pad, P.reduce_sum, P.cumsum)
def _linear_unary(b, instr, tangents):
    (t,) = tangents
    return None if t is None else _same_op(b, instr, t)


@defjvp(P.concatenate)
def _concatenate(b, instr, tangents):
    if all(t is None for t in tangents):
        return None
    return _same_op(b, instr, *(_zero_if_none(b, t, x)
                                for t, x in zip(tangents, instr.operands)))


@defjvp(P.add)
def _add(b, instr, tangents):
    return _sum(b, *tangents)


@defjvp(P.sub)
def _sub(b, instr, tangents):
    tx, ty = tangents
    return _sum(b, tx, None if ty is None else b.neg(ty))


@defjvp(P.convert)
def _convert(b, instr, tangents):
    (t,) = tangents
    if t is None or not instr.operands[0].dtype.is_float or not instr.dtype.is_float:
        return None
    return b.convert(t, dtype=instr.dtype)


# ---------------------------------------------------------------- unary

@defjvp(P.abs)
def _abs(b, instr, tangents):
    return _scaled(b, tangents[0], b.sign(instr.operands[0]))


@defjvp(P.exp)
def _exp(b, instr, tangents):
    return _scaled(b, tangents[0], instr)


@defjvp(P.log)
def _log(b, instr, tangents):
    (t,) = tangents
    return None if t is None else b.div(t, instr.operands[0])


@defjvp(P.log1p)
def _log1p(b, instr, tangents):
    (t,) = tangents
    x = instr.operands[0]
    return None if t is None else b.div(t, b.add(x, _fill(b, x, 1)))


@defjvp(P.sin)
def _sin(b, instr, tangents):
    return _scaled(b, tangents[0], b.cos(instr.operands[0]))


@defjvp(P.cos)
def _cos(b, instr, tangents):
    (t,) = tangents
    return None if t is None else b.neg(b.mul(t, b.sin(instr.operands[0])))


@defjvp(P.tanh)
def _tanh(b, instr, tangents):
    return _scaled(b, tangents[0], b.sub(_fill(b, instr, 1), b.mul(instr, instr)))


@defjvp(P.sqrt)
def _sqrt(b, instr, tangents):
    (t,) = tangents
    return None if t is None else b.div(t, b.mul(_fill(b, instr, 2), instr))


@defjvp(P.logistic)
def _logistic(b, instr, tangents):
    return _scaled(b, tangents[0], b.mul(b.sub(_fill(b, instr, 1), instr), instr))


@defjvp(P.expm1)
def _expm1(b, instr, tangents):
    return _scaled(b, tangents[0], b.add(instr, _fill(b, instr, 1)))


def _erf_slope(b, x, sign):
    return b.mul(_fill(b, x, sign * _TWO_OVER_SQRT_PI), b.exp(b.neg(b.mul(x, x))))


@defjvp(P.erf)
def _erf(b, instr, tangents):
    return _scaled(b, tangents[0], _erf_slope(b, instr.operands[0], 1))


@defjvp(P.erfc)
def _erfc(b, instr, tangents):
    return _scaled(b, tangents[0], _erf_slope(b, instr.operands[0], -1))


@defjvp(P.atan)
def _atan(b, instr, tangents):
    (t,) = tangents
    x = instr.operands[0]
    return None if t is None else b.div(t, b.add(b.mul(x, x), _fill(b, x, 1)))


def _rsqrt_one_minus_square(b, x):
    return b.div(_fill(b, x, 1), b.sqrt(b.sub(_fill(b, x, 1), b.mul(x, x))))


@defjvp(P.asin)
def _asin(b, instr, tangents):
    return _scaled(b, tangents[0], _rsqrt_one_minus_square(b, instr.operands[0]))


@defjvp(P.acos)
def _acos(b, instr, tangents):
    (t,) = tangents
    slope = _rsqrt_one_minus_square(b, instr.operands[0])
    return None if t is None else b.mul(b.neg(t), slope)


# ---------------------------------------------------------------- binary

@defjvp(P.mul)
def _mul(b, instr, tangents):
    x, y = instr.operands
    tx, ty = tangents
    return _sum(b, _scaled(b, tx, y), None if ty is None else b.mul(x, ty))


@defjvp(P.div)
def _div(b, instr, tangents):
    x, y = instr.operands
    tx, ty = tangents
    return _sum(b, None if tx is None else b.div(tx, y),
                None if ty is None else b.mul(b.neg(ty), b.div(instr, y)))


@defjvp(P.pow)
def _pow(b, instr, tangents):
    """The transpose of the VJP's masks: no slope in x where y == 0, none in y where
    x == 0 and y >= 0."""
    x, y = instr.operands
    tx, ty = tangents
    zero = _fill(b, x, 0)
    dx = dy = None
    if tx is not None:
        slope = b.select(b.eq(y, zero), zero, b.mul(y, b.pow(x, b.sub(y, _fill(b, y, 1)))))
        dx = b.mul(tx, slope)
    if ty is not None:
        flat = b.select(b.eq(x, zero), b.ge(y, zero), b.full(x.type.with_dtype(bool_), False))
        dy = b.mul(ty, b.select(flat, zero, b.mul(instr, b.log(x))))
    return _sum(b, dx, dy)


def _extremum_rule(beaten: Primitive, beaten_or_tied: Primitive) -> Rule:
    """max/min: the tangent of the operand selected, with the VJP's masks."""
    def rule(b, instr, tangents):
        x, y = instr.operands
        tx, ty = tangents
        zero = _fill(b, instr, 0)
        if _is_fill(y):
            return None if tx is None else b.select(b.emit(beaten_or_tied, instr, y), zero, tx)
        if _is_fill(x):
            return None if ty is None else b.select(b.emit(beaten_or_tied, instr, x), zero, ty)
        tie = b.eq(x, y)
        half = _fill(b, instr, 0.5)

        def share(t, mine, other):
            if t is None:
                return None
            shared = b.select(tie, b.mul(t, half), t)
            return b.select(b.emit(beaten, mine, other), zero, shared)
        return _sum(b, share(tx, x, y), share(ty, y, x))
    return rule


JVP_RULES[P.max] = _extremum_rule(P.lt, P.le)
JVP_RULES[P.min] = _extremum_rule(P.gt, P.ge)


@defjvp(P.select)
def _select(b, instr, tangents):
    cond, x, y = instr.operands
    _, tx, ty = tangents
    if tx is None and ty is None:
        return None
    return b.select(cond, _zero_if_none(b, tx, x), _zero_if_none(b, ty, y))


@defjvp(P.atan2)
def _atan2(b, instr, tangents):
    y, x = instr.operands  # atan2(y, x): d = (x dy - y dx) / (x^2 + y^2)
    ty, tx = tangents
    recip = b.div(_fill(b, x, 1), b.add(b.mul(x, x), b.mul(y, y)))
    return _sum(b, _scaled(b, ty, b.mul(x, recip)), _scaled(b, tx, b.mul(b.neg(y), recip)))


@defjvp(P.hypot)
def _hypot(b, instr, tangents):
    x, y = instr.operands
    tx, ty = tangents
    return _sum(b, _scaled(b, tx, b.div(x, instr)), _scaled(b, ty, b.div(y, instr)))


@defjvp(P.fmod)
def _fmod(b, instr, tangents):
    x, y = instr.operands
    tx, ty = tangents
    return _sum(b, tx, None if ty is None else b.mul(b.neg(ty), b.trunc(b.div(x, y))))


# ---------------------------------------------------------------- reductions, matmul

@defjvp(P.reduce_max)
def _reduce_max(b, instr, tangents):
    """The mean of the tangents at the maxima (NaN counts as a maximum), as the VJP shares."""
    (t,) = tangents
    if t is None:
        return None
    (x,) = instr.operands
    axes = instr.attrs["axes"]
    kept = [1 if i in axes else d for i, d in enumerate(x.shape)]
    peak = b.broadcast(b.reshape(instr, shape=tuple(kept)), shape=x.shape)
    is_peak = b.select(b.ne(x, x), b.full(x.type.with_dtype(bool_), True), b.eq(x, peak))
    count = b.reduce_sum(b.convert(is_peak, dtype=x.dtype), axes=axes)
    picked = b.reduce_sum(b.select(is_peak, t, _fill(b, x, 0)), axes=axes)
    return b.div(picked, count)


@defjvp(P.matmul)
def _matmul(b, instr, tangents):
    x, y = instr.operands
    tx, ty = tangents
    return _sum(b, None if tx is None else b.matmul(tx, y),
                None if ty is None else b.matmul(x, ty))


@defjvp(P.matmul_add)
def _matmul_add(b, instr, tangents):
    _, x, y = instr.operands
    tc, tx, ty = tangents
    product = _sum(b, None if tx is None else b.matmul(tx, y),
                   None if ty is None else b.matmul(x, ty))
    if product is not None:
        product = b.mul(product, _fill(b, product, instr.attrs["alpha"]))
    return _sum(b, tc, product)


# ---------------------------------------------------------------- dynamic indexing

@defjvp(P.gather)
def _gather(b, instr, tangents):
    x, *indices = instr.operands
    t = tangents[0]
    return None if t is None else b.gather(t, *indices, axes=instr.attrs["axes"])


@defjvp(P.scatter_add, P.scatter)
def _scatter(b, instr, tangents):
    base, src, *indices = instr.operands
    tb, ts = tangents[:2]
    if tb is None and ts is None:
        return None
    return b.emit(instr.prim, _zero_if_none(b, tb, base), _zero_if_none(b, ts, src), *indices,
                  axes=instr.attrs["axes"])


# ---------------------------------------------------------------- softmax and its kin

@defjvp(P.softmax)
def _softmax(b, instr, tangents):
    """Its Jacobian is symmetric: the backward kernel on the tangent."""
    (t,) = tangents
    return None if t is None else b.softmax_backward_data(t, instr, axis=instr.attrs["axis"])


@defjvp(P.log_softmax)
def _log_softmax(b, instr, tangents):
    (t,) = tangents
    if t is None:
        return None
    return b.sub(t, sum_along(b, b.mul(b.exp(instr), t), instr.attrs["axis"]))


@defjvp(P.softmax_backward_data)
def _softmax_backward_data(b, instr, tangents):
    (g, y), (tg, ty), axis = instr.operands, tangents, instr.attrs["axis"]
    by_g = None if tg is None else b.softmax_backward_data(tg, y, axis=axis)
    by_y = None if ty is None else b.sub(
        b.mul(ty, b.sub(g, sum_along(b, b.mul(g, y), axis))),
        b.mul(y, sum_along(b, b.mul(g, ty), axis)))
    return _sum(b, by_g, by_y)


@defjvp(P.log_softmax_backward_data)
def _log_softmax_backward_data(b, instr, tangents):
    (g, y), (tg, ty), axis = instr.operands, tangents, instr.attrs["axis"]
    by_g = None if tg is None else b.log_softmax_backward_data(tg, y, axis=axis)
    by_y = None if ty is None else b.neg(
        b.mul(b.mul(b.exp(y), ty), sum_along(b, g, axis)))
    return _sum(b, by_g, by_y)
