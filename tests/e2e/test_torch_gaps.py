"""tapegrad prints what PyTorch 2.13 printed for each case of torch_gaps_cases.py
(recorded in data/torch_gaps.json by record_torch_gaps.py; no torch here)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch_gaps_cases as cases  # noqa: E402

import tapegrad  # noqa: E402

RECORDED = json.loads((HERE / "data" / "torch_gaps.json").read_text())


def test_every_case_is_recorded():
    assert sorted(RECORDED) == sorted(cases.CASES), "re-run record_torch_gaps.py"


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_case_prints_what_pytorch_printed(name):
    got = cases.run_case(name, tapegrad).splitlines()
    expected = RECORDED[name].splitlines()
    assert got == expected, "\n".join(
        f"line {i + 1}:\n  torch:    {e!r}\n  tapegrad: {g!r}"
        for i, (e, g) in enumerate(zip(expected, got)) if e != g) or f"{len(expected)} vs {len(got)} lines"


def test_every_in_place_form_of_an_operation_we_have():
    """PyTorch's Tensor has `x.op_()` beside `x.op()`; where tapegrad has `op`, it has
    `op_` too (names recorded from PyTorch 2.13 in data/torch_inplace_methods.json)."""
    names = json.loads((HERE / "data" / "torch_inplace_methods.json").read_text())
    x = tapegrad.tensor([1.0])
    missing = [n for n in names if hasattr(x, n[:-1]) and not hasattr(x, n)]
    assert not missing, f"in-place forms missing: {missing}"
