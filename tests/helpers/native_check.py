"""Helpers shared by the codegen tests: build IR, run native and interpreter, compare."""
from __future__ import annotations

import numpy as np

from tapegrad.ir import Builder, tensor_type
from tapegrad.runtime import interpret
from tapegrad.runtime.compiler import compile_function

RTOL = {"f32": 2e-5, "f64": 1e-12}


def build(name, param_types, body):
    """body(builder, *params) -> one value or a list of result values."""
    b = Builder(name)
    params = [b.param(tensor_type(dt, shape), f"p{i}") for i, (dt, shape) in enumerate(param_types)]
    out = body(b, *params)
    return b.build(*(out if isinstance(out, (list, tuple)) else [out]))


def noncontiguous(a: np.ndarray) -> np.ndarray:
    """The same values as a transposed (Fortran-ordered) view, or strided for 1-d."""
    if a.ndim >= 2:
        return np.ascontiguousarray(a.T).T
    if a.ndim == 1:
        big = np.empty(a.shape[0] * 2, a.dtype)
        big[::2] = a
        return big[::2]
    return a


def assert_same(got, want, dtype_name, rtol=None, atol=None, label=""):
    assert got.dtype == want.dtype, (label, got.dtype, want.dtype)
    assert got.shape == want.shape, (label, got.shape, want.shape)
    if dtype_name in RTOL:
        rtol = RTOL[dtype_name] if rtol is None else rtol
        atol = (1e-6 if dtype_name == "f32" else 1e-13) if atol is None else atol
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=label)
    else:
        np.testing.assert_array_equal(got, want, err_msg=label)


def check(fn, args, rtol=None, atol=None, use_blas=True, contiguous_too=True):
    """Native results equal the interpreter's, for contiguous and strided inputs."""
    cf = compile_function(fn, use_blas=use_blas)
    want = interpret(fn, args)
    variants = [[noncontiguous(a) for a in args]]
    if contiguous_too:
        variants.append(args)
    for variant in variants:
        got = cf(*variant)
        assert len(got) == len(want)
        for k, (g, w, r) in enumerate(zip(got, want, fn.results)):
            assert_same(g, w, r.dtype.name, rtol, atol, f"{fn.name} result {k}\n{str(fn)[:3000]}")
    return cf


def random_array(rng, dtype, shape, special=False):
    """Values of `dtype`; with `special`, NaN, infinities and signed zeros mixed in."""
    name = dtype.name
    if name == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if name == "i64":
        return np.asarray(rng.integers(-20, 20, shape)).astype(np.int64)
    a = (np.asarray(rng.standard_normal(shape)) * 2).astype(dtype.np)
    if special and a.size:
        flat = a.reshape(-1)
        picks = rng.integers(0, flat.size, min(flat.size, 8))
        flat[picks] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30],
                                          dtype.np), picks.size)
    return a
