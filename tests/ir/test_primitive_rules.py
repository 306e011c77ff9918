"""Every primitive against an independent numpy computation: its shape rule gives the
type of numpy's result, and the interpreter gives numpy's values.

`CASES` has one entry per primitive; `test_table_covers_every_primitive` fails when
a primitive is added to the registry without rows here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from tapegrad.ir import PRIMITIVES, Builder, ShapeError, TensorType, dtypes, tensor_type
from tapegrad.ir.primitives import infer_type
from tapegrad.runtime import interpret

from helpers.ir_build import assert_same, roundtrip, single_op
from helpers.region_programs import cond_sin_or_square, scan_tanh_rnn, while_doubling

F32, F64, I64, BOOL = np.float32, np.float64, np.int64, np.bool_
FLOATS = (F32, F64)
#: 0-d, size-1 dims, size-0 dims, ordinary
SHAPES = [(), (1,), (0,), (5,), (2, 1, 3), (2, 0, 3), (3, 4)]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5, 1e-30]


@dataclass
class Case:
    prim: str
    operands: list
    attrs: dict
    ref: Callable  # numpy, computed independently of the interpreter's rules
    type: TensorType | None = None  # the declared type of a source (full, constant, iota)
    rtol: float | None = None
    id: str = field(default="")
    #: for a region primitive, whose result is a tuple: the program around it (a
    #: Builder function of the parameters returning one tensor)
    program: Callable | None = None


def rng(seed=0):
    return np.random.default_rng(seed)


def data(shape, dt, seed=0, positive=False):
    r = rng(seed)
    if dt is BOOL:
        return np.asarray(r.random(shape) < 0.5)
    if dt is I64:
        a = r.integers(-5, 6, shape)
        return np.asarray(np.abs(a) + 1 if positive else a, I64)
    a = r.standard_normal(shape) * 2
    return np.asarray(np.abs(a) + 0.25 if positive else a, dt)


def ty(dt, shape):
    return tensor_type(dtypes.from_numpy(dt), shape)


# ------------------------------------------------------------------ the table

def sigmoid(x):
    wide = x.astype(np.float64)
    return (1 / (1 + np.exp(-wide))).astype(x.dtype)


UNARY_FLOAT = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "sin": np.sin, "cos": np.cos,
               "tanh": np.tanh, "sqrt": np.sqrt, "logistic": sigmoid}
POSITIVE = {"log", "log1p", "sqrt"}
UNARY_ANY = {"neg": lambda x: -x, "abs": np.abs, "sign": np.sign,
             "stop_gradient": lambda x: x}


def int_div(x, y):
    """C division: truncate toward zero; division by zero gives 0."""
    q = np.trunc(x.astype(np.float64) / np.where(y == 0, 1, y))
    return np.where(y == 0, 0, q).astype(x.dtype)


def nan_max(x, y):
    return np.where(np.isnan(x) | np.isnan(y), np.nan, np.where(x >= y, x, y)).astype(x.dtype)


def nan_min(x, y):
    return np.where(np.isnan(x) | np.isnan(y), np.nan, np.where(x <= y, x, y)).astype(x.dtype)


BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
          "pow": np.power, "max": np.maximum, "min": np.minimum}
COMPARE = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal}


def elementwise_cases():
    for name, f in UNARY_FLOAT.items():
        for dt in FLOATS:
            for s in SHAPES:
                yield Case(name, [data(s, dt, positive=name in POSITIVE)], {}, f)
            yield Case(name, [np.array(SPECIAL, dt)], {}, f, id="special")
    for name, f in UNARY_ANY.items():
        for dt in (F32, F64, I64):
            for s in SHAPES:
                yield Case(name, [data(s, dt)], {}, f)
        yield Case(name, [np.array(SPECIAL, F32)], {}, f, id="special")
    yield Case("stop_gradient", [data((3,), BOOL)], {}, lambda x: x)
    for name, f in BINARY.items():
        for dt in (F32, F64, I64):
            for s in SHAPES:
                x, y = data(s, dt, 1), data(s, dt, 2, positive=name in ("pow", "div"))
                if name == "pow" and dt is not I64:
                    x = np.abs(x)
                if name == "pow" and dt is I64:
                    y = y % 4
                ref = int_div if name == "div" and dt is I64 else f
                yield Case(name, [x, y], {}, ref)
        for dt in FLOATS:
            x = np.array(SPECIAL, dt)
            ref = {"max": nan_max, "min": nan_min}.get(name, f)
            yield Case(name, [x, x[::-1].copy()], {}, ref, id="special")
    # max/min propagate NaN whichever side it is on (an IEEE maxnum select would drop it)
    yield Case("max", [np.array([np.nan, 1, 2], F32), np.array([0, np.nan, 1], F32)], {},
               lambda x, y: np.array([np.nan, np.nan, 2], F32), id="nan")
    yield Case("min", [np.array([np.nan, 1, 2], F64), np.array([0, np.nan, 1], F64)], {},
               lambda x, y: np.array([np.nan, np.nan, 1], F64), id="nan")
    yield Case("div", [np.array([7, -7, 7, -7, 3, 0], I64), np.array([2, 2, -2, -2, 4, 5], I64)],
               {}, lambda x, y: np.array([3, -3, -3, 3, 0, 0], I64), id="trunc")
    yield Case("pow", [np.array([1, -1, -1, 2, -3, 0], I64), np.array([-3, -2, -3, -1, -1, 2], I64)],
               {}, lambda x, y: np.array([1, 1, -1, 0, 0, 0], I64), id="negexp")
    for name, f in COMPARE.items():
        for dt in (F32, F64, I64, BOOL):
            for s in SHAPES:
                x = data(s, dt, 1)
                y = x.copy() if dt is BOOL else data(s, dt, 2)
                if x.size and dt is not BOOL:
                    y.flat[0] = x.flat[0]  # an equal pair, so eq/le/ge see both outcomes
                yield Case(name, [x, y], {}, f)
        x = np.array(SPECIAL, F32)
        yield Case(name, [x, x[::-1].copy()], {}, f, id="special")
    for dt in (F32, F64, I64, BOOL):
        for s in SHAPES:
            yield Case("select", [data(s, BOOL, 3), data(s, dt, 1), data(s, dt, 2)], {}, np.where)
    for src in (F32, F64, I64, BOOL):
        for dst in (F32, F64, I64, BOOL):
            for s in ((), (0,), (2, 3)):
                x = data(s, src)
                yield Case("convert", [x], {"dtype": dtypes.from_numpy(dst)},
                           lambda x, dst=dst: x.astype(dst))


def structural_cases():
    for dt in (F32, F64, I64, BOOL):
        for src, dst in [((), (2, 3)), ((3,), (2, 3)), ((1, 3), (4, 3)), ((2, 1), (2, 0)),
                         ((1,), (0,)), ((), ()), ((2, 1, 3), (5, 2, 4, 3)), ((0, 1), (3, 0, 2))]:
            yield Case("broadcast", [data(src, dt)], {"shape": dst},
                       lambda x, dst=dst: np.broadcast_to(x, dst))
        for src, dst in [((2, 3), (3, 2)), ((6,), (1, 6, 1)), ((), (1, 1)), ((1,), ()),
                         ((0, 3), (3, 0, 5)), ((2, 3, 4), (24,))]:
            yield Case("reshape", [data(src, dt)], {"shape": dst},
                       lambda x, dst=dst: x.reshape(dst))
        for src, perm in [((2, 3), (1, 0)), ((2, 0, 3), (2, 0, 1)), ((), ()), ((4,), (0,)),
                          ((1, 2, 3), (0, 2, 1))]:
            yield Case("transpose", [data(src, dt)], {"perm": perm},
                       lambda x, perm=perm: np.transpose(x, perm))
        for src, (a, b, s) in [((7,), ((1,), (6,), (2,))), ((7,), ((3,), (3,), (1,))),
                               ((3, 4), ((0, 1), (3, 4), (2, 3))), ((), ((), (), ())),
                               ((0, 2), ((0, 1), (0, 2), (1, 1))), ((5,), ((0,), (5,), (7,)))]:
            yield Case("slice", [data(src, dt)], {"start": a, "stop": b, "step": s},
                       lambda x, a=a, b=b, s=s: x[tuple(map(slice, a, b, s))])
        for src, lo, hi, it in [((3,), (1,), (2,), (0,)), ((3,), (0,), (0,), (2,)),
                                ((2, 3), (1, 0), (0, 2), (1, 1)), ((), (), (), ()),
                                ((0,), (1,), (1,), (3,)), ((1, 0), (0, 1), (2, 0), (1, 2))]:
            yield Case("pad", [data(src, dt)], {"low": lo, "high": hi, "interior": it},
                       lambda x, lo=lo, hi=hi, it=it: pad_ref(x, lo, hi, it))
        for shapes, axis in [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 0), (2, 1)], 1), ([(5,)], 0),
                             ([(0, 2), (0, 2)], 0), ([(1,), (1,), (1,)], 0)]:
            yield Case("concatenate", [data(s, dt, i) for i, s in enumerate(shapes)],
                       {"axis": axis}, lambda *xs, axis=axis: np.concatenate(xs, axis))


def pad_ref(x, low, high, interior):
    """Place x[i] at low + i * (interior + 1) in a zero array, one dimension at a time."""
    shape = [lo + hi + (d - 1) * (it + 1) + 1 if d else lo + hi
             for d, lo, hi, it in zip(x.shape, low, high, interior)]
    out = np.zeros(shape, x.dtype)
    idx = [lo + np.arange(d) * (it + 1) for d, lo, it in zip(x.shape, low, interior)]
    out[np.ix_(*idx)] = x
    return out


def rowwise(x, axis, f):
    """Apply `f` to every 1-d slice of `x` along `axis` (a slow, obviously right loop)."""
    moved = np.moveaxis(x, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    return np.array([f(row) for row in flat], dtype=np.int64).reshape(moved.shape[:-1])


def torch_argmax(row):
    nans = np.flatnonzero(np.isnan(row)) if row.dtype.kind == "f" else []
    return nans[0] if len(nans) else int(np.argmax(row))


def reduce_max_ref(x, axes):
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return np.max(x, axis=axes, initial=low).astype(x.dtype)


def reduction_cases():
    for dt in (F32, F64, I64):
        for s, axes in [((), ()), ((5,), (0,)), ((3, 4), (1,)), ((3, 4), (0, 1)),
                        ((2, 1, 3), (1,)), ((2, 0, 3), (1,)), ((2, 0, 3), (0, 2)),
                        ((3, 4), ()), ((2, 3, 4), (2, 0))]:
            x = data(s, dt)
            yield Case("reduce_sum", [x], {"axes": axes},
                       lambda x, axes=axes: np.sum(x, axis=axes).astype(x.dtype), rtol=1e-5)
            yield Case("reduce_max", [x], {"axes": axes},
                       lambda x, axes=axes: reduce_max_ref(x, axes))
        for s, axis in [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 1, 3), 1), ((0, 3), 1),
                        ((2, 3, 0), 1)]:
            x = data(s, dt) if dt is I64 else np.round(data(s, dt))  # rounding makes ties
            yield Case("argmax", [x], {"axis": axis},
                       lambda x, axis=axis: rowwise(x, axis, torch_argmax))
    for dt in FLOATS:
        x = np.array([[1, np.nan, 3], [np.inf, 2, np.nan], [-np.inf, -np.inf, -np.inf]], dt)
        yield Case("reduce_max", [x], {"axes": (1,)},
                   lambda x: np.array([np.nan, np.nan, -np.inf], x.dtype), id="nan")
        yield Case("argmax", [x], {"axis": 1}, lambda x: np.array([1, 2, 0], I64), id="nan")
        yield Case("argmax", [x], {"axis": 0}, lambda x: np.array([1, 0, 1], I64), id="nan0")


def matmul_cases():
    for dt in FLOATS:
        for a, b in [((2, 3), (3, 4)), ((1, 1), (1, 1)), ((0, 3), (3, 2)), ((2, 0), (0, 3)),
                     ((2, 3), (3, 0)), ((4, 2, 3), (4, 3, 5)), ((2, 1, 1, 3), (2, 1, 3, 2))]:
            yield Case("matmul", [data(a, dt, 1), data(b, dt, 2)], {}, np.matmul, rtol=1e-5)
            c = data(a[:-1] + b[-1:], dt, 3)
            for alpha in (1.0, -0.25):
                yield Case("matmul_add", [c, data(a, dt, 1), data(b, dt, 2)], {"alpha": alpha},
                           lambda c, x, y, alpha=alpha: c + np.asarray(alpha, c.dtype) * (x @ y),
                           rtol=1e-5)


def source_cases():
    for dt, value in [(F32, 1.5), (F64, -0.1), (I64, 7), (BOOL, True), (F32, np.nan),
                      (F64, -np.inf), (F32, 2), (I64, False)]:
        for s in ((), (1,), (0, 2), (2, 3)):
            yield Case("full", [], {"value": value}, lambda v=value, s=s, dt=dt: np.full(s, v, dt),
                       type=ty(dt, s))
    for dt in (F32, F64, I64, BOOL):
        for s in ((), (1,), (0,), (2, 0), (0, 3), (2, 3)):
            v = data(s, dt, 5)
            yield Case("constant", [], {"value": v}, lambda v=v: v.copy(), type=ty(dt, s))
    v = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38], F32)
    yield Case("constant", [], {"value": v}, lambda v=v: v.copy(), type=ty(F32, (6,)), id="special")
    for s, axis in [((4,), 0), ((2, 3), 1), ((2, 3), 0), ((0, 3), 1), ((1, 5, 2), 1)]:
        yield Case("iota", [], {"axis": axis}, lambda s=s, axis=axis: np.indices(s)[axis],
                   type=ty(I64, s))


def math_surface_cases():
    """The maths-surface primitives of issue 15 (rounding, expm1, erf, inverse trig,
    atan2, hypot, fmod, cumsum); references from numpy and Python's math module."""
    import itertools
    import math
    erf = np.vectorize(math.erf, otypes=[F64])
    erfc = np.vectorize(math.erfc, otypes=[F64])
    floats = {"floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc,
              "expm1": np.expm1, "atan": np.arctan, "asin": np.arcsin, "acos": np.arccos,
              "erf": lambda x: erf(x).astype(x.dtype), "erfc": lambda x: erfc(x).astype(x.dtype)}
    for name, f in floats.items():
        for dt in FLOATS:
            for s in SHAPES:
                x = data(s, dt)
                yield Case(name, [x / 3 if name in ("asin", "acos") else x], {}, f)
            halves = np.array([0.5, 1.5, 2.5, -0.5, -2.5] + SPECIAL, dt)
            yield Case(name, [halves], {}, f, id="special")
    for name in ("floor", "ceil", "round", "trunc"):
        yield Case(name, [data((5,), I64)], {}, lambda x: x.copy(), id="integers")
    binary = {"atan2": np.arctan2, "hypot": np.hypot, "fmod": np.fmod}
    for name, f in binary.items():
        for dt in FLOATS:
            for s in SHAPES:
                yield Case(name, [data(s, dt, 1), data(s, dt, 2, positive=True)], {}, f)
            x = np.array(SPECIAL, dt)
            yield Case(name, [x, x[::-1].copy()], {}, f, id="special")
    yield Case("fmod", [np.array([7, -7, 7, -7, 0], I64), np.array([3, 3, -3, -3, 2], I64)], {},
               lambda x, y: np.array([1, -1, 1, -1, 0], I64), id="c-sign")

    def running(x, axis, reverse):
        out = np.moveaxis(x.copy(), axis, -1)
        for idx in np.ndindex(out.shape[:-1]):
            line = list(out[idx])[::-1] if reverse else list(out[idx])
            acc = list(itertools.accumulate(line))
            out[idx] = acc[::-1] if reverse else acc
        return np.moveaxis(out, -1, axis)

    for dt in (F32, F64, I64):
        for s, axis in [((5,), 0), ((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 0, 3), 2), ((0,), 0)]:
            for reverse in (False, True):
                yield Case("cumsum", [data(s, dt)], {"axis": axis, "reverse": reverse},
                           lambda x, axis=axis, reverse=reverse: running(x, axis, reverse))



