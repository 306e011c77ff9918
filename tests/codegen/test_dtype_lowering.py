"""Every dtype through native code, against the interpreter (the oracle), bit for bit.

float16 computes each operation in float32 and rounds it, so native float16 results
equal the interpreter's exactly for arithmetic; integer arithmetic wraps; unsigned
uint8 compares, divides and converts as unsigned; integer division by zero never
traps (x86's idiv would kill the process).
"""
import numpy as np
import pytest

from tapegrad.ir import primitives as P
from tapegrad.ir import dtypes, parse
from tapegrad.runtime import interpret
from tapegrad.runtime.compiler import compile_function

from helpers.native_check import build

ALL = dtypes.ALL
NUMERIC = [d for d in ALL if d is not dtypes.bool_]
INTS = list(dtypes.INTEGERS)
SHAPES = [(), (3,), (4, 37)]
RTOL = {"float32": 2e-5, "float64": 1e-12}


def _values(rng, dt, shape):
    if dt is dtypes.bool_:
        return rng.random(shape) < 0.5
    if dt.is_float:
        return (rng.standard_normal(shape) * 3).astype(dt.np)
    info = np.iinfo(dt.np)  # the whole range, so sums and products overflow
    return rng.integers(info.min, info.max, shape, dtype=dt.np, endpoint=True)


def _native_equals_oracle(fn, args):
    got = compile_function(fn)(*args)
    want = interpret(fn, args)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        if g.dtype in (np.float32, np.float64):  # sums may add in another order
            np.testing.assert_allclose(g, w, rtol=RTOL[g.dtype.name], atol=1e-6, err_msg=str(fn))
        elif g.dtype.kind == "f":
            # float16 bit for bit, NaN included (any NaN payload counts as NaN)
            np.testing.assert_array_equal(g, w, err_msg=str(fn))
        else:
            assert np.array_equal(g, w), (str(fn), g, w)
    return got


@pytest.mark.parametrize("dt", NUMERIC, ids=lambda d: d.name)
@pytest.mark.parametrize("prim", [P.add, P.sub, P.mul, P.div, P.max, P.min],
                         ids=lambda p: p.name)
def test_binary_arithmetic(prim, dt):
    rng = np.random.default_rng(1)
    fn = build(f"{prim.name}_{dt.name}", [(dt, s) for s in SHAPES] * 2,
               lambda b, *xs: [b.emit(prim, x, y) for x, y in zip(xs[:3], xs[3:])])
    args = [_values(rng, dt, s) for s in SHAPES] * 2
    args[3:] = [_values(rng, dt, s) for s in SHAPES]
    if not dt.is_float:  # ones and -1 among the divisors: no trap, the interpreter's values
        args[5].reshape(-1)[:6] = np.array([2, 3, 1, 1, 5, 1], dt.np)
        if prim is P.div:  # a zero divisor raises (tests/codegen/test_integer_division_by_zero.py)
            for a in args[3:]:
                a[a == 0] = 1
        if dt.is_signed:
            args[5].reshape(-1)[6:9] = -1
            args[2].reshape(-1)[6] = np.iinfo(dt.np).min
    _native_equals_oracle(fn, args)


@pytest.mark.parametrize("dt", NUMERIC, ids=lambda d: d.name)
def test_unary_compare_and_reduce(dt):
    rng = np.random.default_rng(2)
    shape = (5, 33)

    def body(b, x, y):
        out = [b.emit(P.neg, x), b.emit(P.abs, x), b.emit(P.sign, x)]
        out += [b.emit(p, x, y) for p in (P.eq, P.ne, P.lt, P.le, P.gt, P.ge)]
        out += [b.emit(P.reduce_sum, x, axes=ax) for ax in ((0,), (1,), (0, 1))]
        out += [b.emit(P.reduce_max, x, axes=ax) for ax in ((0,), (1,))]
        out += [b.emit(P.argmax, x, axis=a) for a in (0, 1)]
        return out

    fn = build(f"unary_{dt.name}", [(dt, shape), (dt, shape)], body)
    x, y = _values(rng, dt, shape), _values(rng, dt, shape)
    y[0] = x[0]
    if not dt.is_float:
        x[1, :3] = [np.iinfo(dt.np).min, np.iinfo(dt.np).max, 0]
    _native_equals_oracle(fn, [x, y])


@pytest.mark.parametrize("src", ALL, ids=lambda d: d.name)
def test_convert_to_every_dtype(src):
    rng = np.random.default_rng(3)
    fn = build(f"convert_{src.name}", [(src, (40,))],
               lambda b, x: [b.emit(P.convert, x, dtype=d) for d in ALL])
    x = _values(rng, src, (40,))
    if src.is_float:  # values that wrap, truncate, round between float16 neighbours
        x[:12] = np.array([300.0, -1.0, -129.5, 70000.0, -3.7, 255.9, 0.5, -0.5, 1e-3,
                           2049.0, 65519.0, 65520.0], src.np)
    _native_equals_oracle(fn, [x])


