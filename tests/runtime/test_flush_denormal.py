"""tg.set_flush_denormal (PyTorch's): FTZ/DAZ on the calling thread, for native code
and numpy alike; off by default."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.runtime.denormals import flushing_denormals

TINY = np.float32(1e-39)  # a float32 denormal


def _halved(compiled):
    return compiled(tg.from_numpy(np.full(4, TINY, np.float32))).numpy()


def test_off_by_default_and_flushes_only_while_on():
    if not tg.set_flush_denormal(False):
        pytest.skip("no SSE control register on this host")
    f = tg.compile(lambda x: x * 0.5)
    assert not flushing_denormals()
    assert np.all(_halved(f) == TINY * np.float32(0.5))  # denormals kept, as PyTorch
    try:
        assert tg.set_flush_denormal(True) and flushing_denormals()
        assert np.all(_halved(f) == 0)  # native code flushes
        assert np.all(np.full(4, TINY) * np.float32(0.5) == 0)  # so does numpy
    finally:
        tg.set_flush_denormal(False)
    assert not flushing_denormals()
    assert np.all(_halved(f) == TINY * np.float32(0.5))
