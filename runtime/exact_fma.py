"""Fused multiply-adds in numpy, rounded once as the hardware's: the reference for
native code that uses `llvm.fma` (PyTorch's kernels contract multiply-adds; so do the
SLEEF functions its vectorised exp and log are).

float32 ones go through float64 with round-to-odd; float64 ones through error-free
transformations (Boldo and Melquiond's emulation).
"""
from __future__ import annotations

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
    sits exactly on a float32 midpoint, which (rarely) the exact sum's side settles.
    (numpy widens the operands inside its loops: no float64 copies of a, b and c.)"""
    p = np.multiply(a, b, dtype=_F64)
    s = np.add(p, c, dtype=_F64)
    out = s.astype(_F32)
    bits = s.view(np.int64) if s.ndim else np.atleast_1d(s).view(np.int64)
    low = np.bitwise_and(bits, 0x1FFFFFFF)
    midpoint = low == 0x10000000
    if midpoint.any():
        c = np.asarray(c, dtype=_F64)
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
