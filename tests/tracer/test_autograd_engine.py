"""The eager autograd engine against PyTorch's semantics.

The dot-product test of composite functions, accumulation, retain_grad, hooks,
the arguments of backward/grad, every error PyTorch users meet (with PyTorch's
key phrase and, where a shape is wrong, the line of this file), create_graph,
custom Functions, `tg.autograd.functional`, and memory in long create_graph loops.
(The table of ops against finite differences is test_op_gradients.py.)
"""
from __future__ import annotations

import gc
import inspect
import os
import weakref

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F

grad = tg.autograd.grad


def f64(a, requires_grad=False):
    return tg.tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


def rand64(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return f64(rng.uniform(-1, 1, size=shape), requires_grad)


def here() -> int:
    """The line number of the caller (for errors that must name it)."""
    return inspect.currentframe().f_back.f_lineno


# ---------------------------------------------------------------- dot-product test


def _mlp(x, w1, b1, w2):
    return F.log_softmax(tg.tanh(x @ w1 + b1) @ w2, dim=1)


def _attention(q, k, v):
    scores = F.softmax(q @ k.transpose(0, 1) / 2.0, dim=-1)
    return scores @ v + q.sigmoid()


def _mixed(x, y):
    z = tg.cat([x * y, (x ** 2).exp()[None, ...].squeeze(0), tg.maximum(x, y)], dim=0)
    return tg.stack([z.norm(dim=1), z.mean(1) - z[..., ::2].sum(-1)]).relu() + z.max()


def _losses(x, t):
    p = x.sigmoid()
    return F.binary_cross_entropy(p, t.sigmoid()) + F.mse_loss(x, t) + \
        F.binary_cross_entropy_with_logits(x, t.sigmoid(), reduction="sum")


COMPOSITES = [
    (_mlp, [(4, 3), (3, 5), (5,), (5, 2)]),
    (_attention, [(3, 4), (5, 4), (5, 4)]),
    (_mixed, [(2, 3), (2, 3)]),
    (_losses, [(3, 2), (3, 2)]),
]


@pytest.mark.parametrize("fn,shapes", COMPOSITES, ids=lambda v: getattr(v, "__name__", ""))
def test_dot_product_test(fn, shapes):
    """<u, J v> == <J^T u, v>: J v by finite differences (and by jvp), J^T u by backward."""
    rng = np.random.default_rng(1)
    xs = [rand64(*s, seed=i) for i, s in enumerate(shapes)]
    out = fn(*xs)
    u = f64(rng.normal(size=tuple(out.shape)))
    vs = [f64(rng.normal(size=s)) for s in shapes]
    jtu = grad(out, xs, grad_outputs=u)
    lhs = sum(float((g * v).sum()) for g, v in zip(jtu, vs))
    eps = 1e-6
    with tg.no_grad():
        plus = fn(*[x + eps * v for x, v in zip(xs, vs)])
        minus = fn(*[x - eps * v for x, v in zip(xs, vs)])
    jv = (plus - minus) / (2 * eps)
    assert float((u * jv).sum()) == pytest.approx(lhs, rel=1e-6, abs=1e-8)
    _, jv_exact = tg.autograd.functional.jvp(fn, tuple(xs), tuple(vs))
    assert float((u * jv_exact).sum()) == pytest.approx(lhs, rel=1e-10, abs=1e-12)


def test_dot_product_test_second_order():
    """The same identity for the map x -> grad f(x) (a Hessian-vector product): symmetric."""
    x = rand64(2, 3, seed=3)
    w = rand64(3, 3, seed=4, requires_grad=False)

    def gradient(x):
        return grad((tg.tanh(x @ w) ** 2).sum() + x.norm(), x, create_graph=True)[0]

    rng = np.random.default_rng(5)
    u, v = f64(rng.normal(size=(2, 3))), f64(rng.normal(size=(2, 3)))
    hu = grad(gradient(x), x, grad_outputs=u)[0]
    hv = grad(gradient(x), x, grad_outputs=v)[0]
    assert float((hu * v).sum()) == pytest.approx(float((hv * u).sum()), rel=1e-10)


# ---------------------------------------------------------------- accumulation, .grad


def test_gradients_accumulate_across_backward_calls():
    x = f64([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    first = x.grad
    np.testing.assert_array_equal(first.numpy(), [2.0, 4.0])
    (3 * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])
    assert x.grad is first  # accumulated in place, as PyTorch does
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_grad_is_settable_and_none_restarts_accumulation():
    x = f64([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x.grad = f64([10.0, 20.0])
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [11.0, 21.0])
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    with pytest.raises(RuntimeError, match="different size"):
        x.grad = f64([1.0, 2.0, 3.0])


def test_non_leaf_grad_is_none_and_retain_grad_fills_it():
    x = f64([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = y * y
    w = z.sum()
    y.retain_grad()
    w.retain_grad()
    w.backward()
    assert z.grad is None and not z.retains_grad
    assert y.retains_grad
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 12.0])
    assert w.grad.item() == 1.0
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])
    # retained grads accumulate too
    y2 = x * 1
    y2.retain_grad()
    (y2 * 2).sum().backward(retain_graph=True)
    (y2 * 2).sum().backward()
    np.testing.assert_array_equal(y2.grad.numpy(), [4.0, 4.0])


def test_leaf_without_requires_grad_gets_no_grad():
    x = f64([1.0, 2.0])
    w = f64([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


# ---------------------------------------------------------------- hooks


def test_hook_on_leaf_observes_and_modifies():
    x = f64([1.0, 2.0], requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h2 = x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 40.0])
    h2.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert len(seen) == 2
    h1.remove()
    h1.remove()  # removing twice is harmless
    (x * x).sum().backward()
    assert len(seen) == 2


def test_hook_on_intermediate_modifies_what_flows_below():
    x = f64([1.0, 2.0], requires_grad=True)
    y = x * x
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.register_hook(lambda g: g * 2)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 24.0])  # 2x * (2 * 3)


