"""The maths-surface primitives (issue 15), compiled natively, against the numpy
interpreter: rounding, expm1, erf/erfc, inverse trigonometry, atan2, hypot, fmod.
Special values (NaN, infinities, signed zeros), 0-d, empty and vector-loop sizes."""
import numpy as np
import pytest

from tapegrad.ir import f32, f64, i64
from tapegrad.ir import primitives as P

from helpers.native_check import build, check, random_array

SHAPES = [(), (1,), (0,), (3, 1), (5, 7), (2, 0, 3), (1037,)]
EXTREMES = [0.5, -0.5, 1.5, 2.5, -2.5, 1e-8, -1e-8, 20, -20, 80, -80, 700, -700, 1.0, -1.0]


def _args(rng, dt, shapes):
    args = [random_array(rng, dt, s, special=True) for s in shapes]
    if dt.is_float:
        big = args[-1]
        big[:len(EXTREMES)] = EXTREMES
    return args


@pytest.mark.parametrize("dt", [f32, f64], ids=str)
@pytest.mark.parametrize("prim", [P.floor, P.ceil, P.round, P.trunc, P.expm1, P.erf, P.erfc,
                                  P.atan, P.asin, P.acos], ids=lambda p: p.name)
def test_unary_float(prim, dt):
    rng = np.random.default_rng(11)
    fn = build(prim.name, [(dt, s) for s in SHAPES],
               lambda b, *xs: [b.emit(prim, x) for x in xs])
    args = _args(rng, dt, SHAPES)
    if prim in (P.asin, P.acos):
        for a in args:
            a *= 0.4  # mostly inside [-1, 1], the specials kept
    rtol = {f32: 4e-7, f64: 1e-15}[dt] if prim is P.expm1 else None
    check(fn, args, rtol=rtol)


@pytest.mark.parametrize("prim", [P.floor, P.ceil, P.round, P.trunc], ids=lambda p: p.name)
def test_rounding_integers_unchanged(prim):
    rng = np.random.default_rng(12)
    fn = build(prim.name, [(i64, s) for s in SHAPES], lambda b, *xs: [b.emit(prim, x) for x in xs])
    check(fn, [random_array(rng, i64, s) for s in SHAPES])


@pytest.mark.parametrize("dt", [f32, f64, i64], ids=str)
@pytest.mark.parametrize("prim", [P.atan2, P.hypot, P.fmod], ids=lambda p: p.name)
def test_binary(prim, dt):
    if dt is i64 and prim is not P.fmod:
        pytest.skip("float only")
    rng = np.random.default_rng(13)
    fn = build(prim.name, [(dt, s) for s in SHAPES for _ in (0, 1)],
               lambda b, *xs: [b.emit(prim, x, y) for x, y in zip(xs[::2], xs[1::2])])
    args = [random_array(rng, dt, s, special=True) for s in SHAPES for _ in (0, 1)]
    x, y = args[-2], args[-1]
    if dt is i64:
        x[:6] = [np.iinfo(np.int64).min, 7, -7, 9, 0, 5]
        y[:6] = [-1, 3, -3, 4, 2, -2]  # % -1 must not trap (% 0 raises:
        for a in args[1::2]:          # tests/codegen/test_integer_division_by_zero.py)
            a[a == 0] = 1
    else:
        specials = [(np.inf, np.nan), (np.nan, -np.inf), (0.0, -0.0), (-0.0, 0.0), (1e30, 1e30), (1e200, 1e200),
                    (1e-30, 3e-30), (1e-200, 3e-200), (3.0, np.inf), (-np.inf, -np.inf), (5.5, 2.0), (-5.5, 2.0)]
        for k, (a, c) in enumerate(specials):
            if dt is f64 or abs(a) < 1e38 or abs(a) == np.inf or a != a:
                x[k], y[k] = a, c
    check(fn, args, rtol={f32: 2.5e-7, f64: 5e-16, i64: None}[dt] if prim is P.hypot else None)


@pytest.mark.parametrize("dt", [f32, f64, i64], ids=str)
def test_cumsum_kernel(dt):
    """Both directions, every axis, a fused producer, empty and 0-size axes."""
    rng = np.random.default_rng(14)
    shapes = [(7,), (3, 0, 2), (4, 5, 6), (1037,), (0,)]

    def body(b, v, e, x, big, z):
        out = [b.cumsum(v, axis=0, reverse=False), b.cumsum(v, axis=0, reverse=True),
               b.cumsum(e, axis=1, reverse=False), b.cumsum(e, axis=2, reverse=True),
               b.cumsum(big, axis=0, reverse=False), b.cumsum(z, axis=0, reverse=True)]
        out += [b.cumsum(x, axis=a, reverse=r) for a in range(3) for r in (False, True)]
        out.append(b.cumsum(b.mul(x, x), axis=1, reverse=False))  # producer fused in
        out.append(b.cumsum(b.transpose(x, perm=(2, 0, 1)), axis=2, reverse=True))
        return out

    fn = build("cumsum", [(dt, s) for s in shapes], body)
    args = [random_array(rng, dt, s, special=dt.is_float) for s in shapes]
    check(fn, args, rtol={f32: 1e-6, f64: 1e-14, i64: None}[dt])