def _take(x, indices, axes, space):
    """x at every position of `space`, the indexed axes read from `indices` (wrapped):
    an explicit loop, independent of the interpreter's fancy indexing."""
    out = np.empty(space, x.dtype)
    for p in np.ndindex(*space):
        q = list(p)
        for a, ix in zip(axes, indices):
            q[a] = int(ix[p]) % x.shape[a]
        out[p] = x[tuple(q)]
    return out


def _put(base, src, indices, axes, add):
    out = base.copy()
    for p in np.ndindex(*src.shape):
        q = list(p)
        for a, ix in zip(axes, indices):
            q[a] = int(ix[p]) % base.shape[a]
        out[tuple(q)] = out[tuple(q)] + src[p] if add else src[p]
    return out


def index_cases():
    r = rng(3)
    for dt in (F32, F64, I64, BOOL):
        x = data((4, 5), dt)
        for space, axes in [((6, 5), (0,)), ((3, 2), (1,)), ((2, 7), (0, 1)), ((0, 5), (0,))]:
            idx = [r.integers(-x.shape[a], x.shape[a], space) for a in axes]
            yield Case("gather", [x, *idx], {"axes": axes},
                       lambda x, *i, axes=axes, space=space: _take(x, i, axes, space))
            src = data(space, dt, 4)
            yield Case("scatter", [x, src, *idx], {"axes": axes},
                       lambda b, s, *i, axes=axes: _put(b, s, i, axes, False))
            if dt is not BOOL:
                yield Case("scatter_add", [x, src, *idx], {"axes": axes},
                           lambda b, s, *i, axes=axes: _put(b, s, i, axes, True), rtol=1e-5)


