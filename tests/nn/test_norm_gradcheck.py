"""Finite-difference checks (float64) of the new layers' gradients, first and second
order, eager and through tg.grad's IR differentiation; and their input errors."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
from tapegrad.autograd import gradcheck, gradgradcheck


def _rand(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.standard_normal(shape), dtype=tg.float64, requires_grad=True)


def test_layer_norm_first_and_second_order():
    x, w, b = _rand(3, 4, seed=1), _rand(4, seed=2), _rand(4, seed=3)
    fn = lambda x, w, b: F.layer_norm(x, (4,), w, b, eps=1e-3)  # noqa: E731
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))
    x2 = _rand(2, 3, 2, seed=4)
    assert gradgradcheck(lambda x: F.layer_norm(x, (3, 2)), (x2,))


def test_batch_norm_training_and_eval_first_and_second_order():
    x, w, b = _rand(5, 3, seed=5), _rand(3, seed=6), _rand(3, seed=7)
    train = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    assert gradcheck(train, (x, w, b))
    assert gradgradcheck(train, (x, w, b))
    x3 = _rand(3, 2, 4, seed=8)
    assert gradgradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x3,))
    rm = tg.tensor([0.1, -0.2, 0.3], dtype=tg.float64)
    rv = tg.tensor([1.5, 0.5, 2.0], dtype=tg.float64)
    evaluate = lambda x, w, b: F.batch_norm(x, rm, rv, w, b)  # noqa: E731
    assert gradcheck(evaluate, (x, w, b)) and gradgradcheck(evaluate, (x, w, b))


def test_embedding_gradients_with_padding_and_frequency_scaling():
    """The plain lookup is checked by finite differences; padding and scale_grad_by_freq
    change the gradient on purpose (no longer the derivative), so they are checked as
    that gradient with the padding row zeroed / each row divided by its count."""
    w = _rand(6, 3, seed=9)
    idx = tg.tensor([[0, 2, 2], [5, 0, 0]])
    assert gradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))
    assert gradgradcheck(lambda w: F.embedding(idx, w) ** 3, (w,))
    (plain,) = tg.autograd.grad((F.embedding(idx, w) ** 3).sum(), w)
    (padded,) = tg.autograd.grad((F.embedding(idx, w, padding_idx=2) ** 3).sum(), w)
    (scaled,) = tg.autograd.grad((F.embedding(idx, w, padding_idx=5,
                                              scale_grad_by_freq=True) ** 3).sum(), w)
    expected_padded = plain.numpy().copy()
    expected_padded[2] = 0
    np.testing.assert_allclose(padded.numpy(), expected_padded, rtol=1e-12)
    counts = np.array([3, 1, 2, 1, 1, 0])[:, None]
    expected_scaled = plain.numpy() / np.maximum(counts, 1)
    expected_scaled[5] = 0
    np.testing.assert_allclose(scaled.numpy(), expected_scaled, rtol=1e-12)
    out = F.embedding(idx, w, padding_idx=2)
    np.testing.assert_array_equal(out.detach().numpy(), w.detach().numpy()[idx.numpy()])


def test_transforms_differentiate_the_layers_twice():
    x = tg.tensor(np.linspace(-1, 2, 8).reshape(4, 2), dtype=tg.float64)
    w = tg.tensor([0.5, 2.0], dtype=tg.float64)

    def loss(w):
        y = F.layer_norm(x * w, (2,), w) + F.batch_norm(x, None, None, w, training=True)
        return (y ** 2).sum()

    eager_w = w.clone().requires_grad_()
    (g_eager,) = tg.autograd.grad(loss(eager_w), eager_w, create_graph=True)
    np.testing.assert_allclose(tg.grad(loss)(w).numpy(), g_eager.detach().numpy(), rtol=1e-10)
    h = tg.grad(lambda w: tg.grad(loss)(w).sum())(w)
    (h_eager,) = tg.autograd.grad(g_eager.sum(), eager_w)
    np.testing.assert_allclose(h.numpy(), h_eager.numpy(), rtol=1e-9)


def test_input_errors_name_the_problem():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with "
                                           r"shape \[\*, 4\], but got input of size\[2, 3\]"):
        nn.LayerNorm(4)(tg.zeros(2, 3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(tg.zeros(2, 3, 1, 1))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(tg.zeros(1, 3))
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        nn.BatchNorm1d(4)(tg.zeros(2, 3))
    with pytest.raises(IndexError, match="index out of range in self"):
        nn.Embedding(3, 2)(tg.tensor([3]))
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar "
                                           "types: Long, Int"):
        nn.Embedding(3, 2)(tg.tensor([1.0]))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)


def test_batch_norm_eval_uses_running_stats_and_state_dict_round_trips():
    tg.manual_seed(0)
    bn = nn.BatchNorm1d(2)
    for _ in range(3):
        bn(tg.randn(6, 2) * 3 + 1)
    assert int(bn.num_batches_tracked) == 3
    other = nn.BatchNorm1d(2)
    other.load_state_dict(bn.state_dict())
    other.eval()
    x = tg.randn(4, 2)
    expected = (x - bn.running_mean) / tg.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(other(x).detach().numpy(), expected.numpy(), rtol=1e-5)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        other.load_state_dict({**bn.state_dict(), "extra": tg.zeros(1)})


def test_batch_norm_under_a_transform_needs_its_buffers_passed_in():
    from tapegrad.func import functional_call
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    x = tg.randn(5, 2)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.clone() for k, v in model.named_buffers()}

    def loss(p, b):
        return functional_call(model, {**p, **b}, (x,)).pow(2).sum()

    assert tg.grad(loss)(params, buffers)["0.weight"].shape == (3, 2)
    with pytest.raises(tg.tracer.errors.TracerError, match="pass them with the parameters"):
        tg.grad(lambda p: functional_call(model, p, (x,)).pow(2).sum())(params)
    model.eval()
    assert tg.grad(lambda p: functional_call(model, p, (x,)).pow(2).sum())(params)[
        "1.weight"].shape == (3,)
