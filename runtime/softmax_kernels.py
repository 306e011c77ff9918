"""softmax, log_softmax and their backward kernels as PyTorch's CPU kernels compute them.

PyTorch runs each as one kernel (aten/src/ATen/native/cpu/SoftMaxKernel.cpp), and
its float32 bits are those of that kernel's order of arithmetic, which a composite of
exp and sums cannot reproduce (the gradient of `softmax(x).sum()` is rounding noise
whose every bit shows).  On an AVX-512 build (the reference recordings'), along the
last axis:

* a row's max and sums run `vec::reduce_all`: fewer than 16 elements (8 in float64)
  add in order; more accumulate in 16 lanes (element i into lane i mod 16) that are
  then folded in halves (lane i with i^8, i^4, i^2, i^1);
* exp and log are SLEEF's `expf_u10` / `logf_u10` (float32; fused multiply-adds
  included), softmax multiplies by 1 / sum, log_softmax is (x - max) - log(sum);
* softmax's backward is (g - sum(g * y)) * y, the products rounded before they are
  summed; log_softmax's is g - exp(y) * sum(g), the multiply-subtract fused.

Along another axis PyTorch's kernels sum down the axis in order and softmax divides by
the sum; its scalar tails (an inner extent not a multiple of the vector width) use
libm's expf, so there the bits may differ in the last place.  float64 uses numpy's exp
and log (SLEEF's double versions are not reproduced: within an ulp); float16 computes
in float32 and rounds once.  codegen/softmax_kernels.py emits the same arithmetic.
"""
from __future__ import annotations

import numpy as np

from .exact_fma import fma32, fma64

_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)

#: lanes of PyTorch's AVX-512 vectors
LANES = {_F32: 16, _F64: 8}

# SLEEF's expf: x = q ln2 + s (ln2 in two parts), a degree-6 polynomial in s, times 2^q
EXP_LN2_HI, EXP_LN2_LO = 0.693145751953125, 1.428606765330187045e-06
EXP_R_LN2 = 1.442695040888963407359924681001892137426645954152985934135449406931
EXP_POLY = (0.000198527617612853646278381, 0.00139304355252534151077271,
            0.00833336077630519866943359, 0.0416664853692054748535156,
            0.166666671633720397949219, 0.5)
# SLEEF's logf_u10: log(m 2^e) with m in [0.75, 1.5), in double-float arithmetic
LOG_LN2_HI, LOG_LN2_LO = 0.69314718246459960938, -1.904654323148236017e-09
LOG_POLY = (0.3027294874, 0.3996108174, 0.6666694880)


def _c(v):
    return np.float32(v)


def sleef_expf(d: np.ndarray) -> np.ndarray:
    """SLEEF's expf_u10 (PyTorch's Vectorized<float>::exp), bit for bit."""
    d = np.asarray(d, _F32)
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.rint(d * _c(EXP_R_LN2))
        q = np.where(np.isfinite(q), q, 0).astype(np.int32)
    qf = q.astype(_F32)
    s = fma32(qf, _c(-EXP_LN2_HI), d)
    s = fma32(qf, _c(-EXP_LN2_LO), s)
    u = np.full(d.shape, _c(EXP_POLY[0]))
    for coef in EXP_POLY[1:]:
        u = fma32(u, s, _c(coef))
    u = _c(1) + fma32(s * s, u, s)
    half = q >> 1  # SLEEF scales in two steps: 2^(q>>1) then 2^(q - q>>1)
    u = np.ldexp(np.ldexp(u, half), q - half).astype(_F32)
    u = np.where(d < -104, _c(0), u)
    u = np.where(d > 104, _c(np.inf), u)
    return np.where(np.isnan(d), d, u).reshape(np.shape(d))


def _two_sum(x, y):
    s = x + y
    v = s - x
    return s, (x - (s - v)) + (y - v)


