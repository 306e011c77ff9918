"""tg.jvp, tg.linearize, tg.vmap, tg.jacrev, tg.jacfwd, tg.hessian: against grad, loops
over the batch and finite differences (float64), pytrees, composition, errors."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

RNG = np.random.default_rng(0)


def mlp_loss(params, x, y):
    h = tg.tanh(x @ params["w1"] + params["b1"])
    return ((h @ params["w2"] - y) ** 2).sum()


def params():
    r = np.random.default_rng(1)
    return {"w1": r.standard_normal((3, 5)), "b1": r.standard_normal(5),
            "w2": r.standard_normal((5, 2))}


def test_jvp_matches_the_gradient_along_a_direction_and_keeps_pytrees():
    p, x, y = params(), RNG.standard_normal((4, 3)), RNG.standard_normal((4, 2))
    t = {k: RNG.standard_normal(v.shape) for k, v in p.items()}
    zx, zy = np.zeros_like(x), np.zeros_like(y)
    value, tangent = tg.jvp(mlp_loss, (p, x, y), (t, zx, zy))
    g = tg.grad(mlp_loss)(p, x, y)
    want = sum(float((g[k].numpy() * t[k]).sum()) for k in p)
    assert np.isclose(tangent.item(), want, rtol=1e-12)
    assert np.isclose(value.item(), tg.compile(mlp_loss)(p, x, y).item())
    out, f_jvp = tg.linearize(mlp_loss, p, x, y)
    assert np.isclose(out.item(), value.item())
    assert np.isclose(f_jvp(t, zx, zy).item(), want, rtol=1e-12)


def test_jvp_errors_name_the_mismatch():
    with pytest.raises(TypeError, match="same tree structure"):
        tg.jvp(lambda a, b: a * b, (np.ones(2), np.ones(2)), (np.ones(2), (np.ones(2),)))
    with pytest.raises(TypeError, match="must have its type"):
        tg.jvp(lambda a: a * 2, (np.ones(2),), (np.ones(3),))


def test_forward_and_reverse_compose_both_ways():
    f = lambda x: (tg.sin(x) * x).sum()  # noqa: E731
    x, v = RNG.standard_normal(5), RNG.standard_normal(5)
    hvp_fwd_rev = tg.jvp(tg.grad(f), (x,), (v,))[1].numpy()
    hvp_rev_fwd = tg.grad(lambda x: tg.jvp(f, (x,), (v,))[1])(x).numpy()
    want = (2 * np.cos(x) - x * np.sin(x)) * v
    np.testing.assert_allclose(hvp_fwd_rev, want, rtol=1e-12)
    np.testing.assert_allclose(hvp_rev_fwd, want, rtol=1e-12)


def test_per_example_gradients_are_one_compiled_function():
    p = params()
    xs, ys = RNG.standard_normal((6, 1, 3)), RNG.standard_normal((6, 1, 2))
    per_example = tg.vmap(tg.grad(mlp_loss), in_axes=(None, 0, 0))
    got = per_example(p, xs, ys)
    for k in range(6):
        want = tg.grad(mlp_loss)(p, xs[k], ys[k])
        for name in p:
            np.testing.assert_allclose(got[name].numpy()[k], want[name].numpy(), rtol=1e-12)
    lowered = per_example.lower(p, xs, ys)
    assert lowered.adjoint is None and per_example.cache_info().traces == 1


def test_vmap_axes_as_pytrees_and_torch_names():
    f = lambda d, s: {"sum": d["a"] + d["b"] * s, "a": d["a"]}  # noqa: E731
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 3))
    out = tg.vmap(f, in_axes=({"a": 0, "b": 1}, None), out_axes={"sum": 1, "a": 0})(
        {"a": a, "b": b}, 2.0)
    np.testing.assert_allclose(out["sum"].numpy(), (a + 2 * b.T).T)
    np.testing.assert_allclose(out["a"].numpy(), a)
    torch_style = tg.vmap(lambda x, y: x * y, in_dims=(1, None), out_dims=0)
    np.testing.assert_allclose(torch_style(b, np.arange(4.0)).numpy(), b.T * np.arange(4.0))


def test_vmap_of_vmap_and_grad_of_vmap():
    dot = lambda x, y: (x * y).sum()  # noqa: E731
    xs, ys = RNG.standard_normal((4, 3)), RNG.standard_normal((5, 3))
    table = tg.vmap(tg.vmap(dot, in_axes=(None, 0)), in_axes=(0, None))(xs, ys)
    np.testing.assert_allclose(table.numpy(), xs @ ys.T, rtol=1e-13)
    g = tg.grad(lambda xs: tg.vmap(dot, in_axes=(0, None))(xs, ys[0]).sum())(xs)
    np.testing.assert_allclose(g.numpy(), np.broadcast_to(ys[0], xs.shape))


def test_vmap_errors():
    with pytest.raises(ValueError, match="inconsistent sizes"):
        tg.vmap(lambda a, b: a + b)(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="tree prefix"):
        tg.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": np.ones(2)})
    with pytest.raises(ValueError, match="at least one non-None"):
        tg.vmap(lambda a: a, in_axes=None)(np.ones(2))
    out = tg.vmap(lambda a: a * 2, in_axes=None, axis_size=3)(np.ones(2))
    assert out.shape == (3, 2)


def test_jacobians_agree_and_match_finite_differences():
    f = lambda x, w: tg.tanh(w @ x) * x[0]  # noqa: E731
    x, w = RNG.standard_normal(3), RNG.standard_normal((4, 3))
    jr = tg.jacrev(f, argnums=(0, 1))(x, w)
    jf = tg.jacfwd(f, argnums=(0, 1))(x, w)
    assert jr[0].shape == (4, 3) and jr[1].shape == (4, 4, 3)
    for a, b in zip(jr, jf):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
    eps = 1e-6
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        fd = (f(tg.tensor(x + d), tg.tensor(w)) - f(tg.tensor(x - d), tg.tensor(w))) / (2 * eps)
        np.testing.assert_allclose(jr[0].numpy()[:, i], fd.numpy(), rtol=1e-6, atol=1e-8)


def test_hessian_is_forward_over_reverse_and_symmetric():
    a = RNG.standard_normal((5, 5))
    f = lambda x: tg.tanh(tg.tensor(a) @ x).sum()  # noqa: E731
    x = RNG.standard_normal(5)
    h = tg.hessian(f)(x).numpy()
    t = np.tanh(a @ x)
    want = a.T @ np.diag(-2 * t * (1 - t * t)) @ a
    np.testing.assert_allclose(h, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, h.T, atol=1e-14)


def test_jacobian_with_aux_and_a_pytree_output():
    f = lambda x: ({"s": x.sin(), "c": x.cos()}, x.sum())  # noqa: E731
    x = RNG.standard_normal(3)
    jac, aux = tg.jacrev(f, has_aux=True)(x)
    np.testing.assert_allclose(jac["s"].numpy(), np.diag(np.cos(x)), atol=1e-15)
    np.testing.assert_allclose(jac["c"].numpy(), np.diag(-np.sin(x)), atol=1e-15)
    assert np.isclose(aux.item(), x.sum())
