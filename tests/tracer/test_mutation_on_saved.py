"""allow_mutation_on_saved_tensors' state (its behaviour is in
tests/e2e/torch_mutation_saved_cases.py, recorded from PyTorch)."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer import mutation_on_saved, saved_hooks


def test_the_context_leaves_no_state_behind(monkeypatch):
    """It does not switch on the saved-hook unpacking every later backward would pay for,
    and an exception inside it closes it."""
    monkeypatch.setattr(saved_hooks, "used", False)
    with pytest.raises(ValueError):
        with tg.autograd.graph.allow_mutation_on_saved_tensors():
            a = tg.tensor([1.0, 2.0], requires_grad=True)
            b = a * 3
            out = (b * b).sum()
            b.add_(1)
            out.backward()
            raise ValueError("inside")
    assert saved_hooks.used is False
    assert mutation_on_saved.active is None and saved_hooks.state.stack == ()
    np.testing.assert_allclose(a.grad.numpy(), [18.0, 36.0])
    with tg.autograd.graph.allow_mutation_on_saved_tensors():  # a new one opens
        pass
