"""The eager engine's tiers: interpreter first, native code once a tape structure repeats."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.runtime import execute as tier


def _step(w, x):
    loss = (x.mm(w).clamp(min=0) ** 2).sum()
    loss.backward()
    with tg.no_grad():
        w -= 1e-3 * w.grad
        w.grad.zero_()
    return loss.item()


def test_a_repeated_tape_runs_natively(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_EAGER", "auto")
    x = tg.randn(8, 5)
    w = tg.randn(5, 3, requires_grad=True)
    before = tier.stats.native
    interpreted = tier.stats.interpreted
    _step(w, x)
    _step(w, x)
    _step(w, x)
    assert tier.stats.native - before >= 2
    assert tier.stats.interpreted - interpreted <= 1


@pytest.mark.parametrize("mode", ["interpret", "compile", "auto"])
def test_every_mode_gives_the_same_gradients(monkeypatch, mode):
    monkeypatch.setenv("TAPEGRAD_EAGER", mode)
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((6, 4)).astype(np.float32)
    wv = rng.standard_normal((4, 2)).astype(np.float32)
    grads = []
    for _ in range(3):
        w = tg.tensor(wv, requires_grad=True)
        y = tg.tanh(tg.tensor(xv) @ w).sum()
        y.backward()
        grads.append(w.grad.numpy())
    expected = xv.T @ (1 - np.tanh(xv @ wv) ** 2)
    for g in grads:
        np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)


def test_a_bad_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_EAGER", "fast")
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="TAPEGRAD_EAGER"):
        (w * w).sum().backward()
