"""The IR's nine dtypes: spelling in text (printer and parser round-trip), numpy
mapping, PyTorch's promote_types lattice (recorded from PyTorch), and range checks
of scalar and literal constants."""
import json
import os

import numpy as np
import pytest

from tapegrad.ir import ParseError, ShapeError, dtypes, parse, tensor_type
from tapegrad.ir import primitives as P

RECORDED = json.load(open(os.path.join(os.path.dirname(__file__), "..", "tracer", "data",
                                       "dtypes_torch.json")))["cases"]
TORCH_NAMES = {d.torch_name: d for d in dtypes.ALL}


def test_names_and_numpy_types():
    assert [d.name for d in dtypes.ALL] == ["bool", "u8", "i8", "i16", "i32", "i64", "f16",
                                            "f32", "f64"]
    for d in dtypes.ALL:
        assert dtypes.by_name(d.name) is d and dtypes.from_numpy(d.np) is d
        assert repr(d) == f"torch.{d.torch_name}" and d.itemsize == d.np.itemsize
    assert dtypes.from_numpy(np.uint16) is dtypes.i32  # holds every uint16 value
    assert dtypes.from_numpy(np.uint32) is dtypes.i64
    with pytest.raises(TypeError):
        dtypes.from_numpy(np.uint64)


@pytest.mark.parametrize("a", dtypes.ALL, ids=lambda d: d.name)
def test_promote_is_pytorchs_promote_types(a):
    for b in dtypes.ALL:
        want = RECORDED[f"torch.promote_types(torch.{a.torch_name}, torch.{b.torch_name})"]
        assert dtypes.promote(a, b) is TORCH_NAMES[want["name"]], (a, b)


@pytest.mark.parametrize("d", dtypes.ALL, ids=lambda d: d.name)
def test_every_dtype_round_trips_through_text(d):
    lit = "[true, false]" if d is dtypes.bool_ else "[1.5, -2.0]" if d.is_float else "[7, 0]"
    value = "true" if d is dtypes.bool_ else "0.5" if d.is_float else "3"
    text = (f"func @f(%x: {d.name}[2]) -> ({d.name}[2], f64[2], {d.name}[2]) {{\n"
            f"  %0: {d.name}[2] = full value={value}\n"
            f"  %1: f64[2] = convert %x dtype=f64\n"
            f"  %2: {d.name}[2] = constant value={lit}\n"
            f"  %3: {d.name}[2] = convert %1 dtype={d.name}\n"
            f"  return %0, %1, %3\n}}")
    fn = parse(text)
    assert fn.params[0].type.dtype is d
    assert fn.body[-1].attrs["dtype"] is d
    again = parse(str(fn))
    assert str(again) == str(fn)
    assert f"dtype={d.name}" in str(fn) and f"%x: {d.name}[2]" in str(fn)


def test_integer_constants_must_fit_their_dtype():
    assert P.infer_type(P.full, (), {"value": 255}, tensor_type(dtypes.u8, (2,)))
    for dt, bad in ((dtypes.u8, 256), (dtypes.u8, -1), (dtypes.i8, 128), (dtypes.i16, -2**15 - 1)):
        with pytest.raises(ShapeError, match="full"):
            P.infer_type(P.full, (), {"value": bad}, tensor_type(dt, (2,)))
    with pytest.raises(ParseError):
        parse("func @f() -> (u8[2]) {\n  %0: u8[2] = constant value=[1, 300]\n  return %0\n}")
    with pytest.raises(ParseError):
        parse("func @f() -> (i8[1]) {\n  %0: i8[1] = constant value=[1.5]\n  return %0\n}")


def test_categories_and_signedness():
    assert [dtypes.category(d) for d in dtypes.ALL] == [0, 1, 1, 1, 1, 1, 2, 2, 2]
    assert [d.is_signed for d in dtypes.ALL] == [False, False] + [True] * 7