def test_hook_on_intermediate_with_two_paths_and_retain_grad():
    x = f64([1.0, -2.0], requires_grad=True)
    y = x.exp()
    y.retain_grad()
    y.register_hook(lambda g: g + 1)
    out = (y * 2).sum() + y[0] * 5 + x.sum()
    out.backward()
    g_y = np.array([2.0 + 5.0 + 1.0, 2.0 + 1.0])
    np.testing.assert_allclose(y.grad.numpy(), g_y)  # the hook's result is what is retained
    np.testing.assert_allclose(x.grad.numpy(), g_y * np.exp([1.0, -2.0]) + 1)


def test_hook_removal_on_intermediate():
    x = f64([1.0, 2.0], requires_grad=True)
    y = x * 2
    handle = y.register_hook(lambda g: g * 100)
    handle.remove()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_hook_sees_gradient_in_autograd_grad_too():
    x = f64([1.0, 2.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 0)
    (g,) = grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


def test_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        f64([1.0]).register_hook(lambda g: g)


# ---------------------------------------------------------------- arguments


def test_wrong_shape_of_gradient_names_both_shapes_and_the_line():
    x = f64([[1.0, 2.0]], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as err:
        line = here(); y.backward(f64([1.0, 2.0, 3.0]))  # noqa: E702
    msg = str(err.value)
    assert "Mismatch in shape" in msg and "[3]" in msg and "[1, 2]" in msg, msg
    assert f"test_autograd_engine.py:{line}" in msg, msg
    with pytest.raises(RuntimeError) as err:
        line = here(); grad([y], [x], grad_outputs=[tg.ones(2, 1, dtype=tg.float64)])  # noqa
    assert "[2, 1]" in str(err.value) and f"test_autograd_engine.py:{line}" in str(err.value)


def test_gradient_argument_weights_a_vector_output():
    x = f64([1.0, 2.0, 3.0], requires_grad=True)
    y = x ** 2
    y.backward(f64([0.1, 1.0, 0.0001]))
    np.testing.assert_allclose(x.grad.numpy(), [0.2, 4.0, 0.0006])


def test_grad_outputs_of_another_dtype_is_cast_to_the_output():
    x = f64([1.0, 2.0], requires_grad=True)
    (g,) = grad(x * 3, x, grad_outputs=tg.ones(2))  # float32 gradient for a float64 output
    assert g.dtype is tg.float64
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])