def _rnn_reference(w, h, xs, reverse=False):
    ys = np.empty(len(xs), xs.dtype)
    for i in (reversed(range(len(xs))) if reverse else range(len(xs))):
        h = np.tanh(h @ w + xs[i])
        ys[i] = (h * h).sum()
    return h, ys


def region_cases():
    """cond, while_loop, scan and output: programs from tests/helpers/region_programs."""
    for dt in FLOATS:
        w, h, xs = data((3, 3), dt, 1) * 0.3, data((2, 3), dt, 2), data((4, 2, 3), dt, 3)
        for rev in (False, True):
            yield Case("scan", [w, h, xs], {}, lambda w, h, xs, rev=rev: _rnn_reference(
                w, h, xs, rev)[0], rtol=1e-5, id=f"reverse={rev}",
                program=lambda b, *p, rev=rev: scan_tanh_rnn(b, *p, reverse=rev)[0])
            yield Case("output", [w, h, xs], {}, lambda w, h, xs, rev=rev: _rnn_reference(
                w, h, xs, rev)[1], rtol=1e-5, id=f"ys-reverse={rev}",
                program=lambda b, *p, rev=rev: scan_tanh_rnn(b, *p, reverse=rev)[1])
        empty = data((0, 2, 3), dt, 3)
        yield Case("scan", [w, h, empty], {}, lambda w, h, xs: h, id="length=0",
                   program=lambda b, *p: scan_tanh_rnn(b, *p)[0])
        for sign in (1, -1):
            x, y = data((3,), dt, 4) * sign, data((3,), dt, 5)
            yield Case("cond", [x, y], {}, lambda x, y: np.sin(x) * y if x.sum() > 0
                       else x * x - y, rtol=1e-6, id=f"sign={sign}", program=cond_sin_or_square)
        x = np.abs(data((2,), dt, 6)) + 0.5
        yield Case("while_loop", [x], {}, lambda x: _doubled(x), program=while_doubling)


