"""A hook that changes its gradient in place reaches what PyTorch's shared tensor reaches
(cases in hook_inplace_cases.py, PyTorch's results in data/hook_inplace_expected.json)."""
from __future__ import annotations

import json

import pytest

import tapegrad

from .hook_inplace_cases import CASES, DATA

with open(DATA) as _f:
    EXPECTED = json.load(_f)["cases"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_place_hook_matches_pytorch(name):
    assert CASES[name](tapegrad) == EXPECTED[name]


def test_every_case_was_recorded():
    assert set(EXPECTED) == set(CASES)