def test_allow_unused():
    x, y = f64([1.0], requires_grad=True), f64([2.0], requires_grad=True)
    out = (x * 3).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        grad(out, [x, y], retain_graph=True)
    gx, gy = grad(out, [x, y], allow_unused=True)
    assert gy is None and gx.item() == 3.0
    gx, gy = grad((x * 3).sum(), [x, y], allow_unused=True, materialize_grads=True)
    np.testing.assert_array_equal(gy.numpy(), [0.0])


def test_backward_inputs_restricts_accumulation():
    a, b = f64([1.0, 2.0], requires_grad=True), f64([3.0, 4.0], requires_grad=True)
    h = a * b
    h.retain_grad()
    out = (h * h).sum()
    out.backward(inputs=[a], retain_graph=True)
    assert b.grad is None and h.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [18.0, 64.0])  # 2 a b^2
    out.backward(inputs=h)  # a non-leaf given as input gets its .grad too
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 16.0])
    assert b.grad is None


def test_autograd_backward_with_several_tensors_and_grad_tensors():
    x = f64([1.0, 2.0], requires_grad=True)
    y1, y2 = x * 2, (x ** 2).sum()
    tg.autograd.backward([y1, y2], grad_tensors=[f64([1.0, 10.0]), None])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0 + 2.0, 20.0 + 4.0])
    x.grad = None
    tg.autograd.backward((x * x).sum())
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        tg.autograd.backward([x * 2, x.sum()])


def test_grad_with_several_outputs_and_inputs():
    x, y = f64(2.0, requires_grad=True), f64(3.0, requires_grad=True)
    gx, gy = grad([x * y, x + y], [x, y])
    assert (gx.item(), gy.item()) == (4.0, 3.0)
    (gx,) = grad([x * y, x ** 2], x, grad_outputs=[f64(1.0), f64(0.5)])
    assert gx.item() == 3.0 + 2.0
    assert isinstance(grad(x * y, x), tuple)


