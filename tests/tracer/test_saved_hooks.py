"""Saved-tensor hooks: what is packed and unpacked, and the gradients, as PyTorch's
(cases in saved_hooks_cases.py, PyTorch's results in data/saved_hooks_expected.json)."""
from __future__ import annotations

import json

import pytest

import tapegrad

from .saved_hooks_cases import CASES, DATA

with open(DATA) as _f:
    EXPECTED = json.load(_f)["cases"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_tensor_hooks_match_pytorch(name):
    assert CASES[name](tapegrad) == EXPECTED[name]


def test_every_case_was_recorded():
    assert set(EXPECTED) == set(CASES)
