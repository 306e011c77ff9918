"""The arithmetic of PyTorch's CPU normal kernels, reproduced to the bit in numpy.

PyTorch's float32 normal fill for 16 or more contiguous numbers runs its AVX2
kernel (the normal kernel is never dispatched to AVX-512) with the Cephes-style
vector log and sincos of `avx_mathfun.h`, built by GCC with multiply-adds
contracted into fused ones. The float64 fill and the scalar Box-Muller path call
glibc's log/cos/sin/log1p, which Python's `math` module calls too (numpy's SIMD
versions differ in the last bit now and then). Fused multiply-adds are exact
(runtime/exact_fma.py).
"""
from __future__ import annotations

import math

import numpy as np

from ..runtime.exact_fma import fma32, fma64  # noqa: F401  (the fills call them as MF.fma32)

_F32, _F64 = np.float32, np.float64

# ---------------------------------------------------------------- float32 vector log

_LOG_POLY = (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
             1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
             3.3333331174E-1)
_LOG_Q1, _LOG_Q2 = _F32(-2.12194440e-4), _F32(0.693359375)
_SQRT_HALF = _F32(0.707106781186547524)


def log_ps(x: np.ndarray) -> np.ndarray:
    """Natural log of positive float32s as avx_mathfun's log256_ps computes it: split off
    the exponent, fold the mantissa into [sqrt(1/2), sqrt(2)), a degree-9 polynomial."""
    x = np.maximum(x.astype(_F32), np.array(0x00800000, np.int32).view(_F32))
    bits = x.view(np.int32)
    e = ((bits.view(np.uint32) >> np.uint32(23)).astype(np.int32) - 0x7F).astype(_F32) + _F32(1)
    m = ((bits & ~0x7F800000) | np.array(0.5, _F32).view(np.int32)).view(_F32)
    small = m < _SQRT_HALF
    e = e - np.where(small, _F32(1), _F32(0))
    m = (m - _F32(1)) + np.where(small, m, _F32(0))
    z = m * m
    y = np.full_like(m, _F32(_LOG_POLY[0]))
    for coef in _LOG_POLY[1:]:
        y = fma32(y, m, _F32(coef))
    y = y * m
    y = fma32(y, z, e * _LOG_Q1)
    y = fma32(z, _F32(-0.5), y)
    return fma32(e, _LOG_Q2, m + y)


# ---------------------------------------------------------------- float32 vector sincos

_DP = (_F32(-0.78515625), _F32(-2.4187564849853515625e-4), _F32(-3.77489497744594108e-8))
_COS_POLY = (2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002)
_SIN_POLY = (-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1)
_FOUR_OVER_PI = _F32(1.27323954473516)


def sincos_ps(x: np.ndarray):
    """(sin, cos) of float32s as avx_mathfun's sincos256_ps: reduce by multiples of pi/4
    in three parts (Cody-Waite), then the cosine or sine polynomial by octant."""
    x = x.astype(_F32)
    sin_negative = np.signbit(x)
    x = np.abs(x)
    j = (x * _FOUR_OVER_PI).astype(np.int32)  # truncation, as cvttps
    j = (j + 1) & ~1
    y = j.astype(_F32)
    sin_negative ^= (j & 4) != 0
    cos_negative = (~(j - 2) & 4) != 0
    use_sin_poly = (j & 2) == 0
    for dp in _DP:
        x = fma32(y, dp, x)
    z = x * x
    c = np.full_like(x, _F32(_COS_POLY[0]))
    for coef in _COS_POLY[1:]:
        c = fma32(c, z, _F32(coef))
    c = c * z
    c = fma32(c, z, -(z * _F32(0.5))) + _F32(1)
    s = np.full_like(x, _F32(_SIN_POLY[0]))
    for coef in _SIN_POLY[1:]:
        s = fma32(s, z, _F32(coef))
    s = fma32(s * z, x, x)
    sin = np.where(use_sin_poly, s, c)
    cos = np.where(use_sin_poly, c, s)
    return np.where(sin_negative, -sin, sin), np.where(cos_negative, -cos, cos)


# ---------------------------------------------------------------- glibc's double functions


def libm(fn, x: np.ndarray) -> np.ndarray:
    """A libm function elementwise through Python's math module (glibc's results)."""
    return np.array([fn(v) for v in x.tolist()], dtype=_F64)


log, log1p, cos, sin = math.log, math.log1p, math.cos, math.sin
