"""The arithmetic of PyTorch's CPU normal kernels, reproduced to the bit in numpy.

PyTorch's float32 normal fill for 16 or more contiguous numbers runs its AVX2
kernel (the normal kernel is never dispatched to AVX-512) with the Cephes-style
vector log and sincos of `avx_mathfun.h`, built by GCC with multiply-adds
contracted into fused ones. The float64 fill and the scalar Box-Muller path call
glibc's log/cos/sin/log1p, which Python's `math` module calls too (numpy's SIMD
versions differ in the last bit now and then). A fused multiply-add is exact
here: float32 ones through float64 with round-to-odd, float64 ones through
error-free transformations (Boldo and Melquiond's emulation).
"""
from __future__ import annotations

import math

import numpy as np

_F32, _F64 = np.float32, np.float64
_SPLIT = _F64(134217729.0)  # 2**27 + 1: Veltkamp's split of a double into two halves


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _round_to_odd(s, err):
    """s = RN(x) with x = s + err exactly; the same x rounded to odd instead."""
    bits = s.view(np.int64)
    fix = (err != 0) & ((bits & 1) == 0)
    if np.any(fix):
        s = s.copy()
        s[fix] = np.nextafter(s[fix], np.where(err[fix] > 0, np.inf, -np.inf))
    return s


def fma32(a, b, c) -> np.ndarray:
    """float32 a*b + c rounded once. The product is exact in float64, so the float64 sum s is
    off the exact value by under half a double ulp: rounding s to float32 is right unless s
    sits exactly on a float32 midpoint, which (rarely) the exact sum's side settles."""
    a, b, c = np.asarray(a, dtype=_F64), np.asarray(b, dtype=_F64), np.asarray(c, dtype=_F64)
    p = a * b
    s = p + c
    out = s.astype(_F32)
    bits = s.view(np.int64) if s.ndim else np.atleast_1d(s).view(np.int64)
    midpoint = (bits & 0x1FFFFFFF) == 0x10000000
    if np.any(midpoint):
        p, c, s = (np.broadcast_to(v, midpoint.shape)[midpoint] for v in (p, c, s))
        fixed = _round_to_odd(s, _two_sum(p, c)[1]).astype(_F32)
        out = np.atleast_1d(out)
        out[midpoint] = fixed
    return out


def _two_prod(a, b):
    p = a * b
    ah = a * _SPLIT
    ah = ah - (ah - a)
    al = a - ah
    bh = b * _SPLIT
    bh = bh - (bh - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def fma64(a, b, c) -> np.ndarray:
    """float64 a*b + c rounded once (exact product, round-to-odd middle sum)."""
    a, b, c = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=_F64)) for v in (a, b, c)))
    with np.errstate(over="ignore", invalid="ignore"):
        uh, ul = _two_prod(a, b)
        th, tl = _two_sum(c, uh)
        v, verr = _two_sum(tl, ul)
        out = th + _round_to_odd(v, verr)
        plain = a * b + c  # infinities and NaN: the error terms are meaningless there
    return np.where(np.isfinite(out), out, plain)


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
