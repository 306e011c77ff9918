"""Dtypes as PyTorch has them, against PyTorch 2.13's recorded answers.

data/dtype_cases.py lists the expressions; data/record_dtypes.py ran them with
PyTorch (in a side venv) into data/dtypes_torch.json; here they run with `torch`
bound to tapegrad: promotion (every pair of dtypes, dtype x Python scalar, 0-d
tensors), printing, overflow and wrap-around, conversions, float16 rounding (bit
for bit), the default dtype and the legacy constructors.
"""
import json
import os
import sys

import numpy as np
import pytest

import tapegrad as torch

HERE = os.path.join(os.path.dirname(__file__), "data")
sys.path.insert(0, HERE)
import dtype_cases as C  # noqa: E402
from record_dtypes import operands, run  # noqa: E402

RECORDED = json.load(open(os.path.join(HERE, "dtypes_torch.json")))


def _check(expr, want, env):
    got = run(expr, torch, env)
    assert got["kind"] == want["kind"], (expr, got, want)
    if want["kind"] == "tensor":
        assert (got["dtype"], got["shape"]) == (want["dtype"], want["shape"]), (expr, got, want)
        dt = np.dtype(got["dtype"] if got["dtype"] != "bool" else np.bool_)
        g, w = (np.frombuffer(bytes.fromhex(r["bytes"]), dt) for r in (got, want))
        same_nans = dt.kind == "f" and np.array_equal(g, w, equal_nan=True)  # any NaN payload
        if got["bytes"] != want["bytes"] and not same_nans:
            raise AssertionError(f"{expr}: values differ\n  tapegrad {np.frombuffer(bytes.fromhex(got['bytes']), dt)}"
                                 f"\n  torch    {np.frombuffer(bytes.fromhex(want['bytes']), dt)}")
        assert got["repr"] == want["repr"], expr
    elif want["kind"] == "error":
        assert got["type"] == want["type"], (expr, got, want)
        assert got["msg"].startswith(want["msg"][:40]), (expr, got, want)
    else:
        assert got == want, expr


def _cases(names):
    return pytest.mark.parametrize("expr", names)


@_cases(C.promotion_cases())
def test_promotion_matches_pytorch(expr):
    _check(expr, RECORDED["cases"][expr], {})


@_cases(C.PRINT_CASES)
def test_printing_matches_pytorch(expr):
    _check(expr, RECORDED["cases"][expr], {})


@_cases(C.OVERFLOW_CASES)
def test_integer_semantics_and_overflow_match_pytorch(expr):
    _check(expr, RECORDED["cases"][expr], {})


@_cases(C.CONVERSION_CASES)
def test_conversions_and_dtype_attributes_match_pytorch(expr):
    _check(expr, RECORDED["cases"][expr], {})


@_cases(C.GRAD_CASES)
def test_gradients_through_conversions_match_pytorch(expr):
    _check(expr, RECORDED["cases"][expr], {})


@_cases(C.F16_CASES)
def test_float16_results_match_pytorch_bit_for_bit(expr):
    _check(expr, RECORDED["cases"][expr], operands(torch))


@_cases(C.LEGACY_CASES)
def test_legacy_constructors_match_pytorch(expr):
    _check(expr, RECORDED["cases"][expr], {})


@_cases(C.DEFAULT_DTYPE_CASES)
def test_default_dtype_float64_matches_pytorch(expr):
    torch.set_default_dtype(torch.float64)
    try:
        _check(expr, RECORDED["default_float64"][expr], {})
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.get_default_dtype() is torch.float32


def test_default_dtype_takes_only_floats():
    with pytest.raises(TypeError, match="floating-point"):
        torch.set_default_dtype(torch.int32)


def test_isinstance_and_legacy_classes():
    t = torch.Tensor([1.0])
    assert isinstance(t, torch.Tensor) and type(t) is torch.Tensor
    assert isinstance(t, torch.FloatTensor) and not isinstance(t, torch.LongTensor)
    assert isinstance(torch.tensor([1]), torch.LongTensor)


def test_recording_is_from_pytorch_2_13():
    assert RECORDED["torch"].startswith("2.13")
