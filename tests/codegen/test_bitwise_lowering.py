"""&, |, ^ and ~ of integer tensors compiled to native code give numpy's bits for every
integer width (wrapping edges included), and the bool forms give the logical results."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


@pytest.mark.parametrize("dt", [np.int8, np.int16, np.int32, np.int64, np.uint8])
def test_compiled_bit_operations_match_numpy(dt):
    info = np.iinfo(dt)
    a = np.array([0, 1, 5, info.max, info.min, 3, 12, -1 if info.min else 200], dt)
    b = np.array([0, 3, 6, info.min, info.max, info.max, 10, 7], dt)
    f = tg.compile(lambda x, y: (x & y, x | y, x ^ y, ~x, (x & 6) | (y ^ x)))
    got = [r.numpy() for r in f(tg.tensor(a), tg.tensor(b))]
    want = [a & b, a | b, a ^ b, ~a, (a & 6) | (b ^ a)]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w), (g, w)


def test_compiled_bool_operations():
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    f = tg.compile(lambda x, y: (x & y, x | y, x ^ y, ~x))
    for g, w in zip(f(tg.tensor(a), tg.tensor(b)), [a & b, a | b, a ^ b, ~a]):
        assert np.array_equal(g.numpy(), w)