def _doubled(x):
    while x.sum() < 100:
        x = x * 2
    return x


def softmax_cases():
    """softmax and its kin against their definitions in float64 (the bits of PyTorch's
    kernels are checked against its recordings: tests/runtime/test_softmax_kernels.py);
    large inputs stay finite, NaN spreads along its line, an empty axis gives nothing."""
    def softmax(x, axis):
        w = x.astype(F64)
        e = np.exp(w - w.max(axis, keepdims=True))
        return (e / e.sum(axis, keepdims=True)).astype(x.dtype)

    def log_softmax(x, axis):
        w = x.astype(F64)
        z = w - w.max(axis, keepdims=True)
        return (z - np.log(np.exp(z).sum(axis, keepdims=True))).astype(x.dtype)

    def backward(g, y, axis):
        w, y = g.astype(F64), y.astype(F64)
        return ((w - (w * y).sum(axis, keepdims=True)) * y).astype(g.dtype)

    def log_backward(g, y, axis):
        w, y = g.astype(F64), y.astype(F64)
        return (w - np.exp(y) * w.sum(axis, keepdims=True)).astype(g.dtype)

    for dt in (F32, F64):
        for s, axis in [((5,), 0), ((3, 4), 1), ((2, 40), 1), ((4, 3), 0), ((2, 3, 5), 1)]:
            x, g = data(s, dt), data(s, dt, 1)
            for name, f in (("softmax", softmax), ("log_softmax", log_softmax)):
                yield Case(name, [x], {"axis": axis}, lambda x, f=f, a=axis: f(x, a))
            y = softmax(x, axis)
            yield Case("softmax_backward_data", [g, y], {"axis": axis},
                       lambda g, y, a=axis: backward(g, y, a))
            yield Case("log_softmax_backward_data", [g, log_softmax(x, axis)], {"axis": axis},
                       lambda g, y, a=axis: log_backward(g, y, a))
        big = np.array([[1e4, 1e4 - 1, -1e4], [np.nan, 0, 1]], dt)
        for name, f in (("softmax", softmax), ("log_softmax", log_softmax)):
            yield Case(name, [big], {"axis": 1}, lambda x, f=f: f(x, 1), id="large-nan")
            yield Case(name, [np.zeros((2, 0), dt)], {"axis": 1}, lambda x: x.copy(), id="empty")


