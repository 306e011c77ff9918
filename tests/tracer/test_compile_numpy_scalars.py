"""A numpy scalar argument of a transform keeps its dtype, as a 0-d array of it does
and as tg.tensor makes it (np.float64(x) computes in float64); a Python number stays a
0-d float32, so new values of it share one compiled signature."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


@pytest.mark.parametrize("value", [np.float64(0.1), np.float32(0.1), np.float16(0.1),
                                   np.int64(3), np.int32(-3), np.bool_(True), np.uint8(250)])
def test_numpy_scalar_computes_as_its_zero_d_array(value):
    f = tg.compile(lambda x: x * 3 + 1)
    got = f(value)
    as_array = f(np.asarray(value))
    eager = tg.tensor(value) * 3 + 1
    assert got.dtype == as_array.dtype == eager.dtype
    assert got.numpy().tobytes() == eager.numpy().tobytes()


def test_float64_scalar_is_not_rounded_to_float32():
    f = tg.compile(lambda x: x * x)
    assert f(np.float64(0.1)).item() == 0.1 * 0.1
    assert f(0.1).dtype == tg.float32  # a Python float: 0-d float32, as before
    grad = tg.grad(lambda x: x * x)(np.float64(0.1))
    assert grad.dtype == tg.float64 and grad.item() == 0.2


def test_numpy_scalars_inside_pytrees_and_the_signature():
    f = tg.compile(lambda p: p["a"] * p["b"])
    r = f({"a": np.float64(1.5), "b": np.ones(2)})
    assert r.dtype == tg.float64
    f({"a": np.float64(2.5), "b": np.ones(2)})
    assert f.cache_info().misses == 1  # a new value, the same signature
    f({"a": np.float32(2.5), "b": np.ones(2)})
    assert f.cache_info().misses == 2