@pytest.mark.parametrize("dt", INTS, ids=lambda d: d.name)
def test_integer_power_wraps(dt):
    fn = build(f"pow_{dt.name}", [(dt, (8,)), (dt, (8,))], lambda b, x, y: b.emit(P.pow, x, y))
    x = np.array([3, 2, 7, 1, 0, 5, 2, 9], dt.np)
    y = np.array([5, 7, 3, 100, 0, 4, 9, 2], dt.np)
    got = _native_equals_oracle(fn, [x, y])[0]
    with np.errstate(all="ignore"):
        assert np.array_equal(got, np.power(x, y))  # numpy's power wraps the same way


def test_float16_each_operation_rounds():
    """(a * b + c) in float16: the product is rounded before the sum (no FMA, no float32
    intermediate), so the native result equals PyTorch's, which rounds each op."""
    text = """func @f(%a: f16[6], %b: f16[6], %c: f16[6]) -> (f16[6]) {
      %0: f16[6] = mul %a, %b
      %1: f16[6] = add %0, %c
      return %1
    }"""
    fn = parse(text)
    a = np.array([0.1, 1.7, 3.14, 100.3, -7.7, 2049.0], np.float16)
    b = np.array([0.3, 2.2, -0.001, 7.1, 13.0, 1.0], np.float16)
    c = np.array([1e-3, 0.1, 1.0, -1.0, 0.5, 1.0], np.float16)
    got = _native_equals_oracle(fn, [a, b, c])[0]
    rounded_twice = ((a.astype(np.float32) * b).astype(np.float16).astype(np.float32)
                     + c).astype(np.float16)
    assert np.array_equal(got, rounded_twice)
    once = (a.astype(np.float32) * b + c).astype(np.float16)
    assert not np.array_equal(got, once)  # the data tells the two apart


@pytest.mark.parametrize("math", ["exp", "log", "sin", "cos", "tanh", "sqrt", "logistic", "log1p"])
def test_float16_math_is_float32_rounded(math):
    """The float32 polynomial rounded to float16: at most one float16 step from numpy's
    (float32 libm, rounded) where the float32 results straddle a rounding boundary."""
    fn = build(f"{math}16", [(dtypes.f16, (500,))], lambda b, x: b.emit(P.PRIMITIVES[math], x))
    x = np.linspace(0.01, 8, 500).astype(np.float16)
    got = compile_function(fn)(x)[0]
    want = interpret(fn, [x])[0]
    steps = np.abs(got.view(np.int16).astype(np.int32) - want.view(np.int16).astype(np.int32))
    assert got.dtype == np.float16 and steps.max() <= 1 and (steps == 0).mean() > 0.98


@pytest.mark.parametrize("shape", [((3, 5), (5, 4)), ((2, 3, 70), (2, 70, 3))])
def test_float16_matmul_accumulates_in_float32(shape):
    rng = np.random.default_rng(4)
    fn = build("mm16", [(dtypes.f16, shape[0]), (dtypes.f16, shape[1])],
               lambda b, x, y: b.emit(P.matmul, x, y))
    a, c = (rng.standard_normal(s).astype(np.float16) for s in shape)
    got = _native_equals_oracle(fn, [a, c])[0]
    want = np.matmul(a.astype(np.float64), c.astype(np.float64)).astype(np.float32)
    assert np.array_equal(got, want.astype(np.float16))


def test_float16_sum_accumulates_in_float32():
    """2049 ones: a float16 accumulator sticks at 2048; float32 gives 2049 -> 2048
    (rounded to even) and 4099 ones give 4100; 0.1 summed 1000 times is 100.0 in
    float32 then float16, not float16's 103.x drift."""
    fn = build("sum16", [(dtypes.f16, (1000,)), (dtypes.f16, (4099,)), (dtypes.f16, (10, 1000))],
               lambda b, x, y, z: [b.emit(P.reduce_sum, x, axes=(0,)),
                                   b.emit(P.reduce_sum, y, axes=(0,)),
                                   b.emit(P.reduce_sum, z, axes=(0,))])
    args = [np.full(1000, 0.1, np.float16), np.ones(4099, np.float16),
            np.full((10, 1000), 0.1, np.float16)]
    got = _native_equals_oracle(fn, args)
    assert got[0] == np.float16(np.float32(np.float16(0.1)) * 1000)
    assert got[1] == 4100.0


def test_text_round_trip_of_every_dtype():
    for dt in ALL:
        value = "true" if dt is dtypes.bool_ else "1.5" if dt.is_float else "7"
        text = (f"func @f(%x: {dt.name}[2]) -> ({dt.name}[2], f64[2]) {{\n"
                f"  %0: {dt.name}[2] = full value={value}\n"
                f"  %1: f64[2] = convert %x dtype=f64\n"
                f"  return %0, %1\n}}")
        fn = parse(text)
        assert parse(str(fn)).params[0].type.dtype is dt
        assert str(parse(str(fn))) == str(fn)
