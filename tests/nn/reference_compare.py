"""Compares a case's result (layer_cases.describe form) with PyTorch's recording."""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np

REF = json.loads(pathlib.Path(__file__).with_name("data").joinpath(
    "layers_reference.json").read_text())


def assert_matches(got, expected, rtol: float, atol: float, where: str = "") -> None:
    """Equal structure, dtypes, shapes, strings and integers; floats within rtol/atol
    (0 and 0: bit for bit)."""
    if isinstance(expected, dict) and "tensor" in expected:
        assert isinstance(got, dict) and "tensor" in got, f"{where}: expected a tensor, got {got}"
        assert got["tensor"] == expected["tensor"], f"{where}: dtype {got['tensor']}"
        assert got["shape"] == expected["shape"], f"{where}: shape {got['shape']}"
        e = np.asarray(expected["values"], np.float64)
        g = np.asarray(got["values"], np.float64)
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=where)
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), \
            f"{where}: keys {list(got) if isinstance(got, dict) else got} != {list(expected)}"
        for k in expected:
            assert_matches(got[k], expected[k], rtol, atol, f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), \
            f"{where}: {got!r} != {expected!r}"
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_matches(g, e, rtol, atol, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(got, bool):
        assert isinstance(got, (int, float)), f"{where}: {got!r} != {expected!r}"
        assert math.isclose(got, expected, rel_tol=rtol, abs_tol=atol), \
            f"{where}: {got!r} != {expected!r}"
    else:
        assert got == expected and type(got) is type(expected), \
            f"{where}: {got!r} != {expected!r}"
