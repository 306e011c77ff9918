"""Reverse-mode rules, one per differentiable primitive, written in IR.

A rule gets the builder, the forward instruction and the cotangent of its
result, and returns one cotangent per operand (None: a symbolic zero).  Rules
emit primitives, never numpy, so an adjoint is ordinary IR that the same pass
differentiates again: second and third derivatives need no extra code.  The
pass sets `b.loc` to the forward instruction's location before calling a rule,
so everything a rule emits points at the user's line.

Edge cases follow PyTorch's derivative formulas:

* `max`/`min` of two variables split a tie evenly (torch.maximum); a NaN
  operand gives both operands the whole gradient (the comparisons are false).
* `max`/`min` against a `full` (a scalar the tracer made into a tensor, as in
  relu = max(x, 0)) send nothing through a tie: relu'(0) = 0 as in torch.relu,
  and NaN still passes the gradient (threshold_backward); the mask is read from
  the result, as threshold_backward does.  The price: clamp
  built from max/min also gives 0 at its bounds where torch.clamp gives 1; a
  tracer wanting that should build clamp as select(x < lo, lo, x).
* `reduce_max` shares the gradient evenly among the maxima, NaN elements
  counting as maxima (torch.max() / amax).
* `pow`: no gradient to x where y == 0, none to y where x == 0 and y >= 0.
* `sqrt`, `logistic`, `tanh` and `exp` use their output, as PyTorch does.
"""
from __future__ import annotations

from typing import Callable, Optional

from . import primitives as P
from .builder import Builder
from .core import Instr, TensorType, Value
from .dtypes import bool_
from .primitives import Primitive

Rule = Callable[[Builder, Instr, Value], list[Optional[Value]]]

VJP_RULES: dict[Primitive, Rule] = {}

#: Primitives whose operands never receive a gradient: their result is
#: piecewise constant in them (comparisons, argmax, sign), is not a function of
#: any operand (sources), or is cut on purpose (stop_gradient).  `convert` to
#: an integer or bool type and integer operands are cut by the pass itself:
#: only floating point values carry gradients.
NON_DIFFERENTIABLE: frozenset[Primitive] = frozenset({
    P.eq, P.ne, P.lt, P.le, P.gt, P.ge, P.argmax, P.sign,
    P.full, P.constant, P.iota, P.stop_gradient,
    P.floor, P.ceil, P.round, P.trunc,  # maths surface: piecewise constant
})


def missing_vjp_rules() -> list[Primitive]:
    """Primitives with neither a rule nor a non-differentiable declaration."""
    return [p for p in P.PRIMITIVES.values()
            if p not in VJP_RULES and p not in NON_DIFFERENTIABLE]


def defvjp(*prims: Primitive):
    def register(rule: Rule) -> Rule:
        for prim in prims:
            VJP_RULES[prim] = rule
        return rule
    return register


# ---------------------------------------------------------------- helpers

def _fill(b: Builder, like: Value, value) -> Value:
    return b.full(like.type, value)


def _bool_fill(b: Builder, like: Value, value: bool) -> Value:
    return b.full(like.type.with_dtype(bool_), value)


def _swap_last_two(b: Builder, x: Value) -> Value:
    perm = list(range(len(x.shape)))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    return b.transpose(x, perm=tuple(perm))


def _reshape_to(b: Builder, x: Value, shape) -> Value:
    return x if x.shape == tuple(shape) else b.reshape(x, shape=tuple(shape))


def _expand(b: Builder, v: Value, axes, full: TensorType) -> Value:
    """Undo a reduction over `axes`: put the axes back as size 1, broadcast to `full`."""
    kept = [1 if i in axes else d for i, d in enumerate(full.shape)]
    v = _reshape_to(b, v, kept)
    return v if v.shape == full.shape else b.broadcast(v, shape=full.shape)


def _is_fill(v: Value) -> bool:
    """A `full`, maybe reshaped or broadcast: a scalar the tracer turned into a tensor."""
    while isinstance(v, Instr) and v.prim in (P.broadcast, P.reshape):
        v = v.operands[0]
    return isinstance(v, Instr) and v.prim is P.full


# ---------------------------------------------------------------- unary

@defvjp(P.neg)
def _neg(b, instr, ct):
    return [b.neg(ct)]


@defvjp(P.abs)
def _abs(b, instr, ct):
    (x,) = instr.operands
    return [b.mul(ct, b.sign(x))]


@defvjp(P.exp)
def _exp(b, instr, ct):
    return [b.mul(ct, instr)]


