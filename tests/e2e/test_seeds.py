"""Every code example of the user's tutorials (shared/seeds), with `import tapegrad as torch`,
checked against the numbers those documents print (random tensors aside)."""
import numpy as np
import pytest

import tapegrad as torch


def close(t, expected, tol=1e-4):
    np.testing.assert_allclose(np.asarray(t.detach()), expected, rtol=tol, atol=tol)


def test_seed1_mean_of_square_and_accumulation():
    x = torch.ones(2, 2, requires_grad=True)
    assert repr(x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    assert x.grad_fn is None
    y = x + 2
    assert repr(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    assert (x.is_leaf, y.is_leaf) == (True, False)
    z = y * y * 3
    out = z.mean()
    assert repr(out) == "tensor(27., grad_fn=<MeanBackward0>)"
    out.backward()
    assert repr(x.grad) == "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"
    out2 = x.sum()
    out2.backward()
    assert repr(x.grad) == "tensor([[5.5000, 5.5000],\n        [5.5000, 5.5000]])"
    out3 = x.sum()
    x.grad.data.zero_()
    out3.backward()
    assert repr(x.grad) == "tensor([[1., 1.],\n        [1., 1.]])"


def test_seed1_requires_grad_flag():
    a = torch.randn(2, 2)
    a = ((a * 3) / (a - 1))
    assert a.requires_grad is False
    a.requires_grad_(True)
    assert a.requires_grad is True
    b = (a * a).sum()
    assert b.grad_fn.name() == "SumBackward0"
    assert repr(b.grad_fn).startswith("<SumBackward0 object at 0x")


def test_seed1_vector_jacobian_product_through_view():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = 2 * x
    z = y.view(2, 2)
    assert repr(z) == "tensor([[2., 4.],\n        [6., 8.]], grad_fn=<ViewBackward0>)"
    v = torch.tensor([[1.0, 0.1], [0.01, 0.001]], dtype=torch.float)
    z.backward(v)
    assert repr(x.grad) == "tensor([2.0000, 0.2000, 0.0200, 0.0020])"


def test_seed1_no_grad_cuts_the_graph():
    x = torch.tensor(1.0, requires_grad=True)
    y1 = x ** 2
    with torch.no_grad():
        y2 = x ** 3
    y3 = y1 + y2
    assert x.requires_grad
    assert (repr(y1), y1.requires_grad) == ("tensor(1., grad_fn=<PowBackward0>)", True)
    assert (repr(y2), y2.requires_grad) == ("tensor(1.)", False)
    assert (repr(y3), y3.requires_grad) == ("tensor(2., grad_fn=<AddBackward0>)", True)
    y3.backward()
    assert repr(x.grad) == "tensor(2.)"
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        y2.backward()


def test_seed1_data_is_not_tracked():
    x = torch.ones(1, requires_grad=True)
    assert repr(x.data) == "tensor([1.])"
    assert x.data.requires_grad is False
    y = 2 * x
    x.data *= 100
    y.backward()
    assert repr(x) == "tensor([100.], requires_grad=True)"
    assert repr(x.grad) == "tensor([2.])"


def test_seed2_bce_with_logits_gradients():
    torch.manual_seed(7)
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    zv = np.ones(5, np.float32) @ w.detach().numpy() + b.detach().numpy()
    expected_b = 1 / (1 + np.exp(-zv)) / 3
    close(b.grad, expected_b, 1e-5)
    close(w.grad, np.tile(expected_b, (5, 1)), 1e-5)
    assert z.requires_grad
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    assert not z.requires_grad
    z = torch.matmul(x, w) + b
    assert z.requires_grad
    assert not z.detach().requires_grad


def test_seed2_manual_seed_cell_prints_what_pytorch_prints():
    """Seed 002's `torch.manual_seed(7)` cell run alone prints PyTorch 2.13's numbers
    (recorded in tests/tracer/data/random_streams.npz; the notebook's own printout came
    after other cells had drawn numbers, so it is not the reference)."""
    import contextlib
    import io
    import pathlib
    here = pathlib.Path(__file__).resolve()
    data = next(p / "tracer" / "data" / "random_streams.npz" for p in here.parents
                if (p / "tracer" / "data" / "random_streams.npz").exists())
    recorded = np.load(data)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(str(recorded["seed002/cell"]), {"torch": torch})
    assert out.getvalue() == str(recorded["seed002/stdout"])


def test_seed2_add_mul_retain_graph():
    w = torch.tensor([1.], requires_grad=True)
    x = torch.tensor([2.], requires_grad=True)
    a = torch.add(w, x)
    b = torch.add(w, 1)
    c = torch.mul(a, b)
    c.backward(retain_graph=True)
    assert repr(w.grad) == "tensor([5.])"
    assert repr(x.grad) == "tensor([2.])"
    c.backward()  # retained: a second backward works and accumulates
    assert repr(w.grad) == "tensor([10.])"
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        c.backward()


def test_seed2_doubling_loop_and_vjp():
    x = torch.randn(3, requires_grad=True)
    y = x * 2
    n = 1
    while y.data.norm() < 1000:
        y = y * 2
        n += 1
    assert y.grad_fn.name() == "MulBackward0"
    y.backward(torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float))
    close(x.grad, np.array([0.1, 1.0, 0.0001]) * 2 ** n, 1e-6)
    assert x.requires_grad
    assert (x ** 2).requires_grad
    with torch.no_grad():
        assert not (x ** 2).requires_grad


def test_seed2_second_derivative_with_create_graph():
    x = torch.tensor([3.], requires_grad=True)
    y = torch.pow(x, 2)
    grad_1 = torch.autograd.grad(y, x, create_graph=True)
    grad_2 = torch.autograd.grad(grad_1[0], x)
    assert repr(grad_1) == "(tensor([6.], grad_fn=<MulBackward0>),)"
    assert repr(grad_2) == "(tensor([2.]),)"


def test_seed4_sum_and_powers():
    torch.manual_seed(0)
    x = torch.rand(5, 5, requires_grad=True)
    y = torch.rand(5, 5, requires_grad=True)
    z = torch.sum(x + y)
    assert z.grad_fn.name() == "SumBackward0"
    z.backward()
    close(x.grad, np.ones((5, 5)))
    close(y.grad, np.ones((5, 5)))
    x = torch.rand(5, 5, requires_grad=True)
    y = torch.rand(5, 5, requires_grad=True)
    z = x ** 2 + y ** 3
    z.backward(torch.ones_like(x))
    close(x.grad, 2 * x.detach().numpy(), 1e-6)
    with torch.no_grad():
        assert not (x + y * 2).requires_grad
    assert torch.autograd.Variable(x) is x
    assert isinstance(torch.__version__, str)


def test_seed3_two_layer_net_trains():
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in, device=device)
    y = torch.randn(N, D_out, device=device)
    w1 = torch.randn(D_in, H, device=device, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(500):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    assert losses[0] > 1e6
    assert losses[-1] < 1e-3
