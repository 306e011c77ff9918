"""PyTorch's CPU distributions over a generator, as numpy arrays of numbers in draw order.

Each function takes a `Generator` (its engine and its cached normal) and returns
the values PyTorch's CPU kernels write, in the order they write them; where a
tensor is not contiguous the caller places them in memory order, as PyTorch's
serial kernels do. Kept separate from the tensor functions so the numbers can
be tested and read without any of the tape.

float32 and float64 run the native kernels (runtime/random_native.py: the engine and
the transforms in one LLVM module, microseconds where numpy takes milliseconds);
the numpy code here and in random_mathfun is their reference, bit for bit, and
runs where native code cannot (other float types go through it too).
"""
from __future__ import annotations

import math

import numpy as np

from ..runtime import random_native
from . import random_mathfun as MF

_F32, _F64 = np.float32, np.float64
_MASK24, _MASK53 = np.uint32((1 << 24) - 1), np.uint64((1 << 53) - 1)
_TWO_PI = 2.0 * math.pi
_CHUNK = 4096  # numbers per numpy pass: temporaries stay small (no fresh pages per op)
_WIDE_RANGE = 1 << 28  # from this range up, randint reduces a 64-bit draw (PyTorch's wheels)
RANDPERM_WIDE = 0xFFFFFFFF // 20  # from this n up, randperm shuffles inside-out with 64 bits


# ---------------------------------------------------------------- uniform


def _chunked(out: np.ndarray, fn, *inputs) -> np.ndarray:
    """out[k] = fn(*inputs[k]) over slices of _CHUNK along the first axis."""
    for i in range(0, len(out), _CHUNK):
        out[i:i + _CHUNK] = fn(*(x[i:i + _CHUNK] for x in inputs))
    return out


def _native_uniform(k, g, n: int, np_dtype, low: float, high: float) -> np.ndarray:
    out = np.empty(n, np_dtype)
    if np_dtype == _F64:
        g.engine.fill(k.unit_f64, out, n, float(low), float(high) - float(low))
    else:
        lo, hi = _F32(low), _F32(high)
        g.engine.fill(k.unit_f32, out, n, lo, hi - lo)
    return out


def unit_floats(g, n: int, np_dtype) -> np.ndarray:
    """[0, 1): float32 from 24 bits of one 32-bit draw, float64 from 53 bits of a 64-bit one."""
    k = random_native.kernels()
    if k is not None and np_dtype in (_F32, _F64):
        return _native_uniform(k, g, n, np_dtype, 0.0, 1.0)
    if np_dtype == _F64:
        return _chunked(np.empty(n, _F64), lambda v: (v & _MASK53).astype(_F64) * 2.0 ** -53,
                        g.engine.random_u64(n))
    return _chunked(np.empty(n, _F32), lambda v: (v & _MASK24).astype(_F32) * _F32(2.0 ** -24),
                    g.engine.random_u32(n))


def uniform(g, n: int, np_dtype, low: float, high: float) -> np.ndarray:
    """x * (to - from) + from in the tensor's type, one rounding (GCC fuses it)."""
    k = random_native.kernels()
    if k is not None and np_dtype in (_F32, _F64):
        return _native_uniform(k, g, n, np_dtype, low, high)
    x = unit_floats(g, n, np_dtype)
    if np_dtype == _F64:
        return _chunked(x, lambda v: MF.fma64(v, high - low, low)[:len(v)], x)
    lo, hi = _F32(low), _F32(high)
    return _chunked(x, lambda v: MF.fma32(v, hi - lo, lo)[:len(v)], x)


# ---------------------------------------------------------------- normal


def _box_muller16_f32(d: np.ndarray, mean, std) -> np.ndarray:
    """Rows of 16 uniforms -> 16 normals, as the AVX2 kernel: the first 8 give the radius,
    the last 8 the angle; cosines go to the first half, sines to the second."""
    u1, u2 = _F32(1) - d[:, :8], d[:, 8:]
    radius = np.sqrt(_F32(-2) * MF.log_ps(u1.ravel()))
    s, c = MF.sincos_ps(_F32(2.0 * math.pi) * u2.ravel())
    m, sd = _F32(mean), _F32(std)
    out = np.empty_like(d)
    out[:, :8] = MF.fma32(radius * c, sd, m).reshape(-1, 8)
    out[:, 8:] = MF.fma32(radius * s, sd, m).reshape(-1, 8)
    return out


def _box_muller16_f64(d: np.ndarray, mean, std) -> np.ndarray:
    u1, u2 = 1.0 - d[:, :8].ravel(), d[:, 8:].ravel()
    radius = np.sqrt(-2.0 * MF.libm(MF.log, u1))
    theta = _TWO_PI * u2
    out = np.empty_like(d)
    out[:, :8] = MF.fma64(radius * MF.libm(MF.cos, theta), std, mean).reshape(-1, 8)
    out[:, 8:] = MF.fma64(radius * MF.libm(MF.sin, theta), std, mean).reshape(-1, 8)
    return out