@defvjp(P.log)
def _log(b, instr, ct):
    (x,) = instr.operands
    return [b.div(ct, x)]


@defvjp(P.log1p)
def _log1p(b, instr, ct):
    (x,) = instr.operands
    return [b.div(ct, b.add(x, _fill(b, x, 1)))]


@defvjp(P.sin)
def _sin(b, instr, ct):
    (x,) = instr.operands
    return [b.mul(ct, b.cos(x))]


@defvjp(P.cos)
def _cos(b, instr, ct):
    (x,) = instr.operands
    return [b.neg(b.mul(ct, b.sin(x)))]


@defvjp(P.tanh)
def _tanh(b, instr, ct):
    return [b.mul(ct, b.sub(_fill(b, instr, 1), b.mul(instr, instr)))]


@defvjp(P.sqrt)
def _sqrt(b, instr, ct):
    return [b.div(ct, b.mul(_fill(b, instr, 2), instr))]


@defvjp(P.logistic)
def _logistic(b, instr, ct):
    return [b.mul(ct, b.mul(b.sub(_fill(b, instr, 1), instr), instr))]


@defvjp(P.convert)
def _convert(b, instr, ct):
    """Float to float converts back; other conversions are cut by the pass."""
    (x,) = instr.operands
    return [b.convert(ct, dtype=x.dtype) if x.dtype.is_float else None]


# ---------------------------------------------------------------- binary

@defvjp(P.add)
def _add(b, instr, ct):
    return [ct, ct]


@defvjp(P.sub)
def _sub(b, instr, ct):
    return [ct, b.neg(ct)]


@defvjp(P.mul)
def _mul(b, instr, ct):
    x, y = instr.operands
    return [b.mul(ct, y), b.mul(ct, x)]


@defvjp(P.div)
def _div(b, instr, ct):
    x, y = instr.operands
    return [b.div(ct, y), b.mul(b.neg(ct), b.div(instr, y))]


@defvjp(P.pow)
def _pow(b, instr, ct):
    x, y = instr.operands
    zero = _fill(b, x, 0)
    # x**0 is constant, even at x = 0; the mask comes before the multiplication by the
    # cotangent, as in PyTorch, so a create_graph gradient's grad_fn is a MulBackward0
    slope = b.select(b.eq(y, zero), zero, b.mul(y, b.pow(x, b.sub(y, _fill(b, y, 1)))))
    dx = b.mul(ct, slope)
    # At x == 0 with y >= 0, x**y * log(x) is 0 * -inf: PyTorch says 0.
    flat = b.select(b.eq(x, zero), b.ge(y, zero), _bool_fill(b, x, False))
    dy = b.mul(ct, b.select(flat, zero, b.mul(instr, b.log(x))))
    return [dx, dy]


def _extremum_rule(beaten: Primitive, beaten_or_tied: Primitive) -> Rule:
    """max/min: the gradient goes to the operand selected (see the module notes)."""
    def rule(b, instr, ct):
        x, y = instr.operands
        zero = _fill(b, ct, 0)
        # against a fill the result tells as much as the operand (max(x, c) <= c exactly
        # when x <= c, NaN included), so the rule reads the result, as PyTorch's relu
        # (threshold_backward) does: changing the result in place is then an error
        # at backward, and the operand need not be kept
        if _is_fill(y):
            return [b.select(b.emit(beaten_or_tied, instr, y), zero, ct), None]
        if _is_fill(x):
            return [None, b.select(b.emit(beaten_or_tied, instr, x), zero, ct)]
        share = b.select(b.eq(x, y), b.mul(ct, _fill(b, ct, 0.5)), ct)
        return [b.select(b.emit(beaten, x, y), zero, share),
                b.select(b.emit(beaten, y, x), zero, share)]
    return rule


VJP_RULES[P.max] = _extremum_rule(P.lt, P.le)
VJP_RULES[P.min] = _extremum_rule(P.gt, P.ge)


@defvjp(P.select)
def _select(b, instr, ct):
    cond, _, _ = instr.operands
    zero = _fill(b, ct, 0)
    return [None, b.select(cond, ct, zero), b.select(cond, zero, ct)]


# ---------------------------------------------------------------- structural

@defvjp(P.broadcast)
def _broadcast(b, instr, ct):
    (x,) = instr.operands
    lead = len(instr.shape) - len(x.shape)
    stretched = [lead + i for i, d in enumerate(x.shape) if d == 1 and instr.shape[lead + i] != 1]
    axes = tuple(range(lead)) + tuple(stretched)
    summed = b.reduce_sum(ct, axes=axes) if axes else ct
    return [_reshape_to(b, summed, x.shape)]


