"""A composite operation repeated with one signature runs from its template: one call,
one node, the same name, next_functions, values and in-place check (issue 17)."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer.tape import AdjointNode

F = tg.nn.functional
W0 = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
Y = np.array([0.0, 1.0, 0.0], np.float32)
W_ODD = np.random.default_rng(8).standard_normal((5, 13)).astype(np.float32)  # a signature
Y_ODD = (np.arange(13) % 2).astype(np.float32)  # no other test uses: its first sight is here


def _step(w):
    w.grad = None
    z = tg.matmul(tg.ones(5), w)
    loss = F.binary_cross_entropy_with_logits(z, tg.from_numpy(Y_ODD))
    loss.backward()
    return loss, w.grad.numpy().copy()


def test_repeated_calls_record_one_node_with_the_same_results():
    w = tg.tensor(W_ODD, requires_grad=True)
    (loss0, g0), (loss1, _), (loss2, g2) = _step(w), _step(w), _step(w)
    assert type(loss0.grad_fn) is not AdjointNode  # first sight: as written
    assert isinstance(loss2.grad_fn, AdjointNode)
    assert repr(loss2) == repr(loss0) and "BinaryCrossEntropyWithLogitsBackward0" in repr(loss2)
    assert [type(n).__name__ for n, _ in loss2.grad_fn.next_functions] == \
        [type(n).__name__ for n, _ in loss0.grad_fn.next_functions]
    np.testing.assert_allclose(g2, g0, rtol=1e-6)
    z = W_ODD.sum(0)
    np.testing.assert_allclose(g2, np.tile((1 / (1 + np.exp(-z)) - Y_ODD) / 13, (5, 1)),
                               rtol=1e-5)


def test_in_place_change_of_an_input_is_caught():
    y = tg.from_numpy(Y)
    for _ in range(3):
        leaf = tg.tensor(W0[0], requires_grad=True)  # alive: backward has a target
        z = leaf * 1.0
        loss = F.binary_cross_entropy_with_logits(z, y)
    assert isinstance(loss.grad_fn, AdjointNode)
    with tg.no_grad():
        z.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_second_order_through_a_template():
    b = tg.tensor(W0[1], requires_grad=True)
    s = 1 / (1 + np.exp(-2 * W0[1].astype(np.float64)))
    for _ in range(3):
        loss = F.binary_cross_entropy_with_logits(b * 2, tg.from_numpy(Y))
        (g,) = tg.autograd.grad(loss, b, create_graph=True)
        (h,) = tg.autograd.grad(g.sum(), b)
        np.testing.assert_allclose(g.detach().numpy(), 2 * (s - Y) / 3, rtol=1e-5)
        np.testing.assert_allclose(h.numpy(), 4 * s * (1 - s) / 3, rtol=1e-5)


def test_no_grad_and_other_signatures_run_as_written():
    z = tg.tensor(W0[0], requires_grad=True)
    for _ in range(3):
        with tg.no_grad():
            out = F.binary_cross_entropy_with_logits(z, tg.from_numpy(Y))
        assert out.grad_fn is None
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(z, tg.zeros(4))
