"""grad_fn nodes: their classes and hooks match PyTorch's (cases in node_hook_cases.py,
PyTorch's results in data/node_hook_expected.json)."""
from __future__ import annotations

import json

import pytest

import tapegrad

from .node_hook_cases import CASES, DATA

with open(DATA) as _f:
    EXPECTED = json.load(_f)["cases"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_node_hooks_match_pytorch(name):
    assert CASES[name](tapegrad) == EXPECTED[name]


def test_every_case_was_recorded():
    assert set(EXPECTED) == set(CASES)
