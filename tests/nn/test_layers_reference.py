"""Embedding, LayerNorm, BatchNorm1d, their functional forms, trunc_normal_, hooks and
the Module API around them against PyTorch's recorded numbers (data/record_layers.py
runs the same cases, tests/nn/layer_cases.py, with PyTorch)."""
import json

import pytest

import tapegrad as tg
from tests.nn import layer_cases
from tests.nn.reference_compare import REF, assert_matches

#: cases whose numbers come from the seeded generator alone: bit for bit
EXACT = {"embedding_init", "reprs", "model_state_and_repr", "gains", "trunc_normal",
         "model_dtypes_and_training", "forward_hooks", "embedding_from_pretrained",
         "functional_embedding", "state_dict_metadata"}


@pytest.mark.parametrize("case", layer_cases.LAYER_CASES, ids=lambda c: c.__name__)
def test_case_matches_pytorch(case):
    got = json.loads(json.dumps(case(tg)))
    exact = case.__name__ in EXACT
    assert_matches(got, REF[case.__name__], rtol=0 if exact else 2e-5, atol=0 if exact else 2e-6,
                   where=case.__name__)
