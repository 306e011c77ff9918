"""erf, erfc and erfinv of numpy arrays, whole-array (numpy has none of them).

float16 and float32 arrays compute in float64 with whole-array numpy operations and
round once (float16 through float32, as PyTorch's kernels), so the result is the
correctly rounded value but for ties closer than ~1e-13 (PyTorch's own float32 kernels
are within one ulp of it).  float64 arrays go element by element through libm
(Python's math module): the interpreter is the oracle, and no float64 polynomial here
is better than libm's.

erfc(a) for a >= 0 is codegen/erf_poly.py's t exp(-a^2 + Q(u)); erfc(-a) = 2 - erfc(a);
erf(x) = sign(x) (1 - erfc(|x|)), and below |x| = 0.5 the Taylor series of erf (no
cancellation).  erfinv starts from Winitzki's closed form (relative error 2e-3) and
takes three Newton steps (2e-3 -> 4e-6 -> 2e-11 -> float64 precision) on erf below
|y| = 0.5, on log erfc above (where 1 - |y| is exact; the log keeps Newton from
overshooting in the steep tail), through libm for float64 arrays.
"""
from __future__ import annotations

import math

import numpy as np

from ..codegen.erf_poly import ERF_SERIES, ERFC_Q, T_LOW

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erfc_positive(a: np.ndarray) -> np.ndarray:
    """erfc(a) for a >= 0 or NaN (float64, a fresh array); below float64's range (a past
    26.6, where Q is extrapolated) it tends to 0, as float32's erfc has long been."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        t = 2.0 / (2.0 + a)
        u = t - T_LOW
        u *= 2 / (1 - T_LOW)
        u -= 1.0
        acc = np.full_like(u, ERFC_Q[-1])
        for c in ERFC_Q[-2::-1]:  # Horner, in place
            acc *= u
            acc += c
        acc -= a * a
        np.exp(acc, out=acc)
        acc *= t
    return acc


def _erf_series(x: np.ndarray) -> np.ndarray:
    z = x * x
    acc = np.full_like(x, ERF_SERIES[-1])
    for c in ERF_SERIES[-2::-1]:
        acc *= z
        acc += c
    acc *= x
    return acc


def _by_size(x: np.ndarray, complement: bool) -> np.ndarray:
    """erf (or erfc) of float64 x: the series below 0.5 in magnitude, Q's form elsewhere,
    each element computed once."""
    shape, x = x.shape, x.reshape(-1)
    a = np.abs(x)
    small = a < 0.5
    out = np.empty_like(x)
    near = _erf_series(x[small])
    out[small] = 1.0 - near if complement else near
    big = ~small
    xb = x[big]
    far = _erfc_positive(a[big])
    if complement:
        negative = xb < 0
        far[negative] = 2.0 - far[negative]
    else:
        far = np.copysign(1.0 - far, xb)
    out[big] = far
    return out.reshape(shape)


def erf64(x: np.ndarray) -> np.ndarray:
    """erf of a float64 array, whole-array (relative error below 5e-14)."""
    return _by_size(x, complement=False)


def erfc64(x: np.ndarray) -> np.ndarray:
    """erfc of a float64 array, whole-array (relative error below 5e-14)."""
    return _by_size(x, complement=True)


def _libm(fn, x: np.ndarray) -> np.ndarray:
    flat = np.fromiter(map(fn, x.ravel().tolist()), np.float64, x.size)
    return flat.reshape(x.shape)


def _rounded(v: np.ndarray, dtype) -> np.ndarray:
    """float64 results in `dtype`, float16 through float32 (PyTorch computes it there)."""
    if dtype == np.float16:
        v = v.astype(np.float32)
    return v.astype(dtype)


#: elements per pass: the temporaries of ~60 numpy operations stay in cache (whole 1M
#: arrays page-fault fresh 8 MB blocks for each; chunks run ~2x faster)
CHUNK = 16384


def _chunked(fn, x: np.ndarray) -> np.ndarray:
    """fn (float64 -> float64, elementwise) of x in float64, CHUNK elements at a time,
    rounded to x's dtype."""
    flat = x.reshape(-1)
    out = np.empty(flat.size, x.dtype)
    for i in range(0, flat.size, CHUNK):
        part = flat[i:i + CHUNK].astype(np.float64)
        out[i:i + CHUNK] = _rounded(fn(part), x.dtype)
    return out.reshape(x.shape)


def erf(x: np.ndarray) -> np.ndarray:
    return _libm(math.erf, x) if x.dtype == np.float64 else _chunked(erf64, x)


def erfc(x: np.ndarray) -> np.ndarray:
    return _libm(math.erfc, x) if x.dtype == np.float64 else _chunked(erfc64, x)


def erfinv(y: np.ndarray) -> np.ndarray:
    """The x with erf(x) = y: +-inf at +-1, NaN outside [-1, 1] and for NaN."""
    if y.dtype == np.float64:
        return _erfinv64(y, exact=True)
    return _chunked(lambda v: _erfinv64(v, exact=False), y)


def _erfinv64(y: np.ndarray, exact: bool) -> np.ndarray:
    """erfinv of float64 y (Newton's steps on libm if `exact`, else on Q's form)."""
    v = y.reshape(-1)  # 1-d: masks assign into it even for 0-d y
    a = np.abs(v)
    with np.errstate(all="ignore"):
        # Winitzki's approximation (its constant 0.147), then Newton on |x|
        w = np.log((1.0 - a) * (1.0 + a))
        s = 2.0 / (math.pi * 0.147) + w / 2
        x = np.sqrt(np.sqrt(s * s - w / 0.147) - s)
        tail = (a > 0.5) & (a < 1.0)  # erf(x) = a there is erfc(x) = 1 - a, exact
        body = a <= 0.5  # x below 0.48: erf's series
        rest = 1.0 - a[tail]
        for _ in range(3):
            xt, xb = x[tail], x[body]
            erfc_t = _libm(math.erfc, xt) if exact else _erfc_positive(xt)
            erf_b = _libm(math.erf, xb) if exact else _erf_series(xb)
            # Newton on log erfc(x) = log(1 - a): erfc's steep tail makes plain Newton
            # overshoot from Winitzki's start; its log is nearly quadratic
            slope_t = _TWO_OVER_SQRT_PI * np.exp(-xt * xt)
            x[tail] = xt + np.log(erfc_t / rest) * erfc_t / slope_t
            x[body] = xb - (erf_b - a[body]) / (_TWO_OVER_SQRT_PI * np.exp(-xb * xb))
        x[a == 1.0] = np.inf
        x[a > 1.0] = np.nan
        out = np.copysign(x, v)
    return np.where(np.isnan(v), v, out).reshape(y.shape)