def test_backward_on_a_leaf():
    x = f64(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0
    (g,) = grad(x, x)
    assert g.item() == 1.0
    y = f64([1.0, 2.0], requires_grad=True)
    (g,) = grad(y, y, grad_outputs=f64([3.0, 4.0]))
    np.testing.assert_array_equal(g.numpy(), [3.0, 4.0])


def test_detach_and_no_grad_results():
    x = f64([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    with tg.no_grad():
        n = x * 2
    assert not n.requires_grad and n.is_leaf and n.grad_fn is None
    y = (x * d).sum() + n.sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])  # d is a constant
    y2 = x * 1
    y2.detach_()
    assert y2.is_leaf and not y2.requires_grad


# ---------------------------------------------------------------- errors


def test_backward_twice_without_retain_graph():
    x = f64([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        grad(y, x)
    z = (x.exp() * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp([1.0, 2.0]) * [2.0, 3.0]) +
                               np.exp([1.0, 2.0]) * [2.0, 3.0])


def test_backward_twice_through_a_shared_part_of_the_graph():
    x = f64([1.0, 2.0], requires_grad=True)
    h = x.sin()
    (h * 2).sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        (h * 3).sum().backward()


def test_in_place_change_of_a_saved_tensor():
    x = f64([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    z = y.sum()
    y.add_(1)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                                           "computation has been modified by an inplace "
                                           "operation") as err:
        z.backward()
    assert "ExpBackward0" in str(err.value)
    assert "test_autograd_engine.py:" in str(err.value)
    a = f64([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * b  # saves b
    b.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as err:
        c.sum().backward()
    assert "MulBackward0" in str(err.value)


def test_in_place_change_of_a_tensor_not_saved_is_fine():
    x = f64([1.0, 2.0], requires_grad=True)
    y = x + 1  # add saves nothing its gradient needs
    z = y * 2
    y.add_(5)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_in_place_on_a_leaf_that_requires_grad():
    x = f64([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x *= 2
    with tg.no_grad():
        x -= 1
    np.testing.assert_array_equal(x.detach().numpy(), [0.0, 1.0])


def test_backward_of_a_tensor_without_grad():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                           "does not have a grad_fn"):
        x.sum().backward()
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        grad(x.sum(), f64([1.0], requires_grad=True))
    with tg.no_grad():
        y = f64([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        y.backward()
    w = f64([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad"):
        tg.autograd.backward([w.sum(), x.sum()])


def test_implicit_gradient_only_for_scalars():
    x = f64([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        grad(x * 2, x)
    (x[:1] * 2).backward()  # one element is fine, as in PyTorch
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0])


def test_only_floating_point_tensors_require_grad():
    for make in (lambda: tg.tensor([1, 2], requires_grad=True),
                 lambda: tg.tensor([True], requires_grad=True),
                 lambda: tg.arange(3).requires_grad_(),
                 lambda: setattr(tg.zeros(2, dtype=tg.int64), "requires_grad", True)):
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can "
                                               "require gradients"):
            make()


def test_grad_of_inputs_that_do_not_require_grad():
    x = f64([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((x * 2).sum(), f64([1.0]))


# ---------------------------------------------------------------- create_graph


def test_create_graph_results_have_grad_fn_and_third_order_works():
    x = f64(0.5, requires_grad=True)
    y = x ** 4 + x.sin()
    (g1,) = grad(y, x, create_graph=True)
    assert g1.requires_grad and g1.grad_fn is not None and not g1.is_leaf
    (g2,) = grad(g1, x, create_graph=True)
    assert g2.grad_fn is not None
    (g3,) = grad(g2, x, create_graph=True)
    (g4,) = grad(g3, x)
    assert g1.item() == pytest.approx(4 * 0.5**3 + np.cos(0.5), rel=1e-13)
    assert g2.item() == pytest.approx(12 * 0.5**2 - np.sin(0.5), rel=1e-13)
    assert g3.item() == pytest.approx(24 * 0.5 - np.cos(0.5), rel=1e-13)
    assert g4.item() == pytest.approx(24 + np.sin(0.5), rel=1e-13)
    assert g4.grad_fn is None and not g4.requires_grad


def test_backward_with_create_graph_accumulates_a_differentiable_grad():
    x = f64([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_array_equal(g.detach().numpy(), [3.0, 12.0])
    (h,) = grad(g.sum(), x)
    np.testing.assert_array_equal(h.numpy(), [6.0, 12.0])
    x.grad = None


def test_create_graph_retains_the_graph_by_default():
    x = f64([1.0, 2.0], requires_grad=True)
    y = (x ** 2).sum()
    grad(y, x, create_graph=True)
    (g,) = grad(y, x)  # retain_graph defaulted to create_graph=True
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="second time"):
        grad(y, x)


def test_gradient_penalty_style_double_backward_into_parameters():
    """The WGAN-GP pattern: the norm of an input gradient, minimised over weights."""
    w = rand64(3, 2, seed=7)
    x = rand64(4, 3, seed=8)
    out = tg.tanh(x @ w).sum()
    (gx,) = grad(out, x, create_graph=True)
    penalty = ((gx.norm(dim=1) - 1) ** 2).mean()
    penalty.backward()
    assert w.grad is not None and x.grad is not None

    def penalty_of(wv):
        wt = f64(wv, True)
        xt = x.detach().requires_grad_()
        (g,) = grad(tg.tanh(xt @ wt).sum(), xt, create_graph=True)
        return ((g.norm(dim=1) - 1) ** 2).mean()

    numeric = np.zeros((3, 2))
    base = w.detach().numpy()
    for i in range(3):
        for j in range(2):
            d = np.zeros((3, 2))
            d[i, j] = 1e-6
            with tg.enable_grad():
                numeric[i, j] = (penalty_of(base + d).item() - penalty_of(base - d).item()) / 2e-6
    np.testing.assert_allclose(w.grad.numpy(), numeric, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- custom Functions


class Exp(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class MulAdd(tg.autograd.Function):
    """(x * y + z), with needs_input_grad honoured."""

    calls = []

    @staticmethod
    def forward(ctx, x, y, z, scale=1.0):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x * y * scale + z

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        MulAdd.calls.append(ctx.needs_input_grad)
        gx = g * y * ctx.scale if ctx.needs_input_grad[0] else None
        gy = g * x * ctx.scale if ctx.needs_input_grad[1] else None
        return gx, gy, g if ctx.needs_input_grad[2] else None, None


class StraightThrough(tg.autograd.Function):
    """round() forward, identity backward: the straight-through estimator."""

    @staticmethod
    def forward(ctx, x):
        return f64(np.round(x.numpy()))

    @staticmethod
    def backward(ctx, g):
        return g


class WrongExp(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.exp()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.exp() * 1.1


def test_custom_function_saved_tensors_and_needs_input_grad():
    x = f64([0.5, 1.0], requires_grad=True)
    y = Exp.apply(x)
    assert y.grad_fn is not None and "ExpBackward" in y.grad_fn.name()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 1.0]))
    a, b = f64([2.0], requires_grad=True), f64([3.0])
    c = f64([1.0], requires_grad=True)
    MulAdd.calls.clear()
    out = MulAdd.apply(a, b, c, 2.0)
    out.sum().backward()
    assert MulAdd.calls == [(True, False, True, False)]
    assert a.grad.item() == 6.0 and c.grad.item() == 1.0 and b.grad is None


def test_custom_function_applied_several_times_in_one_graph():
    x = f64([0.3, -0.2], requires_grad=True)
    y = Exp.apply(Exp.apply(x) * 2) + Exp.apply(x)
    y.sum().backward()
    e = np.exp([0.3, -0.2])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(2 * e) * 2 * e + e, rtol=1e-13)
    assert tg.autograd.gradcheck(lambda t: Exp.apply(Exp.apply(t) * t) * Exp.apply(t),
                                 (f64([0.3, -0.2], True),))


def test_custom_function_mixed_with_tape_ops_on_both_sides():
    w = f64([[1.0, 2.0], [0.5, -1.0]], requires_grad=True)
    x = f64([0.1, 0.2], requires_grad=True)
    h = (w @ x).sin()
    out = (MulAdd.apply(h, h, x) * w[0]).sum()
    assert tg.autograd.gradcheck(
        lambda w_, x_: (MulAdd.apply((w_ @ x_).sin(), (w_ @ x_).sin(), x_) * w_[0]).sum(),
        (w.detach().requires_grad_(), x.detach().requires_grad_()))
    out.backward()
    assert w.grad is not None and x.grad is not None


def test_straight_through_estimator_is_honoured():
    x = f64([0.2, 0.7, 1.4], requires_grad=True)
    y = StraightThrough.apply(x * 3)
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 2.0, 4.0])
    (y * f64([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 6.0, 9.0])  # not round()'s zero


def test_create_graph_through_a_custom_function():
    x = f64(0.4, requires_grad=True)
    y = Exp.apply(x * x)  # backward uses tg ops: differentiable again
    (g,) = grad(y, x, create_graph=True)
    assert g.requires_grad
    (h,) = grad(g, x)
    e = np.exp(0.16)
    assert g.item() == pytest.approx(2 * 0.4 * e, rel=1e-13)
    assert h.item() == pytest.approx(2 * e + 4 * 0.16 * e, rel=1e-13)
    assert tg.autograd.gradcheck(lambda t: grad(Exp.apply(t.sin()).sum(), t, create_graph=True)[0],
                                 (f64([0.1, 0.5], True),))


def test_gradcheck_catches_a_wrong_custom_backward():
    x = f64([0.1, 0.5, 0.9], requires_grad=True)
    with pytest.raises(tg.autograd.GradcheckError) as err:
        tg.autograd.gradcheck(WrongExp.apply, (x,))
    msg = str(err.value)
    assert "Jacobian mismatch for output 0 with respect to input 0" in msg
    # the worst element: input 2 (the largest exp), analytic 1.1 e^0.9 against e^0.9
    assert "input element 2, output element 2" in msg, msg
    assert repr(1.1 * np.exp(0.9))[:8] in msg and repr(np.exp(0.9))[:8] in msg, msg
    assert tg.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False) is False
    assert tg.autograd.gradcheck(Exp.apply, (x,))
    assert isinstance(err.value, RuntimeError)


def test_second_backward_through_a_custom_function():
    x = f64([1.0, 2.0], requires_grad=True)
    y = Exp.apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    z = Exp.apply(x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp([1.0, 2.0]))


def test_custom_function_without_grad_inputs_returns_plain_tensors():
    y = Exp.apply(f64([1.0]))
    assert not y.requires_grad and y.grad_fn is None
    with tg.no_grad():
        y = Exp.apply(f64([1.0], requires_grad=True))
    assert not y.requires_grad


def test_custom_function_wrong_number_of_gradients():
    class Bad(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = f64([1.0], True), f64([2.0], True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x, y).sum().backward()


def test_custom_function_with_several_and_non_differentiable_outputs():
    class SplitArgmax(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            mask = f64((x.detach().numpy() > 0) * 1.0)
            ctx.mark_non_differentiable(mask)
            return x * 2, idx, mask, x * 3

        @staticmethod
        def backward(ctx, ga, gidx, gmask, gb):
            assert gidx.shape == () and gmask.shape == (3,)
            assert not gmask.numpy().any()  # materialized zeros for outputs without gradient
            return ga * 2 + gb * 3

    x = f64([1.0, -2.0, 0.5], requires_grad=True)
    a, idx, mask, b = SplitArgmax.apply(x)
    assert a.requires_grad and b.requires_grad
    assert not idx.requires_grad and not mask.requires_grad
    a.sum().backward()  # b unused: its gradient arrives as zeros
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])

    class Extra(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, None  # extra Nones are allowed, as in PyTorch

    x.grad = None
    Extra.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])

    class TooMany(Extra):
        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooMany.apply(x).sum().backward()


def test_custom_function_in_place_change_of_saved_tensor():
    x = f64([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = MulAdd.apply(h, h, h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---------------------------------------------------------------- autograd.functional

AF = tg.autograd.functional


def test_jacobian_one_input_one_output():
    x = f64([0.5, -1.0, 2.0])
    jac = AF.jacobian(lambda t: t.exp() * t[0], x)
    e = np.exp([0.5, -1.0, 2.0])
    expect = np.diag(e * 0.5)
    expect[:, 0] += e
    assert isinstance(jac, tg.Tensor) and jac.shape == (3, 3)
    np.testing.assert_allclose(jac.numpy(), expect, rtol=1e-13)
    assert not jac.requires_grad and not x.requires_grad


def test_jacobian_several_inputs_and_outputs_structure():
    x, y = f64([[1.0, 2.0], [3.0, 4.0]]), f64([0.5, -0.5])
    jac = AF.jacobian(lambda a, b: (a @ b, (a * 2).sum()), (x, y))
    assert isinstance(jac, tuple) and len(jac) == 2 and all(len(j) == 2 for j in jac)
    (d1x, d1y), (d2x, d2y) = jac
    assert d1x.shape == (2, 2, 2) and d1y.shape == (2, 2) and d2x.shape == (2, 2)
    assert d2y.shape == (2,)
    np.testing.assert_array_equal(d1y.numpy(), x.numpy())
    expect = np.zeros((2, 2, 2))
    expect[0, 0], expect[1, 1] = y.numpy(), y.numpy()
    np.testing.assert_array_equal(d1x.numpy(), expect)
    np.testing.assert_array_equal(d2x.numpy(), np.full((2, 2), 2.0))
    np.testing.assert_array_equal(d2y.numpy(), [0.0, 0.0])  # unused input: zeros
    one_in = AF.jacobian(lambda a: (a.sum(), a * 3), (x,))
    assert isinstance(one_in, tuple) and isinstance(one_in[0], tuple) and len(one_in[0]) == 1


def test_jacobian_of_a_function_with_constant_or_piecewise_linear_output():
    x = f64([1.0, -2.0])
    np.testing.assert_array_equal(AF.jacobian(lambda t: f64([1.0, 1.0]), x).numpy(),
                                  np.zeros((2, 2)))
    np.testing.assert_array_equal(AF.hessian(lambda t: t.relu().sum() + 3 * t.sum(), x).numpy(),
                                  np.zeros((2, 2)))


def test_hessian_against_analytic():
    x = f64([0.3, -0.7])
    h = AF.hessian(lambda t: (t[0] ** 2) * t[1].sin() + t.exp().sum(), x)
    a, b = 0.3, -0.7
    expect = np.array([[2 * np.sin(b) + np.exp(a), 2 * a * np.cos(b)],
                       [2 * a * np.cos(b), -a * a * np.sin(b) + np.exp(b)]])
    np.testing.assert_allclose(h.numpy(), expect, rtol=1e-13)
    hx = AF.hessian(lambda p, q: (p * q).sum() + (p ** 3).sum(), (f64([1.0, 2.0]), f64([3.0, 4.0])))
    (hpp, hpq), (hqp, hqq) = hx
    np.testing.assert_array_equal(hpp.numpy(), np.diag([6.0, 12.0]))
    np.testing.assert_array_equal(hpq.numpy(), np.eye(2))
    np.testing.assert_array_equal(hqp.numpy(), np.eye(2))
    np.testing.assert_array_equal(hqq.numpy(), np.zeros((2, 2)))


def test_vjp_jvp_hvp_against_numpy():
    a = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    x = f64([0.2, 0.4, -0.6])
    fn = lambda t: f64(a) @ t.tanh()  # noqa: E731
    jac = a * (1 - np.tanh(x.numpy()) ** 2)
    u, v = f64([1.0, -2.0]), f64([0.5, 1.0, 2.0])
    out, vjp = AF.vjp(fn, x, u)
    np.testing.assert_allclose(out.numpy(), a @ np.tanh(x.numpy()), rtol=1e-13)
    np.testing.assert_allclose(vjp.numpy(), u.numpy() @ jac, rtol=1e-13)
    out, jvp = AF.jvp(fn, x, v)
    np.testing.assert_allclose(jvp.numpy(), jac @ v.numpy(), rtol=1e-13)
    assert not out.requires_grad and not jvp.requires_grad
    s = lambda t: (t ** 3).sum() * t[0]  # noqa: E731
    xv = x.numpy()
    hess = np.diag(6 * xv * xv[0])
    hess[0, :] += 3 * xv ** 2
    hess[:, 0] += 3 * xv ** 2
    val, hv = AF.hvp(s, x, v)
    np.testing.assert_allclose(hv.numpy(), hess @ v.numpy(), rtol=1e-13)
    assert val.item() == pytest.approx((xv ** 3).sum() * xv[0], rel=1e-13)
    # tuples in, tuples out, as PyTorch
    outs, vjps = AF.vjp(lambda p, q: (p * q).sum(), (f64([1.0, 2.0]), f64([3.0, 4.0])))
    assert isinstance(vjps, tuple) and len(vjps) == 2
    np.testing.assert_array_equal(vjps[1].numpy(), [1.0, 2.0])
    _, jv = AF.jvp(lambda p: (p * 2, p.sum()), f64([1.0, 2.0]), f64([1.0, 1.0]))
    assert isinstance(jv, tuple) and jv[1].item() == 2.0


def test_functional_create_graph_keeps_the_graph():
    x = f64([0.5, 1.5], requires_grad=True)
    _, vjp = AF.vjp(lambda t: t ** 3, x, f64([1.0, 1.0]), create_graph=True)
    assert vjp.requires_grad
    (g,) = grad(vjp.sum(), x)
    np.testing.assert_allclose(g.numpy(), 6 * x.detach().numpy())
    jac = AF.jacobian(lambda t: t ** 2, x, create_graph=True)
    (g,) = grad(jac.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0])


def test_vjp_requires_v_for_non_scalar_outputs():
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda t: t * 2, f64([1.0, 2.0]))


# ---------------------------------------------------------------- memory


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_create_graph_loop_keeps_memory_flat():
    """10,000 double-backward steps: no reference cycle keeps tapes alive."""
    x = f64(np.linspace(0.1, 1.0, 16), requires_grad=True)

    def step(i):
        y = (x.sin() * x).sum()
        (g,) = grad(y, x, create_graph=True)
        # every other time the second grad also keeps its graph: nothing is released by a
        # backward then, and only refcounting frees the tapes
        (z,) = grad(g.sum(), x, create_graph=bool(i & 1))
        return z

    for i in range(200):
        step(i)
    gc.collect()
    before = _rss_bytes()
    was_enabled = gc.isenabled()
    gc.disable()  # refcounting alone must free each iteration's tape
    try:
        for i in range(10_000):
            z = step(i)
    finally:
        if was_enabled:
            gc.enable()
    growth = _rss_bytes() - before
    assert growth < 20 * 2**20, f"resident memory grew by {growth / 2**20:.1f} MB"
    xv = x.detach().numpy()
    np.testing.assert_allclose(z.detach().numpy(), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-12)


def test_tapes_are_freed_by_refcounting():
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = f64([0.5, 1.5], requires_grad=True)
        y = (x.exp() * x).sum()
        (g,) = grad(y, x, create_graph=True)
        (h,) = grad(g.sum(), x, create_graph=True)
        refs = [weakref.ref(t) for t in (y, g, h)]
        fns = [weakref.ref(t.grad_fn) for t in (y, g, h)]
        del y, g, h
        assert all(r() is None for r in refs), "a tape output outlived its last user"
        assert all(r() is None for r in fns), "a grad_fn outlived the tensors using it"
        z = (x * x).sum()
        z.backward()
        ref = weakref.ref(z.grad_fn)
        del z
        assert ref() is None
        # a leaf's gradient holds no graph
        assert x.grad.grad_fn is None
        # a custom Function that saved its output, differentiated twice
        y = Exp.apply(x * 2)
        (g,) = grad(y.sum(), x, create_graph=True)
        (h,) = grad(g.sum(), x)
        node = weakref.ref(y.grad_fn)
        del y, g
        assert node() is None, "a custom Function's node outlived its output"
        np.testing.assert_allclose(h.numpy(), 4 * np.exp(2 * x.detach().numpy()), rtol=1e-13)
    finally:
        if was_enabled:
            gc.enable()
