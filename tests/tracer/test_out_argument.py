"""`out=` of tg.* functions, with PyTorch 2.13's behaviour (its messages, recorded by hand
from /work/refvenv: `torch.add(c, 1, out=c)` with c requiring grad, a Float result into a
Long out, an out of another shape resized)."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


def test_out_is_written_and_returned():
    a = tg.tensor([[1., 2.], [3., 4.]])
    y = tg.zeros(2, 2)
    assert tg.matmul(a, a.T, out=y) is y
    np.testing.assert_array_equal(y.numpy(), [[5., 11.], [11., 25.]])
    z = tg.empty(2)
    tg.sum(a, axis=0, out=z)
    np.testing.assert_array_equal(z.numpy(), [4., 6.])


def test_out_of_another_shape_is_resized():
    out = tg.empty(3)
    tg.add(tg.ones(2), 1, out=out)
    assert out.shape == (2,) and out.tolist() == [2., 2.]


def test_out_may_be_wider_but_not_a_lower_category():
    out = tg.empty(2, dtype=tg.float64)
    tg.mul(tg.ones(2), 3, out=out)
    assert out.dtype is tg.float64 and out.tolist() == [3., 3.]
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        tg.add(tg.ones(2), 1, out=tg.empty(2, dtype=tg.int64))


def test_out_refuses_arguments_that_require_grad_in_grad_mode():
    c = tg.ones(2, requires_grad=True)
    msg = (r"add\(\): functions with out=\.\.\. arguments don't support automatic "
           r"differentiation, but one of the arguments requires grad\.")
    with pytest.raises(RuntimeError, match=msg):
        tg.add(c, 1, out=c)
    with pytest.raises(RuntimeError, match="mul"):
        tg.mul(c, 2, out=tg.empty(2))
    with tg.no_grad():
        tg.add(c, 1, out=c)
    assert c.tolist() == [2., 2.] and c._version[0] == 1


def test_methods_take_no_out_as_in_pytorch():
    with pytest.raises(TypeError):
        tg.ones(2).add(1, out=tg.empty(2))
