"""tg.func: torch.func's names and signatures; eager where values are needed (Python
control flow), traced passes otherwise, and nested calls keep the graph."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func as F

X = tg.tensor(np.linspace(-1.0, 1.0, 4))
ONE = tg.ones(4, dtype=tg.float64)


def f(x):
    return (x.sin() * x).sum()


def branchy(x):
    """Python control flow on a value: only the eager tape can run it."""
    if x.sum() > 0:
        return x * 2
    return x * 3


def test_grad_nests_as_torch_func():
    x = X.numpy()
    np.testing.assert_allclose(F.grad(f)(X).numpy(), np.sin(x) + x * np.cos(x), rtol=1e-13)
    second = F.grad(lambda x: F.grad(f)(x).sum())(X).numpy()
    np.testing.assert_allclose(second, 2 * np.cos(x) - x * np.sin(x), rtol=1e-13)
    g, value = F.grad_and_value(f)(X)
    assert np.isclose(value.item(), f(X).item())


def test_grad_allows_python_control_flow_and_has_aux():
    g, aux = F.grad(lambda x: (branchy(x).sum(), x.mean()), has_aux=True)(X)
    np.testing.assert_allclose(g.numpy(), np.full(4, 3.0))
    assert np.isclose(aux.item(), 0.0)


def test_vjp_returns_output_and_a_function():
    out, vjp_fn = F.vjp(lambda x: x.sin(), X)
    (g,) = vjp_fn(ONE)
    np.testing.assert_allclose(g.numpy(), np.cos(X.numpy()), rtol=1e-13)


def test_jvp_traced_and_eager():
    out, t = F.jvp(lambda x: x.sin(), (X,), (ONE,))
    np.testing.assert_allclose(t.numpy(), np.cos(X.numpy()), rtol=1e-13)
    out, t = F.jvp(branchy, (X,), (ONE,))  # cannot be traced: the double-vjp trick
    np.testing.assert_allclose(t.numpy(), np.full(4, 3.0))


def test_vmap_with_in_dims_of_grad_and_of_control_flow():
    xs = tg.tensor(np.arange(12.0).reshape(3, 4) / 10)
    got = F.vmap(F.grad(f))(xs).numpy()
    for k in range(3):
        np.testing.assert_allclose(got[k], F.grad(f)(xs[k]).numpy(), rtol=1e-13)
    rows = tg.tensor(np.array([[1.0, 2.0], [-3.0, -4.0]]))
    np.testing.assert_allclose(F.vmap(branchy, in_dims=0)(rows).numpy(), [[2, 4], [-9, -12]])
    cols = F.vmap(lambda c, s: c * s, in_dims=(1, None), out_dims=1)(rows, 2.0)
    np.testing.assert_allclose(cols.numpy(), rows.numpy() * 2)


@pytest.mark.parametrize("jac", [F.jacrev, F.jacfwd])
def test_jacobians_traced_and_eager(jac):
    np.testing.assert_allclose(jac(lambda x: x.sin())(X).numpy(), np.diag(np.cos(X.numpy())),
                               atol=1e-15)
    np.testing.assert_allclose(jac(branchy)(X).numpy(), 3 * np.eye(4))


def test_hessian():
    x = X.numpy()
    np.testing.assert_allclose(F.hessian(f)(X).numpy(),
                               np.diag(2 * np.cos(x) - x * np.sin(x)), atol=1e-14)