CASE_GENERATORS = [elementwise_cases, structural_cases, reduction_cases, matmul_cases,
                   source_cases, math_surface_cases, index_cases, region_cases,
                   softmax_cases]
ALL_CASES = [c for gen in CASE_GENERATORS for c in gen()]


def case_id(c: Case) -> str:
    ops = ",".join(f"{a.dtype}{list(a.shape)}" for a in c.operands) or str(c.type)
    attrs = ",".join(f"{k}={v}" for k, v in c.attrs.items() if k != "value")
    return "-".join(p for p in (c.prim, ops, attrs, c.id) if p)


# ------------------------------------------------------------------ the tests

def test_table_covers_every_primitive():
    covered = {c.prim for c in ALL_CASES}
    missing = set(PRIMITIVES) - covered
    assert not missing, f"primitives without rows in the test table: {sorted(missing)}"
    assert covered <= set(PRIMITIVES)


@pytest.mark.parametrize("case", ALL_CASES, ids=case_id)
def test_primitive_against_numpy(case: Case):
    with np.errstate(all="ignore"):
        want = np.asarray(case.ref(*case.operands))
    fn = single_op(case.prim, case.operands, case.attrs, case.type) if case.program is None \
        else program(case)
    # the shape rule gives numpy's shape and dtype
    assert fn.results[0].type == ty(want.dtype.type, want.shape)
    inputs = [a.copy() for a in case.operands]
    (got,) = interpret(fn, inputs)
    assert_same(got, want, case.rtol)
    # the result is the caller's to keep: writing to it changes neither inputs nor the IR
    if got.size:
        got[...] = np.zeros((), got.dtype)
        for a, b in zip(inputs, case.operands):
            np.testing.assert_array_equal(a, b)
    # the text form keeps everything that matters (constant values included)
    (again,) = interpret(roundtrip(fn), case.operands)
    assert_same(again, want, case.rtol)