def _normal_blocks(g, n: int, np_dtype, mean, std) -> np.ndarray:
    """Sizes >= 16 of contiguous tensors: n uniforms, Box-Muller over whole blocks of 16,
    then, if n is not a multiple of 16, 16 fresh uniforms redo the last 16 places."""
    k = random_native.kernels()
    if k is not None and np_dtype in (_F32, _F64):
        box_muller = k.normal16_f32 if np_dtype == _F32 else k.normal16_f64
        m, sd = (_F32(mean), _F32(std)) if np_dtype == _F32 else (float(mean), float(std))
        data = unit_floats(g, n, np_dtype)
        box_muller(data, n // 16, m, sd)
        if n % 16:
            last = unit_floats(g, 16, np_dtype)
            box_muller(last, 1, m, sd)
            data[n - 16:] = last
        return data
    block = _box_muller16_f32 if np_dtype == _F32 else _box_muller16_f64
    data = unit_floats(g, n, np_dtype)
    whole = n // 16 * 16
    rows = data[:whole].reshape(-1, 16)
    for i in range(0, len(rows), _CHUNK // 16):
        rows[i:i + _CHUNK // 16] = block(rows[i:i + _CHUNK // 16], mean, std)
    if n % 16:
        data[n - 16:] = block(unit_floats(g, 16, np_dtype).reshape(1, 16), mean, std).ravel()
    return data


def standard_normals_f64(g, n: int) -> np.ndarray:
    """PyTorch's scalar normal: Box-Muller in double on two 53-bit uniforms, the cosine
    returned and the sine kept in the generator for the next call."""
    out = np.empty(n, dtype=_F64)
    start = 0
    if n and g.next_double_normal is not None:
        out[0], g.next_double_normal, start = g.next_double_normal, None, 1
    pairs = (n - start + 1) // 2
    k = random_native.kernels()
    if pairs and k is not None:
        both = np.empty(2 * pairs, dtype=_F64)
        g.engine.fill(k.normal_pairs_f64, both, pairs)
        out[start:] = both[:n - start]
        if (n - start) % 2:
            g.next_double_normal = float(both[-1])
    elif pairs:
        u = unit_floats(g, 2 * pairs, _F64)
        radius = np.sqrt(-2.0 * MF.libm(MF.log1p, -u[1::2]))
        theta = _TWO_PI * u[0::2]
        both = np.empty(2 * pairs, dtype=_F64)
        both[0::2] = radius * MF.libm(MF.cos, theta)
        both[1::2] = radius * MF.libm(MF.sin, theta)
        out[start:] = both[:n - start]
        if (n - start) % 2:
            g.next_double_normal = float(both[-1])
    return out


def normal(g, n: int, np_dtype, mean: float, std: float, contiguous: bool = True) -> np.ndarray:
    if n >= 16 and contiguous:
        return _normal_blocks(g, n, np_dtype, mean, std)
    z = standard_normals_f64(g, n)
    k = random_native.kernels()
    if k is not None:
        k.affine_f64(z, z, n, float(std), float(mean))
        return z.astype(np_dtype)
    return MF.fma64(z, std, mean)[:n].astype(np_dtype)


def log_normal(g, n: int, np_dtype, mean: float, std: float) -> np.ndarray:
    z = MF.fma64(standard_normals_f64(g, n), std, mean)[:n]
    return MF.libm(math.exp, z).astype(np_dtype)


# ---------------------------------------------------------------- integers


def _wrap_to_int64(v: np.ndarray) -> np.ndarray:
    return v.astype(np.uint64).view(np.int64)


def random_from_to(g, n: int, span: int, base: int, np_dtype) -> np.ndarray:
    """(draw % span) + base, the draw 64-bit when span >= 2**28, as `random_(from, to)`."""
    k = random_native.kernels()
    if k is not None and span < _WIDE_RANGE:
        out = np.empty(n, dtype=np.int64)
        g.engine.fill(k.randint32, out, n, span, (base + (1 << 63)) % (1 << 64) - (1 << 63))
        return out.astype(np_dtype, copy=False)
    draws = g.engine.random_u64(n) if span >= _WIDE_RANGE else \
        g.engine.random_u32(n).astype(np.uint64)
    v = _wrap_to_int64((draws % np.uint64(span)) + np.uint64(base & 0xFFFFFFFFFFFFFFFF))
    return v.astype(np_dtype)


def random_full_range(g, n: int, np_dtype) -> np.ndarray:
    """`random_(-2**63, None)`: every int64, a 64-bit draw reinterpreted."""
    return g.engine.random_u64(n).view(np.int64).astype(np_dtype)


def random_default(g, n: int, np_dtype) -> np.ndarray:
    """`random_()`: [0, 2**mantissa] for floats, [0, max] for integers, a bit for bool."""
    dt = np.dtype(np_dtype)
    if dt == np.bool_:
        return (g.engine.random_u32(n) & np.uint32(1)).astype(np.bool_)
    if dt.kind == "f":
        digits = np.finfo(dt).nmant + 1
        wide = dt.itemsize == 8
    else:
        digits = np.iinfo(dt).bits - (1 if dt.kind == "i" else 0)
        wide = dt.itemsize == 8
    draws = g.engine.random_u64(n) if wide else g.engine.random_u32(n).astype(np.uint64)
    modulus = (1 << digits) + 1 if dt.kind == "f" else 1 << digits
    return (draws % np.uint64(modulus)).astype(dt)


def randperm(g, n: int) -> np.ndarray:
    """Below RANDPERM_WIDE: swap place i with i + (32-bit draw % (n - i)), for i < n - 1.
    From there: the inside-out shuffle with 64-bit draws (as PyTorch, a Python loop)."""
    k = random_native.kernels()
    if n < RANDPERM_WIDE and k is not None:
        perm = np.empty(n, dtype=np.int64)
        k.randperm(g.engine.random_u32(max(n - 1, 0)), perm, n)
        return perm
    if n < RANDPERM_WIDE:
        perm = list(range(n))
        offsets = (g.engine.random_u32(max(n - 1, 0)).astype(np.int64)
                   % np.arange(n, 1, -1, dtype=np.int64)).tolist()
        for i, z in enumerate(offsets):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)
    perm = np.empty(n, dtype=np.int64)
    step = 1 << 20
    for start in range(0, n, step):
        stop = min(n, start + step)
        zs = (g.engine.random_u64(stop - start) %
              np.arange(start + 1, stop + 1, dtype=np.uint64)).tolist()
        for i, z in zip(range(start, stop), zs):
            perm[i] = perm[z]
            perm[z] = i
    return perm


# ---------------------------------------------------------------- bernoulli and friends


def bernoulli_scalar(g, n: int, p: float) -> np.ndarray:
    """u < p on 53-bit uniforms: PyTorch's CPU path (its wheels use it on every CPU;
    only builds with MKL's stream enabled, such as older Intel ones, draw differently)."""
    return unit_floats(g, n, _F64) < p


def bernoulli_tensor(g, p: np.ndarray) -> np.ndarray:
    """One draw per probability: 53-bit uniforms for float64 probabilities, 24-bit ones
    compared in float32 otherwise."""
    if p.dtype == _F64:
        return unit_floats(g, p.size, _F64) < p.ravel()
    return unit_floats(g, p.size, _F32) < p.ravel().astype(_F32)


def exponential(g, n: int, lambd: float, np_dtype) -> np.ndarray:
    u = unit_floats(g, n, _F64)
    return ((-1.0 / lambd) * MF.libm(MF.log1p, -u)).astype(np_dtype)


def geometric(g, n: int, p: float, np_dtype) -> np.ndarray:
    u = unit_floats(g, n, _F64)
    return np.ceil(MF.libm(MF.log, u) / math.log(1.0 - p)).astype(np_dtype)


def cauchy(g, n: int, median: float, sigma: float, np_dtype) -> np.ndarray:
    u = unit_floats(g, n, _F64)
    return (median + sigma * MF.libm(math.tan, math.pi * (u - 0.5))).astype(np_dtype)


def multinomial(g, probs: np.ndarray, n: int, replacement: bool) -> np.ndarray:
    """Category indices, rows of `probs` (2-d) one after another. Without replacement, or
    for one sample: the largest p / q with q ~ Exp(1) drawn for the whole tensor first
    (argmax or a descending top-n). With replacement: per row, the cumulative sum in the
    probabilities' dtype divided by its total, then the first bucket >= a 53-bit uniform."""
    rows = probs.shape[0]
    if not replacement or n == 1:
        q = exponential(g, probs.size, 1.0, probs.dtype).reshape(probs.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = probs / q
        if n == 1:
            return np.argmax(ratio, axis=1).reshape(rows, 1)
        return np.argsort(-ratio, axis=1, kind="stable")[:, :n]
    out = np.empty((rows, n), dtype=np.int64)
    for r in range(rows):
        cum = np.cumsum(probs[r], dtype=probs.dtype)
        cum = (cum / cum[-1]).astype(probs.dtype)
        cum[-1] = 1
        out[r] = np.searchsorted(cum.astype(_F64), unit_floats(g, n, _F64), side="left")
    return out
