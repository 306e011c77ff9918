"""tapegrad prints what PyTorch 2.13 printed for each case of torch_behaviour_cases.py
(recorded in data/torch_behaviour.json by record_torch_behaviour.py; no torch here)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch_behaviour_cases as cases  # noqa: E402

import tapegrad  # noqa: E402

RECORDED = json.loads((HERE / "data" / "torch_behaviour.json").read_text())


def test_every_case_is_recorded():
    assert sorted(RECORDED) == sorted(cases.CASES), "re-run record_torch_behaviour.py"


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_case_prints_what_pytorch_printed(name):
    got = cases.run_case(name, tapegrad).splitlines()
    expected = RECORDED[name].splitlines()
    assert got == expected, "\n".join(
        f"line {i + 1}:\n  torch:    {e!r}\n  tapegrad: {g!r}"
        for i, (e, g) in enumerate(zip(expected, got)) if e != g) or f"{len(expected)} vs {len(got)} lines"
