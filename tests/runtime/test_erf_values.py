"""erf, erfc and erfinv against PyTorch 2.13's values (recorded as bit patterns by
record_torch_erf.py: float32 and float64, tails, +-inf, NaN, +-0, +-1 for erfinv),
eagerly (the interpreter's whole-array numpy for float32, libm for float64) and
compiled (libm; erfinv's Newton steps on it).

PyTorch's own kernels are within an ulp or two of the correctly rounded value, so the
bound is in ulps: 1 for float32 eager (correctly rounded but for near-ties), 2 for the
rest (erfinv next to +-1 included, where 1 - |y| is 1e-16).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg

DATA = json.loads((Path(__file__).parent / "data" / "torch_erf_values.json").read_text())
BITS = {"float32": (np.uint32, np.int32, 32), "float64": (np.uint64, np.int64, 64)}


def _table(key: str):
    name, dt = key.split()
    unsigned, _, _ = BITS[dt]
    x = np.array(DATA[key]["x"], unsigned).view(dt)
    y = np.array(DATA[key]["y"], unsigned).view(dt)
    return name, dt, x, y


def _ulps(a: np.ndarray, b: np.ndarray, dt: str) -> np.ndarray:
    """Distance in representable values (+0 and -0 are one apart: the sign counts)."""
    _, signed, bits = BITS[dt]
    mask = (1 << (bits - 1)) - 1

    def line(v):
        i = v.view(signed).astype(np.int64)
        return np.where(i < 0, -(i & mask) - 1, i)
    return np.abs(line(a) - line(b))


@pytest.mark.parametrize("key", sorted(DATA))
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_values_match_pytorch(key, mode):
    name, dt, x, want = _table(key)
    fn = getattr(tg, name)
    got = (fn(tg.tensor(x)) if mode == "eager" else tg.compile(fn)(x)).numpy()
    assert got.dtype == want.dtype
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan), x[np.isnan(got) != nan]
    bound = 1 if (dt, mode) == ("float32", "eager") else 2
    far = _ulps(got[~nan], want[~nan], dt) > bound
    assert not far.any(), (x[~nan][far], got[~nan][far], want[~nan][far])


def test_eager_erf_is_whole_array_for_float32():
    """The interpreter does not loop in Python over float32 elements (math.erf per
    element was the old way): a large array runs in numpy operations."""
    from tapegrad.runtime import erf_vector
    calls = []
    real = math.erf
    try:
        erf_vector.math.erf = lambda v: calls.append(v) or real(v)
        x = np.linspace(-5, 5, 10001).astype(np.float32)
        erf_vector.erf(x)
        erf_vector.erfc(x)
        erf_vector.erfinv(x / 5)
    finally:
        erf_vector.math.erf = real
    assert not calls


def test_checked_in_polynomial_is_the_fit():
    # compared as functions on the fit's interval: the power-basis coefficients of a
    # degree-22 Chebyshev fit are ill-conditioned, and Python 3.12's math.erfc (libm's)
    # moves the higher ones by up to 20% while the polynomial moves by 3e-15
    from tapegrad.codegen.erf_poly import ERFC_Q, fit_erfc_q
    u = np.linspace(-1, 1, 20001)

    def values(coefficients):
        acc = np.full_like(u, coefficients[-1])
        for c in coefficients[-2::-1]:
            acc = acc * u + c
        return acc
    np.testing.assert_allclose(values(fit_erfc_q()), values(ERFC_Q), rtol=0, atol=1e-13)