def program(case: Case):
    b = Builder(case.prim)
    params = [b.param(ty(a.dtype.type, a.shape), f"x{i}") for i, a in enumerate(case.operands)]
    return b.build(case.program(b, *params))


def t(spec: str) -> TensorType:
    """'f32[2,3]' -> TensorType."""
    dt, dims = spec.rstrip("]").split("[")
    return tensor_type(dtypes.by_name(dt), [int(d) for d in dims.split(",") if d])


ERRORS = [
    ("add", ["f32[3]", "f32[4]"], {}),
    ("mul", ["f32[3]", "f64[3]"], {}),
    ("sub", ["bool[2]", "bool[2]"], {}),
    ("max", ["f32[2,3]", "f32[3,2]"], {}),
    ("lt", ["i64[2]", "f32[2]"], {}),
    ("exp", ["i64[3]"], {}),
    ("sqrt", ["bool[]"], {}),
    ("neg", ["bool[2]"], {}),
    ("add", ["f32[3]"], {}),
    ("sin", ["f32[3]", "f32[3]"], {}),
    ("select", ["f32[2]", "f32[2]", "f32[2]"], {}),
    ("select", ["bool[3]", "f32[2]", "f32[2]"], {}),
    ("select", ["bool[2]", "f32[2]", "f64[2]"], {}),
    ("convert", ["f32[2]"], {"dtype": "f64"}),  # a string, not a DType
    ("convert", ["f32[2]"], {}),
    ("broadcast", ["f32[3]"], {"shape": (4,)}),
    ("broadcast", ["f32[2,3]"], {"shape": (3,)}),
    ("broadcast", ["f32[0]"], {"shape": (2, 3)}),
    ("broadcast", ["f32[1]"], {"shape": (-1,)}),
    ("reshape", ["f32[2,3]"], {"shape": (4,)}),
    ("reshape", ["f32[2,3]"], {"shape": (-1, 6)}),
    ("reshape", ["f32[2,3]"], {"shape": (2.0, 3.0)}),
    ("reshape", ["f32[2,3]"], {"shap": (6,)}),
    ("transpose", ["f32[2,3]"], {"perm": (0, 0)}),
    ("transpose", ["f32[2,3]"], {"perm": (0,)}),
    ("slice", ["f32[5]"], {"start": (0,), "stop": (6,), "step": (1,)}),
    ("slice", ["f32[5]"], {"start": (3,), "stop": (2,), "step": (1,)}),
    ("slice", ["f32[5]"], {"start": (0,), "stop": (5,), "step": (0,)}),
    ("slice", ["f32[5,2]"], {"start": (0,), "stop": (5,), "step": (1,)}),
    ("pad", ["f32[3]"], {"low": (-1,), "high": (0,), "interior": (0,)}),
    ("pad", ["f32[3]"], {"low": (0, 0), "high": (0,), "interior": (0,)}),
    ("concatenate", ["f32[2,3]", "f32[2,4]"], {"axis": 0}),
    ("concatenate", ["f32[2,3]", "f64[2,3]"], {"axis": 0}),
    ("concatenate", ["f32[2,3]", "f32[2,3]"], {"axis": 2}),
    ("concatenate", ["f32[]"], {"axis": 0}),
    ("reduce_sum", ["f32[2,3]"], {"axes": (2,)}),
    ("reduce_sum", ["f32[2,3]"], {"axes": (0, 0)}),
    ("reduce_sum", ["f32[2,3]"], {"axes": (0.5,)}),
    ("reduce_max", ["bool[2]"], {"axes": (0,)}),
    ("reduce_max", ["f32[2]"], {"axes": (-1,)}),
    ("argmax", ["f32[2,0]"], {"axis": 1}),
    ("argmax", ["f32[2,3]"], {"axis": 2}),
    ("argmax", ["bool[3]"], {"axis": 0}),
    ("matmul", ["f32[2,3]", "f32[4,5]"], {}),
    ("matmul", ["f32[3]", "f32[3]"], {}),
    ("matmul", ["i64[2,2]", "i64[2,2]"], {}),
    ("matmul", ["f32[2,2,3]", "f32[3,3,1]"], {}),
    ("matmul", ["f32[2,3]", "f64[3,2]"], {}),
    ("matmul_add", ["f32[2,4]", "f32[2,3]", "f32[3,3]"], {"alpha": 1.0}),
    ("matmul_add", ["f64[2,3]", "f32[2,3]", "f32[3,3]"], {"alpha": 1.0}),
    ("matmul_add", ["f32[2,2]", "f32[2,3]", "f32[4,2]"], {"alpha": 1.0}),
    ("matmul_add", ["f32[2,2]", "f32[2,3]", "f32[3,2]"], {"alpha": float("nan")}),
    ("matmul_add", ["f32[2,2]", "f32[2,3]", "f32[3,2]"], {"alpha": "2"}),
    ("gather", ["f32[3,4]", "f32[3,4]"], {"axes": (0,)}),
    ("gather", ["f32[3,4]", "i64[3,4]"], {"axes": (0, 1)}),
    ("gather", ["f32[3,4]", "i64[3,4]"], {"axes": (2,)}),
    ("gather", ["f32[3,4]", "i64[3,5]"], {"axes": (0,)}),
    ("gather", ["f32[3,4]", "i64[3]"], {"axes": (0,)}),
    ("gather", ["f32[3,4]", "i64[2,4]", "i64[2,3]"], {"axes": (0, 1)}),
    ("gather", ["f32[3,4]"], {"axes": ()}),
    ("scatter_add", ["f32[3,4]", "f64[2,4]", "i64[2,4]"], {"axes": (0,)}),
    ("scatter_add", ["bool[3,4]", "bool[2,4]", "i64[2,4]"], {"axes": (0,)}),
    ("scatter_add", ["f32[3,4]", "f32[2,4]", "i64[2,3]"], {"axes": (0,)}),
    ("scatter", ["f32[3,4]", "f32[2,5]", "i64[2,5]"], {"axes": (0,)}),
    ("scatter", ["f32[3,4]", "f32[2,4]", "bool[2,4]"], {"axes": (0,)}),
]

