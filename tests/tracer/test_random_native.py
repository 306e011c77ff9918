"""The native random kernels (runtime/random_native.py) against their numpy reference
(tracer/random_fill.py and random_mathfun.py, which test_random_streams checks against
PyTorch's recorded numbers): the same seed must give the same bits, at sizes and
offsets the recordings do not reach (many twists, partial blocks, both float types)."""
from __future__ import annotations

import time

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.runtime import random_native
from tapegrad.tracer import random_engine


@pytest.fixture(scope="module")
def kernels():
    k = random_native.kernels()
    assert k is not None, "the native random kernels did not load"
    return k


def _both(monkeypatch, draw, seed=123):
    """draw(generator) with the native kernels, then with the numpy reference."""
    g = tg.Generator().manual_seed(seed)
    native = draw(g)
    with monkeypatch.context() as m:
        m.setattr(random_native, "kernels", lambda: None)
        g = tg.Generator().manual_seed(seed)
        reference = draw(g)
    return native, reference


def _bits_equal(a, b):
    a = [x.detach().numpy() if isinstance(x, tg.Tensor) else np.asarray(x) for x in a]
    b = [x.detach().numpy() if isinstance(x, tg.Tensor) else np.asarray(x) for x in b]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes(), f"{np.sum(x != y)} of {x.size} differ"


DTYPES = [tg.float32, tg.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_native_equals_reference(kernels, monkeypatch, dtype):
    def draw(g):
        return [tg.randn(100_003, dtype=dtype, generator=g),  # blocks of 16 and a redone tail
                tg.randn(7, dtype=dtype, generator=g),  # scalar Box-Muller, a cached sine
                tg.randn(5, dtype=dtype, generator=g),  # which this one starts with
                tg.randn(16, dtype=dtype, generator=g),
                tg.empty(3000, dtype=dtype).normal_(2.5, 0.5, generator=g),
                tg.empty(300, 40, dtype=dtype).t().normal_(generator=g),  # not contiguous
                tg.normal(-1.0, 3.0, size=(33,), generator=g, dtype=dtype)]
    _bits_equal(*_both(monkeypatch, draw))


@pytest.mark.parametrize("dtype", DTYPES)
def test_uniform_native_equals_reference(kernels, monkeypatch, dtype):
    def draw(g):
        return [tg.rand(70_001, dtype=dtype, generator=g),
                tg.rand(3, dtype=dtype, generator=g),
                tg.empty(5000, dtype=dtype).uniform_(-3.0, 7.25, generator=g),
                tg.empty(1300, dtype=dtype).uniform_(1e-3, 1e3, generator=g)]
    _bits_equal(*_both(monkeypatch, draw))


def test_integers_and_masks_native_equal_reference(kernels, monkeypatch):
    def draw(g):
        return [tg.randperm(50_000, generator=g), tg.randperm(1, generator=g),
                tg.randperm(0, generator=g), tg.randint(-5, 1000, (20_000,), generator=g),
                tg.randint(-2 ** 40, -2 ** 40 + 3, (999,), generator=g),
                tg.randint(0, 2 ** 27, (777,), dtype=tg.int32, generator=g),
                tg.randint(0, 2 ** 30, (777,), generator=g),  # 64-bit draws (numpy path)
                tg.empty(1000, dtype=tg.float64).random_(-7, 9, generator=g),
                tg.bernoulli(tg.full((9000,), 0.3), generator=g),
                tg.bernoulli(tg.full((9000,), 0.3, dtype=tg.float64), generator=g),
                tg.empty(4000).bernoulli_(0.25, generator=g),
                tg.rand(2000, generator=g)]
    _bits_equal(*_both(monkeypatch, draw))


def test_dropout_native_equals_reference(kernels, monkeypatch):
    def draw(g):
        tg.manual_seed(5)
        return [F.dropout(tg.ones(40_000), 0.3), F.dropout(tg.ones(70, 3, dtype=tg.float64), 0.5)]
    _bits_equal(*_both(monkeypatch, draw))


def test_seeding_and_engine_state_equal_reference(kernels, monkeypatch):
    for seed in (0, 1, 5489, 2 ** 32 + 7, 2 ** 64 - 1):
        np.testing.assert_array_equal(random_engine.MT19937(seed).state,
                                      random_engine._seeded_words(seed))

    def draw(g):
        tg.randn(1001, generator=g)
        words = g.engine.random_u32(5000)
        return [words, g.get_state()]
    _bits_equal(*_both(monkeypatch, draw))


def test_a_reference_state_continues_natively(kernels, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(random_native, "kernels", lambda: None)
        g = tg.Generator().manual_seed(9)
        tg.randn(333, generator=g)
        state = g.get_state()
        want = tg.randn(2000, generator=g)
    g = tg.Generator()
    g.set_state(state)
    _bits_equal([tg.randn(2000, generator=g)], [want])


def test_small_and_large_draws_are_fast(kernels):
    tg.manual_seed(0)

    def median(fn, repeat=5):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return sorted(times)[repeat // 2]
    # the numpy reference takes ~20 ms and ~200 us; native ~0.2 ms and ~25 us
    assert median(lambda: tg.randn(64, 1000)) < 0.005
    assert median(lambda: [tg.randn(5, 3) for _ in range(100)]) < 0.012