@defvjp(P.reshape)
def _reshape(b, instr, ct):
    (x,) = instr.operands
    return [b.reshape(ct, shape=x.shape)]


@defvjp(P.transpose)
def _transpose(b, instr, ct):
    perm = instr.attrs["perm"]
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return [b.transpose(ct, perm=tuple(inverse))]


@defvjp(P.slice)
def _slice(b, instr, ct):
    """Scatter back with a pad: `step - 1` zeros between kept elements."""
    (x,) = instr.operands
    start, step = instr.attrs["start"], instr.attrs["step"]
    spans = [n + max(n - 1, 0) * (s - 1) for n, s in zip(instr.shape, step)]
    high = tuple(d - a - span for d, a, span in zip(x.shape, start, spans))
    return [b.pad(ct, low=tuple(start), high=high, interior=tuple(s - 1 for s in step))]


@defvjp(P.pad)
def _pad(b, instr, ct):
    """Gather the original elements back with a strided slice."""
    (x,) = instr.operands
    low, interior = instr.attrs["low"], instr.attrs["interior"]
    stop = tuple(lo + max(d - 1, 0) * (it + 1) + (1 if d else 0)
                 for d, lo, it in zip(x.shape, low, interior))
    return [b.slice(ct, start=tuple(low), stop=stop, step=tuple(it + 1 for it in interior))]


@defvjp(P.concatenate)
def _concatenate(b, instr, ct):
    axis = instr.attrs["axis"]
    grads, offset = [], 0
    for x in instr.operands:
        start = [0] * len(x.shape)
        stop = list(ct.shape)
        start[axis], stop[axis] = offset, offset + x.shape[axis]
        grads.append(b.slice(ct, start=tuple(start), stop=tuple(stop), step=(1,) * len(start)))
        offset += x.shape[axis]
    return grads


# ---------------------------------------------------------------- reductions, matmul

@defvjp(P.reduce_sum)
def _reduce_sum(b, instr, ct):
    (x,) = instr.operands
    return [_expand(b, ct, instr.attrs["axes"], x.type)]


@defvjp(P.reduce_max)
def _reduce_max(b, instr, ct):
    (x,) = instr.operands
    axes = instr.attrs["axes"]
    peak = _expand(b, instr, axes, x.type)
    is_nan = b.ne(x, x)  # a NaN is the maximum of its group, so it counts as one
    is_peak = b.select(is_nan, _bool_fill(b, x, True), b.eq(x, peak))
    count = b.reduce_sum(b.convert(is_peak, dtype=x.dtype), axes=axes)
    share = _expand(b, b.div(ct, count), axes, x.type)
    return [b.select(is_peak, share, _fill(b, x, 0))]


@defvjp(P.matmul)
def _matmul(b, instr, ct):
    x, y = instr.operands
    return [b.matmul(ct, _swap_last_two(b, y)), b.matmul(_swap_last_two(b, x), ct)]


@defvjp(P.matmul_add)
def _matmul_add(b, instr, ct):
    _, x, y = instr.operands
    scaled = b.mul(ct, _fill(b, ct, instr.attrs["alpha"]))
    return [ct, b.matmul(scaled, _swap_last_two(b, y)), b.matmul(_swap_last_two(b, x), scaled)]


# ---------------------------------------------------------------- maths surface (issue 15)
# PyTorch's formulas (derivatives.yaml), from primitives so they differentiate again.

@defvjp(P.expm1)
def _expm1(b, instr, ct):
    return [b.mul(ct, b.add(instr, _fill(b, instr, 1)))]


_TWO_OVER_SQRT_PI = 1.1283791670955126


@defvjp(P.erf)
def _erf(b, instr, ct):
    (x,) = instr.operands
    slope = b.mul(_fill(b, x, _TWO_OVER_SQRT_PI), b.exp(b.neg(b.mul(x, x))))
    return [b.mul(ct, slope)]


@defvjp(P.erfc)
def _erfc(b, instr, ct):
    (x,) = instr.operands
    slope = b.mul(_fill(b, x, -_TWO_OVER_SQRT_PI), b.exp(b.neg(b.mul(x, x))))
    return [b.mul(ct, slope)]


@defvjp(P.atan)
def _atan(b, instr, ct):
    (x,) = instr.operands
    return [b.div(ct, b.add(b.mul(x, x), _fill(b, x, 1)))]


def _one_minus_square_rsqrt(b, x):
    """1 / sqrt(1 - x^2), as PyTorch's (-x*x + 1).rsqrt()."""
    return b.div(_fill(b, x, 1), b.sqrt(b.sub(_fill(b, x, 1), b.mul(x, x))))


