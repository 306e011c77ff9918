"""autograd.functional's routes through the transforms: jvp by forward mode, hvp/vhp
forward over reverse, jacobian/hessian(vectorize=True) as one batched program; the same
numbers as the eager tape's, which still runs untraceable functions."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd import functional as AF
from tapegrad.tracer import functional as eager
from tapegrad.tracer.transforms_forward import _JVP_CACHE

R = np.random.default_rng(4)
X = tg.tensor(R.standard_normal(4))
Y = tg.tensor(R.standard_normal((4, 3)))
V = tg.tensor(R.standard_normal(4))


def f(x, y):
    return tg.tanh(x @ y).sin() * 2


def scalar(x, y):
    return (tg.tanh(x @ y) ** 2).sum()


def branchy(x):
    return x * 2 if x.sum() > 0 else x * 3


def close(a, b):
    for p, q in zip(tg.tree_util.tree_leaves(a), tg.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12, atol=1e-13)


def test_jvp_uses_forward_mode():
    vy = tg.tensor(R.standard_normal((4, 3)))
    got = AF.jvp(f, (X, Y), (V, vy))
    assert f in _JVP_CACHE
    close(got, eager.jvp(f, (X, Y), (V, vy)))
    close(AF.jvp(branchy, X, V), eager.jvp(branchy, X, V))  # untraceable: eager


@pytest.mark.parametrize("name", ["hvp", "vhp"])
def test_hvp_and_vhp_forward_over_reverse(name):
    vy = tg.tensor(R.standard_normal((4, 3)))
    close(getattr(AF, name)(scalar, (X, Y), (V, vy)),
          getattr(eager, name)(scalar, (X, Y), (V, vy)))


@pytest.mark.parametrize("strategy", ["reverse-mode",
                                      pytest.param("forward-mode", marks=pytest.mark.slow)])
def test_vectorized_jacobian_and_hessian(strategy):
    close(AF.jacobian(f, (X, Y), vectorize=True, strategy=strategy),
          eager.jacobian(f, (X, Y)))
    close(AF.jacobian(lambda x: x.sin(), X, vectorize=True, strategy=strategy),
          eager.jacobian(lambda x: x.sin(), X))
    close(AF.hessian(scalar, (X, Y), vectorize=True), eager.hessian(scalar, (X, Y)))
    close(AF.hessian(lambda x: (x.sin() * x).sum(), X, vectorize=True),
          eager.hessian(lambda x: (x.sin() * x).sum(), X))