SOURCE_ERRORS = [
    ("full", "f32[2]", {"value": "one"}),
    ("full", "i64[2]", {"value": 1.5}),
    ("full", "bool[2]", {"value": 2}),
    ("full", "f32[2]", {}),
    ("constant", "f32[2]", {"value": np.zeros(3, F32)}),
    ("constant", "f32[2]", {"value": np.zeros(2, F64)}),
    ("constant", "f32[2]", {"value": [1.0, 2.0]}),
    ("iota", "f32[3]", {"axis": 0}),
    ("iota", "i64[3]", {"axis": 1}),
]


@pytest.mark.parametrize("prim,types,attrs", ERRORS, ids=lambda v: str(v))
def test_shape_rule_errors_name_op_and_shapes(prim, types, attrs):
    with pytest.raises(ShapeError) as e:
        infer_type(PRIMITIVES[prim], tuple(map(t, types)), attrs)
    msg = str(e.value)
    assert msg.startswith(prim + ":"), msg
    for spec in types:
        assert spec in msg, (spec, msg)


@pytest.mark.parametrize("prim,type,attrs", SOURCE_ERRORS, ids=lambda v: str(v))
def test_source_rule_errors(prim, type, attrs):
    with pytest.raises(ShapeError) as e:
        infer_type(PRIMITIVES[prim], (), attrs, t(type))
    assert str(e.value).startswith(prim + ":") and type in str(e.value), str(e.value)


