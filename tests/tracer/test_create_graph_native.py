"""create_graph=True records the adjoint as one node computed in one call (issue 17):
values equal the interpreter's, every order differentiates, names stay PyTorch's,
version checks and retain_graph hold."""
import numpy as np
import pytest

import tapegrad as torch
from tapegrad.runtime import execute as tier
from tapegrad.tracer.tape import AdjointNode


def _d1_d2(x0):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = (x ** 3 * torch.sin(x)).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    return g, h


def _want(x):
    s, c = np.sin(x), np.cos(x)
    return 3 * x * x * s + x ** 3 * c, 6 * x * s + 6 * x * x * c - x ** 3 * s


def test_gradient_is_one_node_named_as_pytorch_names_it():
    x = torch.tensor([3.0], requires_grad=True)
    (g,) = torch.autograd.grad(torch.pow(x, 2), x, create_graph=True)
    assert isinstance(g.grad_fn, AdjointNode)
    assert repr(g) == "tensor([6.], grad_fn=<MulBackward0>)"
    # the node reaches the leaf (through the forward's node or directly)
    seen, stack = set(), [g.grad_fn]
    while stack:
        f = stack.pop()
        if id(f) in seen or f is None:
            continue
        seen.add(id(f))
        if f.name() == "torch::autograd::AccumulateGrad":
            assert f.variable is x
        stack.extend(n for n, _ in f.next_functions)
    assert repr(torch.autograd.grad(g, x)) == "(tensor([2.]),)"


def test_second_order_runs_native_and_matches_the_interpreter(monkeypatch):
    x0 = np.linspace(-2, 2, 7)
    want_g, want_h = _d1_d2(x0)  # interpreted (first sight of each adjoint)
    np.testing.assert_allclose(want_g.detach().numpy(), _want(x0)[0], rtol=1e-12)
    np.testing.assert_allclose(want_h.numpy(), _want(x0)[1], rtol=1e-12)
    monkeypatch.setenv("TAPEGRAD_EAGER", "compile")
    before = (tier.stats.native, tier.stats.interpreted)
    for _ in range(2):
        g, h = _d1_d2(x0)
        np.testing.assert_allclose(g.detach().numpy(), want_g.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(h.numpy(), want_h.numpy(), rtol=1e-12)
    # two native calls per step (the first and the second backward), nothing interpreted
    assert tier.stats.native - before[0] == 4 and tier.stats.interpreted == before[1]


def test_any_order():
    x = torch.tensor([1.5, -0.5], dtype=torch.float64, requires_grad=True)
    g = (x ** 5).sum()
    want = [5 * x0 ** 4 for x0 in (1.5, -0.5)], [20 * 1.5 ** 3, 20 * -0.125], \
        [60 * 1.5 ** 2, 60 * 0.25], [120 * 1.5, -60.0], [120.0, 120.0]
    for order in range(5):
        (g,) = torch.autograd.grad(g.sum() if order else g, x, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), want[order], rtol=1e-12)
        assert g.requires_grad


def test_the_in_place_check_holds_through_the_node():
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)  # exp's gradient reads y
    with torch.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch.autograd.grad(g.sum(), x)


def test_retain_graph_holds_through_the_node():
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    (g,) = torch.autograd.grad((x * x.sin()).sum(), x, create_graph=True)
    s = g.sum()
    a = torch.autograd.grad(s, x, retain_graph=True)[0]
    b = torch.autograd.grad(s, x)[0]
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)  # interpreted, then native
    with pytest.raises(RuntimeError, match="second time"):
        torch.autograd.grad(s, x)


def test_backward_create_graph_then_backward_of_the_grad():
    x = torch.tensor(2.0, requires_grad=True)
    (2 * x * x * x).backward(create_graph=True)
    d1 = x.grad
    # .grad holds a copy of the adjoint's result, as PyTorch's AccumulateGrad keeps it
    assert d1.grad_fn.name() == "CopyBackwards" and d1.item() == 24.0
    assert isinstance(d1.grad_fn.next_functions[0][0], AdjointNode)
    x.grad = None
    d1.backward()
    assert x.grad.item() == 24.0