@defvjp(P.asin)
def _asin(b, instr, ct):
    (x,) = instr.operands
    return [b.mul(ct, _one_minus_square_rsqrt(b, x))]


@defvjp(P.acos)
def _acos(b, instr, ct):
    (x,) = instr.operands
    return [b.mul(b.neg(ct), _one_minus_square_rsqrt(b, x))]


@defvjp(P.atan2)
def _atan2(b, instr, ct):
    y, x = instr.operands  # atan2(input, other): input is the ordinate
    recip = b.div(_fill(b, x, 1), b.add(b.mul(x, x), b.mul(y, y)))
    return [b.mul(ct, b.mul(x, recip)), b.mul(ct, b.mul(b.neg(y), recip))]


@defvjp(P.hypot)
def _hypot(b, instr, ct):
    x, y = instr.operands  # PyTorch: grad * x / result (NaN at the origin, as there)
    return [b.mul(ct, b.div(x, instr)), b.mul(ct, b.div(y, instr))]


@defvjp(P.cumsum)
def _cumsum(b, instr, ct):
    """Each input element reaches every later output: the running sum from the other end."""
    return [b.cumsum(ct, axis=instr.attrs["axis"], reverse=not instr.attrs["reverse"])]


@defvjp(P.fmod)
def _fmod(b, instr, ct):
    x, y = instr.operands  # fmod(x, y) = x - trunc(x / y) y
    return [ct, b.mul(b.neg(ct), b.trunc(b.div(x, y)))]

# ---------------------------------------------------------------- dynamic indexing
# gather and scatter_add are each other's transpose; the indices never get a gradient.

@defvjp(P.gather)
def _gather(b, instr, ct):
    x, *indices = instr.operands
    axes = instr.attrs["axes"]
    return [b.scatter_add(_fill(b, x, 0), ct, *indices, axes=axes)] + [None] * len(indices)


@defvjp(P.scatter_add)
def _scatter_add(b, instr, ct):
    _, _, *indices = instr.operands
    axes = instr.attrs["axes"]
    return [ct, b.gather(ct, *indices, axes=axes)] + [None] * len(indices)


@defvjp(P.scatter)
def _scatter(b, instr, ct):
    """The base's written elements get nothing; every source element gets the cotangent
    at its destination (duplicates included, as PyTorch's index_put_ backward does)."""
    _, src, *indices = instr.operands
    axes = instr.attrs["axes"]
    return ([b.scatter(ct, _fill(b, src, 0), *indices, axes=axes),
             b.gather(ct, *indices, axes=axes)] + [None] * len(indices))


# ---------------------------------------------------------------- softmax and its kin
# Each is one kernel (PyTorch's arithmetic); its backward is a primitive too, so first
# derivatives have PyTorch's bits, and these rules of the backward kernels give the second.

def sum_along(b: Builder, v: Value, axis: int) -> Value:
    """sum(v, axis, keepdim=True), broadcast back to v's shape."""
    return _expand(b, b.reduce_sum(v, axes=(axis,)), (axis,), v.type)


@defvjp(P.softmax)
def _softmax(b, instr, ct):
    return [b.softmax_backward_data(ct, instr, axis=instr.attrs["axis"])]


@defvjp(P.log_softmax)
def _log_softmax(b, instr, ct):
    return [b.log_softmax_backward_data(ct, instr, axis=instr.attrs["axis"])]


@defvjp(P.softmax_backward_data)
def _softmax_backward_data(b, instr, ct):
    """z = (g - sum(g y)) y: the g part is symmetric (the same kernel on the cotangent);
    y gets ct (g - sum(g y)) - g sum(ct y)."""
    g, y = instr.operands
    axis = instr.attrs["axis"]
    ct_y = b.sub(b.mul(ct, b.sub(g, sum_along(b, b.mul(g, y), axis))),
                 b.mul(g, sum_along(b, b.mul(ct, y), axis)))
    return [b.softmax_backward_data(ct, y, axis=axis), ct_y]


@defvjp(P.log_softmax_backward_data)
def _log_softmax_backward_data(b, instr, ct):
    """z = g - exp(y) sum(g): g gets ct - sum(ct exp(y)); y gets -ct exp(y) sum(g)."""
    g, y = instr.operands
    axis = instr.attrs["axis"]
    e = b.exp(y)
    ct_g = b.sub(ct, sum_along(b, b.mul(ct, e), axis))
    return [ct_g, b.neg(b.mul(b.mul(ct, e), sum_along(b, g, axis)))]
