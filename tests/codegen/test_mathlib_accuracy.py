"""Accuracy of the polynomial exp, log, log1p, tanh, logistic, sin and cos (codegen/mathlib.py).

The reference is numpy in extended precision (x86 long double), rounded to
the tested dtype; errors are counted in units in the last place of that dtype.
numpy's own float32/float64 results are held to the same bound, so the test
says "as accurate as numpy, within a few ulp", over wide ranges, the
extremes, NaN, infinities and denormals.  These go through compile_function, which
scales by 2^n the host's way; test_mathlib_variants.py runs both ways.
"""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.ir import Builder, dtypes, tensor_type
from tapegrad.runtime.compiler import compile_function

from helpers.math_reference import LD, REFERENCE, SPECIALS, ULP, inputs, ulp_error

pytestmark = pytest.mark.skipif(np.finfo(LD).eps >= np.finfo(np.float64).eps,
                                reason="needs an extended-precision long double")

NUMPY = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "tanh": np.tanh,
         "logistic": lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype), "sin": np.sin,
         "cos": np.cos}


def _native(name: str, dtype, n: int):
    b = Builder(f"m_{name}_{dtype.name}")
    x = b.param(tensor_type(dtype, (n,)), "x")
    return compile_function(b.build(getattr(b, name)(x)))


@pytest.mark.parametrize("dtype", [dtypes.f32, dtypes.f64], ids=lambda d: d.name)
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_error_is_within_a_few_ulp(name, dtype):
    x = inputs(name, dtype.np)
    got = _native(name, dtype, x.size)(x)[0]
    with np.errstate(all="ignore"):
        ref = REFERENCE[name](x)
        theirs = NUMPY[name](x)
    rounded = ref.astype(dtype.np)
    # Where the exact value is finite but rounds to inf (or 0), ours must agree exactly.
    special = ~np.isfinite(rounded) | ~np.isfinite(ref)
    np.testing.assert_array_equal(got[special], rounded[special])
    err = np.where(special, 0, ulp_error(got, ref, dtype.np))
    worst = int(np.argmax(err))
    assert err.max() <= ULP[name], (
        f"{name} {dtype.name}: {err.max():.2f} ulp at x={x[worst]!r}: got {got[worst]!r}, "
        f"exact {ref[worst]!r}; numpy's worst is "
        f"{np.where(special, 0, ulp_error(theirs, ref, dtype.np)).max():.2f}")


@pytest.mark.parametrize("dtype", [dtypes.f32, dtypes.f64], ids=lambda d: d.name)
@pytest.mark.parametrize("name", sorted(SPECIALS))
def test_special_values_exactly(name, dtype):
    cases = SPECIALS[name]
    x = np.array([c[0] for c in cases], dtype.np)
    want = np.array([c[1] for c in cases], dtype.np)
    got = _native(name, dtype, x.size)(x)[0]
    np.testing.assert_array_equal(got, want)  # NaN == NaN here
    real = ~np.isnan(want)  # the sign of NaN means nothing
    np.testing.assert_array_equal(np.signbit(got[real]), np.signbit(want[real]))


@pytest.mark.parametrize("dtype", [dtypes.f32, dtypes.f64], ids=lambda d: d.name)
def test_denormal_inputs_and_results(dtype):
    fi = np.finfo(dtype.np)
    sub = np.array([fi.smallest_subnormal, fi.tiny / 2, fi.tiny / 1000], dtype.np)
    np.testing.assert_array_equal(_native("tanh", dtype, 3)(sub)[0], sub)  # tanh x = x
    np.testing.assert_array_equal(_native("log1p", dtype, 3)(sub)[0], sub)
    np.testing.assert_array_equal(_native("sin", dtype, 3)(sub)[0], sub)  # sin x = x
    np.testing.assert_array_equal(_native("sin", dtype, 3)(-sub)[0], -sub)
    np.testing.assert_array_equal(_native("cos", dtype, 3)(sub)[0], np.ones(3, dtype.np))
    logs = _native("log", dtype, 3)(sub)[0]
    np.testing.assert_allclose(logs, np.log(sub.astype(LD)).astype(dtype.np), rtol=4 * fi.eps)
    # exp into the denormal range: within one denormal step of the exact value
    x = np.log(np.array([fi.tiny / 2, fi.tiny / 1000, fi.smallest_subnormal * 3], LD))
    x = x.astype(dtype.np)
    got = _native("exp", dtype, 3)(x)[0]
    assert np.all(np.abs(got.astype(LD) - np.exp(x.astype(LD))) <= fi.smallest_subnormal)


@pytest.mark.parametrize("dtype", [dtypes.f32, dtypes.f64], ids=lambda d: d.name)
def test_sin_cos_big_arguments_inside_fused_loops_and_reductions(dtype):
    """A loop nest whose sin/cos argument is ever beyond the polynomial's range runs
    again with libm for those elements: in an elementwise loop, a reduction, and a
    0-d result, with the big value first, last, alone or next to inf."""
    fi = np.finfo(dtype.np)
    n = 1000
    b = Builder("sincos_fused")
    x = b.param(tensor_type(dtype, (n,)), "x")
    y = b.add(b.mul(b.sin(x), b.cos(b.add(x, x))), b.cos(x))  # two arguments: x, 2x
    s = b.reduce_sum(b.mul(b.sin(x), b.sin(x)), axes=(0,))
    cf = compile_function(b.build(y, s))
    rng = np.random.default_rng(5)
    for big in ([], [0], [n - 1], [3, 500], "inf"):
        xs = rng.uniform(-10, 10, n).astype(dtype.np)
        if big == "inf":
            xs[7], xs[8] = np.inf, 1e20
        else:
            xs[big] = fi.max / 4  # 2x stays finite
        got_y, got_s = cf(xs)
        xl = xs.astype(LD)
        with np.errstate(invalid="ignore"):
            want_y = np.sin(xl) * np.cos(xl + xl) + np.cos(xl)
            want_s = np.sum(np.sin(xl) ** 2)
        np.testing.assert_allclose(got_y.astype(LD), want_y, rtol=8 * fi.eps, atol=8 * fi.eps)
        if big == "inf":
            assert np.isnan(got_s)
        else:
            np.testing.assert_allclose(float(got_s), float(want_s), rtol=n * fi.eps)