def sleef_logf(d: np.ndarray) -> np.ndarray:
    """SLEEF's logf_u10 as its AVX-512 build computes it (getexp/getmant), bit for bit
    for the positive normal numbers a softmax sum is; 0, inf and NaN as log's."""
    d = np.asarray(d, _F32)
    ok = np.isfinite(d) & (d > 0)
    safe = np.where(ok, d, _c(1))
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2((safe * _c(1.0 / 0.75)).astype(_F64))).astype(_F32)
        k = np.floor(np.log2(safe.astype(_F64) / 0.75))
    m = (safe.astype(_F64) * np.exp2(-k)).astype(_F32)  # exact: a power-of-two scaling
    sx = _c(LOG_LN2_HI) * e
    sy = fma32(_c(LOG_LN2_LO), e, fma32(_c(LOG_LN2_HI), e, -sx))
    nx, ny = _two_sum(np.full_like(m, -1), m)
    dx, dy = _two_sum(np.full_like(m, 1), m)
    t = _c(1) / dx
    xx = nx * t
    u = fma32(t, nx, -xx)
    v = fma32(-dy, t, fma32(-dx, t, _c(1)))
    xy = fma32(xx, v, fma32(ny, t, u))
    x2 = xx * xx
    p = fma32(fma32(_c(LOG_POLY[0]), x2, _c(LOG_POLY[1])), x2, _c(LOG_POLY[2]))
    ax, ay = xx * _c(2), xy * _c(2)
    hi = sx + ax
    lo = (((sx - hi) + ax) + sy) + ay
    w = (x2 * xx) * p
    hi2 = hi + w
    lo2 = ((hi - hi2) + w) + lo
    r = hi2 + lo2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, r, np.log(d)).astype(_F32)


def _exp(x):
    return sleef_expf(x) if x.dtype == _F32 else np.exp(x)


def _log(x):
    return sleef_logf(x) if x.dtype == _F32 else np.log(x)


def _fma(a, b, c):
    return (fma32 if a.dtype == _F32 else fma64)(a, b, c).astype(a.dtype).reshape(a.shape)


def row_reduce(a: np.ndarray, combine) -> np.ndarray:
    """`vec::reduce_all` over the last axis of `a` (rows of equal length, n >= 1)."""
    n, lanes = a.shape[-1], LANES[a.dtype]
    if n < lanes:
        acc = a[..., 0]
        for i in range(1, n):
            acc = combine(acc, a[..., i])
        return acc
    full = n - n % lanes
    acc = a[..., :lanes].copy()
    for d in range(lanes, full, lanes):
        acc = combine(acc, a[..., d:d + lanes])
    if n > full:
        acc[..., :n - full] = combine(acc[..., :n - full], a[..., full:])
    shift = lanes // 2
    while shift:
        acc = combine(acc, acc[..., np.arange(lanes) ^ shift])
        shift //= 2
    return acc[..., 0]


def _column_sum(a: np.ndarray) -> np.ndarray:
    """Down the first axis in order (PyTorch's kernels along an inner axis)."""
    acc = a[0].copy()
    for row in a[1:]:
        acc = acc + row
    return acc


def _column_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b) down the first axis in order, each step one fused multiply-add."""
    acc = np.zeros_like(a[0])
    for x, y in zip(a, b):
        acc = _fma(x, y, acc)
    return acc


def _along(fn):
    """Run `fn(x..., last)` with the softmax axis last, then put the axis back; float16
    in float32, rounded once; an empty axis gives an empty result."""
    def rule(*xs, axis):
        dtype = xs[0].dtype
        if xs[0].size == 0:
            return np.empty_like(xs[0])
        work = [np.moveaxis(x.astype(_F32) if dtype == _F16 else x, axis, -1) for x in xs]
        with np.errstate(invalid="ignore", over="ignore", under="ignore"):
            out = fn(*work, last=axis == xs[0].ndim - 1, half=dtype == _F16)
        return np.ascontiguousarray(np.moveaxis(out, -1, axis)).astype(dtype, copy=False)
    return rule


def _sum(a, last):
    if last:
        return row_reduce(a, np.add)[..., None]
    return _column_sum(np.moveaxis(a, -1, 0))[..., None]


@_along
def softmax(x, last, half):
    m = row_reduce(x, np.maximum)[..., None] if last else np.max(x, -1, keepdims=True)
    e = _exp(x - m)
    s = _sum(e, last)
    return e * (np.ones_like(s) / s) if last else e / s


@_along
def log_softmax(x, last, half):
    """float16 along the last axis keeps the sum and its log in float16 (PyTorch's
    buffers there are of the tensor's type)."""
    m = row_reduce(x, np.maximum)[..., None] if last else np.max(x, -1, keepdims=True)
    z = x - m
    s = _sum(_exp(z), last)
    if half and last:
        return z - _log(s.astype(_F16).astype(_F32)).astype(_F16).astype(_F32)
    return z - _log(s)


@_along
def softmax_backward_data(g, y, last, half):
    """Along the last axis the products are rounded, then summed; down an inner axis
    each step is a fused multiply-add (GCC contracts that loop)."""
    if last:
        return (g - _sum(g * y, last)) * y
    dot = _column_dot(np.moveaxis(g, -1, 0), np.moveaxis(y, -1, 0))
    return (g - dot[..., None]) * y


@_along
def log_softmax_backward_data(g, y, last, half):
    s = np.broadcast_to(_sum(g, last), g.shape)
    return _fma(-_exp(y), s, g)
