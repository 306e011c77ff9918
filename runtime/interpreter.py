"""The numpy reference interpreter: runs any IR function primitive by primitive.

It is the oracle every backend is tested against, so each rule is the plainest
numpy that states the primitive's meaning (NaN propagation included).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..ir import primitives as P
from ..ir.core import Function, Instr, Param, TensorType
from ..ir.primitives import Primitive

IMPLS: dict[Primitive, Callable[..., np.ndarray]] = {}


def impl(prim: Primitive):
    def register(fn):
        IMPLS[prim] = fn
        return fn
    return register


def _elementwise(prim: Primitive, fn):
    IMPLS[prim] = fn



for _prim, _fn in [
    (P.neg, np.negative), (P.abs_, np.abs), (P.sign, np.sign), (P.exp, np.exp),
    (P.log, np.log), (P.log1p, np.log1p), (P.sin, np.sin), (P.cos, np.cos),
    (P.tanh, np.tanh), (P.sqrt, np.sqrt),
    (P.add, np.add), (P.sub, np.subtract), (P.mul, np.multiply),
    (P.max_, np.maximum), (P.min_, np.minimum),  # both propagate NaN
    (P.eq, np.equal), (P.ne, np.not_equal), (P.lt, np.less), (P.le, np.less_equal),
    (P.gt, np.greater), (P.ge, np.greater_equal),
]:
    _elementwise(_prim, _fn)


@impl(P.logistic)
def _logistic(x):
    # exp(-|x|) never overflows; pick the branch by sign.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@impl(P.div)
def _div(x, y):
    if x.dtype.kind in "iu":  # integer division truncates toward zero (C semantics)
        with np.errstate(all="ignore"):
            q = np.where(y == 0, 0, np.abs(x) // np.where(y == 0, 1, np.abs(y)))
        return (q * np.sign(x) * np.sign(y)).astype(x.dtype)
    return np.divide(x, y)


@impl(P.pow_)
def _pow(x, y):
    if x.dtype.kind in "iu":
        # A negative exponent truncates 1/x**|y| toward zero, as integer division
        # does: 1 for x == 1, +-1 for x == -1, else 0 (0 for x == 0 too).
        pos = np.power(x, np.maximum(y, 0))
        neg = np.where(x == 1, 1, np.where(x == -1, np.where(y % 2 == 0, 1, -1), 0))
        return np.where(y >= 0, pos, neg)
    return np.power(x, y)


@impl(P.select)
def _select(c, x, y):
    return np.where(c, x, y)


@impl(P.convert)
def _convert(x, *, dtype):
    return x.astype(dtype.np)


@impl(P.stop_gradient)
def _stop_gradient(x):
    return x


@impl(P.broadcast)
def _broadcast(x, *, shape):
    return np.broadcast_to(x, shape)


@impl(P.reshape)
def _reshape(x, *, shape):
    return np.reshape(x, shape)


@impl(P.transpose)
def _transpose(x, *, perm):
    return np.transpose(x, perm)


@impl(P.slice_)
def _slice(x, *, start, stop, step):
    return x[tuple(slice(a, b, s) for a, b, s in zip(start, stop, step))]


@impl(P.pad)
def _pad(x, *, low, high, interior):
    shape = [lo + hi + d + max(d - 1, 0) * it
             for d, lo, hi, it in zip(x.shape, low, high, interior)]
    out = np.zeros(shape, x.dtype)
    out[tuple(slice(lo, lo + max(d - 1, 0) * (it + 1) + 1 if d else lo, it + 1)
              for d, lo, it in zip(x.shape, low, interior))] = x
    return out


@impl(P.concatenate)
def _concatenate(*xs, axis):
    return np.concatenate(xs, axis=axis)


@impl(P.reduce_sum)
def _reduce_sum(x, *, axes):
    return np.sum(x, axis=tuple(axes), dtype=x.dtype)


@impl(P.reduce_max)
def _reduce_max(x, *, axes):
    if x.size == 0 and any(x.shape[a] == 0 for a in axes):
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        shape = [d for i, d in enumerate(x.shape) if i not in axes]
        return np.full(shape, fill, x.dtype)
    return np.max(x, axis=tuple(axes))  # np.max propagates NaN


@impl(P.argmax)
def _argmax(x, *, axis):
    if x.dtype.kind == "f":  # NaN counts as the maximum (its first occurrence), as in PyTorch
        nan = np.isnan(x)
        first_nan = np.argmax(nan, axis=axis)
        return np.where(np.any(nan, axis=axis), first_nan, np.argmax(x, axis=axis)).astype(np.int64)
    return np.argmax(x, axis=axis).astype(np.int64)


@impl(P.matmul)
def _matmul(a, b):
    return np.matmul(a, b)


@impl(P.full)
def _full(*, value, type):
    return np.full(type.shape, value, type.dtype.np)


@impl(P.constant)
def _constant(*, value, type):
    view = value.view()  # read-only, so no caller can change the IR's constant through it
    view.flags.writeable = False
    return view


@impl(P.iota)
def _iota(*, axis, type):
    shape = [1] * type.ndim
    shape[axis] = type.shape[axis]
    return np.broadcast_to(np.arange(type.shape[axis], dtype=np.int64).reshape(shape),
                           type.shape).copy()


def eval_prim(prim: Primitive, args: Sequence[np.ndarray], attrs: dict,
              type: TensorType) -> np.ndarray:
    """One primitive on concrete operands; the result has exactly the IR type."""
    fn = IMPLS[prim]
    with np.errstate(all="ignore"):
        if prim.nullary_typed:
            out = fn(type=type, **attrs)
        else:
            out = fn(*args, **attrs)
    out = np.asarray(out)
    if out.dtype != type.dtype.np:
        out = out.astype(type.dtype.np)
    return out


def eval_instr(instr: Instr, args: Sequence[np.ndarray]) -> np.ndarray:
    return eval_prim(instr.prim, args, instr.attrs, instr.type)


def interpret(fn: Function, args: Sequence) -> list[np.ndarray]:
    """Run `fn` on numpy arrays; returns one array per result."""
    if len(args) != len(fn.params):
        raise TypeError(f"@{fn.name} takes {len(fn.params)} arguments, got {len(args)}")
    env: dict[int, np.ndarray] = {}
    for p, a in zip(fn.params, args):
        a = np.asarray(a)
        if a.shape != p.type.shape or a.dtype != p.type.dtype.np:
            raise TypeError(f"@{fn.name}: argument of type {p.type} got an array "
                            f"{a.dtype}{list(a.shape)}")
        env[id(p)] = a
    for instr in fn.body:
        env[id(instr)] = eval_instr(instr, [env[id(o)] for o in instr.operands])
    return _owned([env[id(r)] for r in fn.results], args)


def _owned(results: list[np.ndarray], args: Sequence) -> list[np.ndarray]:
    """Copy results that are views of an argument, of a constant, or of one another.

    Rules may return views (reshape, broadcast, stop_gradient); the caller of
    `interpret` gets arrays it may write without changing its inputs or the IR.
    """
    taken = [a for a in args if isinstance(a, np.ndarray)]
    out = []
    for r in results:
        if not r.flags.writeable or any(np.may_share_memory(r, t) for t in taken):
            r = r.copy()
        taken.append(r)
        out.append(r)
    return out
