"""autograd.grad(..., is_grads_batched=True) through the batching pass, checked against
one autograd.grad per row; errors as PyTorch 2.13 words them (recorded by hand from
torch.autograd.grad on the same calls)."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer import batched_grad as bg


def _rows(outputs, inputs, grad_outputs):
    n = grad_outputs[0].shape[0]
    per_row = [tg.autograd.grad(outputs, inputs, [g[b] for g in grad_outputs],
                                retain_graph=True, allow_unused=True) for b in range(n)]
    return [None if per_row[0][k] is None else np.stack([r[k].numpy() for r in per_row])
            for k in range(len(inputs))]


@pytest.fixture
def no_row_loop(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the row-by-row fallback ran")
    monkeypatch.setattr(bg, "_row_by_row", refuse)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_batched_vjps_equal_one_grad_per_row(no_row_loop, dtype):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal(4), dtype=dtype, requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 4)), dtype=dtype, requires_grad=True)
    y = tg.tanh(w @ x) * x[:3]
    z = (w * w).sum(dim=1)
    gy = tg.tensor(rng.standard_normal((5, 3)), dtype=dtype)
    gz = tg.tensor(rng.standard_normal((5, 3)), dtype=dtype)
    want = _rows((y, z), (x, w), (gy, gz))
    got = tg.autograd.grad((y, z), (x, w), (gy, gz), retain_graph=True, is_grads_batched=True)
    for g, e in zip(got, want):
        assert g.dtype is dtype and g.shape == e.shape
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-6 if dtype is tg.float64 else 1e-5)


def test_an_unused_input_is_none_and_materialized_unbatched(no_row_loop):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    u = tg.tensor([3.0], requires_grad=True)
    y = x * x
    g = tg.autograd.grad(y, (x, u), tg.eye(2), retain_graph=True, is_grads_batched=True,
                         allow_unused=True)
    assert g[0].tolist() == [[2.0, 0.0], [0.0, 4.0]] and g[1] is None
    g = tg.autograd.grad(y, (x, u), tg.eye(2), retain_graph=True, is_grads_batched=True,
                         materialize_grads=True)
    assert g[1].shape == (1,) and g[1].tolist() == [0.0]
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used"):
        tg.autograd.grad(y, (x, u), tg.eye(2), retain_graph=True, is_grads_batched=True)


def test_one_batched_adjoint_per_plan_and_size(monkeypatch):
    calls = []
    real = bg.execute
    monkeypatch.setattr(bg, "execute", lambda fn, arrays: calls.append(fn) or real(fn, arrays))
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for _ in range(3):
        y = tg.sin(x) * x
        (g,) = tg.autograd.grad(y, x, tg.eye(3), is_grads_batched=True)
        np.testing.assert_allclose(g.numpy(), np.diag(np.cos([1, 2, 3]) * [1, 2, 3]
                                                      + np.sin([1, 2, 3])), rtol=1e-6)
    assert len(calls) == 3 and calls[0] is calls[1] is calls[2]  # one call per grad, cached


def test_without_retain_graph_the_graph_is_freed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.exp(x)
    tg.autograd.grad(y, x, tg.eye(2), is_grads_batched=True)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        tg.autograd.grad(y, x, tg.eye(2), is_grads_batched=True)


def test_create_graph_gives_differentiable_rows():
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    y = x ** 3
    (g,) = tg.autograd.grad(y, x, tg.eye(2), is_grads_batched=True, create_graph=True)
    assert g.requires_grad
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array([0.5, -1.0]), rtol=1e-6)


def test_a_scalar_output_takes_a_vector_of_rows(no_row_loop):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = (x * x).sum()
    (g,) = tg.autograd.grad(s, x, tg.tensor([1.0, 2.0]), is_grads_batched=True)
    assert g.tolist() == [[2.0, 4.0, 6.0], [4.0, 8.0, 12.0]]


def test_errors_are_pytorchs():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"If `is_grads_batched=True`, we interpret the first "
                       r"dimension.*grad_output\[0\] has a shape of torch.Size\(\[\]\) and "
                       r"output\[0\] has a shape of torch.Size\(\[3\]\)"):
        tg.autograd.grad(y, x, tg.ones(2, 4), retain_graph=True, is_grads_batched=True)
    with pytest.raises(ValueError, match=r"Got in_dim=0 for some input, but that input is a "
                       r"Tensor of dimensionality 0"):
        tg.autograd.grad(y.sum(), x, None, retain_graph=True, is_grads_batched=True)
    with pytest.raises(ValueError, match=r"got sizes \[2, 4\] for the mapped dimension"):
        tg.autograd.grad((y, y * 3), x, (tg.ones(2, 3), tg.ones(4, 3)), retain_graph=True,
                         is_grads_batched=True)
    with pytest.raises(IndexError, match="index 0 is out of bounds for dimension 0 with size 0"):
        tg.autograd.grad(y, x, tg.ones(0, 3), retain_graph=True, is_grads_batched=True)


def test_functional_jacobian_vectorized_is_one_batched_vjp_per_output(no_row_loop):
    from tapegrad.tracer.functional import hessian, jacobian  # the eager tape's route

    def f(x, w):
        return tg.tanh(w @ x), (x * x).sum()
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal(4))
    w = tg.tensor(rng.standard_normal((3, 4)))
    got = jacobian(f, (x, w), vectorize=True)
    want = jacobian(f, (x, w))
    for g_out, w_out in zip(got, want):
        for g, e in zip(g_out, w_out):
            assert g.shape == e.shape and not g.requires_grad
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6, atol=1e-7)
    h = hessian(lambda v: (tg.sin(v) * v).sum(), x, vectorize=True)
    np.testing.assert_allclose(h.numpy(), np.diag(2 * np.cos(x.numpy())
                                                 - x.numpy() * np.sin(x.numpy())), rtol=1e-5)