def test_sources_need_their_type_and_no_operands():
    with pytest.raises(ShapeError, match="full"):
        infer_type(PRIMITIVES["full"], (), {"value": 1.0})
    with pytest.raises(ShapeError, match="iota"):
        infer_type(PRIMITIVES["iota"], (t("i64[2]"),), {"axis": 0}, t("i64[2]"))


def test_rules_do_not_read_the_declared_type_of_computed_ops():
    # a wrong declared type must not leak into the inferred one
    assert infer_type(PRIMITIVES["sin"], (t("f32[2]"),), {}, t("f64[7]")) == t("f32[2]")


def test_interpreter_checks_arguments():
    fn = single_op("sin", [np.zeros(3, F32)], {})
    with pytest.raises(TypeError, match="f32"):
        interpret(fn, [np.zeros(3, F64)])
    with pytest.raises(TypeError, match="1 argument"):
        interpret(fn, [])


def test_results_never_alias_each_other_or_the_constants():
    from tapegrad.ir import Builder
    b = Builder("f")
    x = b.param(t("f32[3]"), "x")
    c = b.constant(type=t("f32[3]"), value=np.arange(3, dtype=F32))
    fn = b.build(x, b.stop_gradient(x), c, c, b.reshape(x, shape=(3, 1)))
    roundtrip(fn)
    a = np.ones(3, F32)
    outs = interpret(fn, [a])
    for o in outs:
        o[...] = 9
    np.testing.assert_array_equal(a, 1)
    np.testing.assert_array_equal(interpret(fn, [a])[2], [0, 1, 2])
