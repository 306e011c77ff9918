"""The interpreter's fast paths give exactly what the plain numpy rules give."""
import warnings

import numpy as np
import pytest

from tapegrad.ir import dtypes as D
from tapegrad.ir import primitives as P
from tapegrad.ir.core import TensorType
from tapegrad.runtime import eager_math
from tapegrad.runtime import interpreter as I


def _values(dtype):
    info = np.finfo(dtype)
    uint = np.dtype(f"u{np.dtype(dtype).itemsize}")
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0, 0.5, 3.0,
                        info.tiny, -info.tiny, info.smallest_subnormal, info.max, -info.max,
                        np.sqrt(info.max) * 2, np.sqrt(info.tiny) / 2], dtype)
    bits = np.random.default_rng(5).integers(0, np.iinfo(uint).max, 20000, dtype=uint,
                                              endpoint=True)
    return np.concatenate([special, bits.view(dtype),
                           np.random.default_rng(6).standard_normal(2000).astype(dtype)])


#: float32's pow is compiled code's (runtime/eager_math.py; tests/runtime/test_eager_math.py
#: compares the two) unless TAPEGRAD_EAGER_MATH=numpy
_F32_POW_IS_NUMPYS = pytest.param(D.f32, marks=pytest.mark.skipif(
    eager_math.ENABLED, reason="float32 pow is compiled code's (test_eager_math.py)"))


@pytest.mark.parametrize("dt", [_F32_POW_IS_NUMPYS, D.f64])
@pytest.mark.parametrize("e", [2.0, 1.0, 0.5, -1.0, 0.0, 3.0, -2.0])
@pytest.mark.parametrize("layout", ["broadcast", "full", "0d"])
def test_pow_bit_identical_to_np_power(dt, e, layout):
    x = _values(dt.np)
    if layout == "0d":
        for v in x[:17]:
            a, y = np.array(v), np.array(e, dt.np)
            got = I.eval_prim(P.pow, [a, y], {}, TensorType(dt, ()))
            with np.errstate(all="ignore"):
                want = np.asarray(np.power(a, y))
            assert got.dtype == dt.np and got.view(f"u{dt.itemsize}") == want.view(
                f"u{dt.itemsize}")
        return
    x = x.reshape(-1, 1)[: (x.size // 4) * 4].reshape(-1, 4)
    y = (np.broadcast_to(np.array(e, dt.np), x.shape) if layout == "broadcast"
         else np.full(x.shape, e, dt.np))
    got = I.eval_prim(P.pow, [x, y], {}, TensorType(dt, x.shape))
    with np.errstate(all="ignore"):
        want = np.power(x, y)
    u = f"u{dt.itemsize}"
    assert got.dtype == dt.np
    assert np.array_equal(got.view(u), want.view(u))
    assert not np.may_share_memory(got, x)


def test_pow_shortcut_is_taken_for_a_broadcast_two():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = np.broadcast_to(np.float32(2), x.shape)
    assert I._uniform_exponent(x, y) == 2.0
    assert I._uniform_exponent(x, np.full(x.shape, 2, np.float32)) is None


def test_errors_ignored_and_state_restored():
    before = np.geterr()
    x = np.array([0.0, -1.0, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="warn"):
            out = I.eval_prim(P.log, [x], {}, TensorType(D.f64, (3,)))
            I.eval_prim(P.mul, [x, x], {}, TensorType(D.f64, (3,)))
            assert np.geterr() == {"divide": "raise", "over": "raise", "under": "warn",
                                   "invalid": "raise"}
            with pytest.raises(FloatingPointError):
                np.log(x)
        np.seterr(all="ignore")
        try:
            I.eval_prim(P.exp, [x], {}, TensorType(D.f64, (3,)))
        finally:
            np.seterr(**before)
    assert np.geterr() == before
    assert np.isneginf(out[0]) and np.isnan(out[1])


def test_scalar_results_are_arrays_of_the_exact_dtype():
    s = np.array(1.5, np.float32)
    for prim, args, dt in [(P.add, [s, s], D.f32), (P.sin, [s], D.f32), (P.lt, [s, s], D.bool_),
                           (P.mul, [s, s], D.f32), (P.div, [s, s], D.f32),
                           (P.pow, [s, s], D.f32), (P.exp, [s], D.f32)]:
        out = I.eval_prim(prim, args, {}, TensorType(dt, ()))
        assert type(out) is np.ndarray and out.dtype == dt.np and out.shape == ()


@pytest.mark.parametrize("shape,axes", [((64, 10), (0, 1)), ((5, 7, 3), (1,)), ((4, 0), (1,)),
                                        ((1000,), (0,)), ((3, 4), ())])
@pytest.mark.parametrize("dt", [D.f32, D.f64, D.i64])
def test_reduce_sum_is_np_sum(shape, axes, dt):
    x = (np.random.default_rng(2).standard_normal(shape) * 1000).astype(dt.np)
    out_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
    got = I.eval_prim(P.reduce_sum, [x], {"axes": axes}, TensorType(dt, out_shape))
    want = np.asarray(np.sum(x, axis=axes, dtype=x.dtype))
    assert got.dtype == dt.np and got.shape == out_shape
    assert got.tobytes() == want.tobytes()
