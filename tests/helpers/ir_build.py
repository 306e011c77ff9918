"""Shared helpers for tests that build IR: every function a test builds goes through `roundtrip`."""
from __future__ import annotations

import numpy as np

from tapegrad.ir import Builder, Function, parse, structural_hash, tensor_type, verify
from tapegrad.ir import dtypes


def roundtrip(fn: Function) -> Function:
    """Assert `fn` verifies and print -> parse -> print gives the same text; returns the parse."""
    verify(fn)
    text = str(fn)
    back = parse(text)
    assert str(back) == text, f"round trip changed the text:\n{text}\n---\n{back}"
    verify(back)
    assert structural_hash(back) == structural_hash(fn)
    return back


def single_op(prim: str, operands, attrs: dict, type=None, name: str = "f") -> Function:
    """A function whose parameters are `operands` (arrays) and whose body is one `prim`."""
    b = Builder(name)
    params = [b.param(tensor_type(dtypes.from_numpy(a.dtype), a.shape), f"x{i}")
              for i, a in enumerate(operands)]
    extra = {} if type is None else {"type": type}
    return b.build(b.emit(prim, *params, **extra, **attrs))


def assert_same(got: np.ndarray, want: np.ndarray, rtol: float | None = None):
    """Same dtype, same shape, same values (NaN equal to NaN; floats to a dtype-fit tolerance)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind == "f":
        if rtol is None:
            rtol = 2e-6 if want.dtype == np.float32 else 1e-14
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)
