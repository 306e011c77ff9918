"""tapegrad prints what PyTorch 2.13 printed for each case of every case module in
recorded_cases.MODULES (recorded by record_torch_cases.py into data/; no torch here)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recorded_cases import DATA, MODULES, case_module, run_case  # noqa: E402

import tapegrad  # noqa: E402

RECORDED = {m: json.loads((DATA / f).read_text()) for m, f in MODULES.items()}
CASE_IDS = [(m, name) for m in MODULES for name in sorted(case_module(m).CASES)]


@pytest.mark.parametrize("module", list(MODULES))
def test_every_case_is_recorded(module):
    assert sorted(RECORDED[module]) == sorted(case_module(module).CASES), \
        "re-run record_torch_cases.py"


@pytest.mark.parametrize("module,name", CASE_IDS, ids=[f"{m}:{n}" for m, n in CASE_IDS])
def test_case_prints_what_pytorch_printed(module, name):
    got = run_case(case_module(module), name, tapegrad).splitlines()
    expected = RECORDED[module][name].splitlines()
    assert got == expected, "\n".join(
        f"line {i + 1}:\n  torch:    {e!r}\n  tapegrad: {g!r}"
        for i, (e, g) in enumerate(zip(expected, got)) if e != g) or f"{len(expected)} vs {len(got)} lines"


def test_every_in_place_form_of_an_operation_we_have():
    """PyTorch's Tensor has `x.op_()` beside `x.op()`; where tapegrad has `op`, it has
    `op_` too (names recorded from PyTorch 2.13 in data/torch_inplace_methods.json)."""
    names = json.loads((DATA / "torch_inplace_methods.json").read_text())
    x = tapegrad.tensor([1.0])
    missing = [n for n in names if hasattr(x, n[:-1]) and not hasattr(x, n)]
    assert not missing, f"in-place forms missing: {missing}"
