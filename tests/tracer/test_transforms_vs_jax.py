"""Transform compositions against JAX's results on the same numbers (float64), recorded
by record_jax_transforms.py in data/jax_transforms.npz: vmap of grad, grad of vmap,
jacfwd of jacrev, jvp of grad, vmap of jacrev."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg

DATA = np.load(Path(__file__).resolve().parent / "data" / "jax_transforms.npz")
W, B, XS, YS, V, A, Z = (DATA[k] for k in ("w", "b", "xs", "ys", "v", "a", "z"))


def loss(w, b, x, y):
    return ((tg.tanh(x @ w + b) - y) ** 2).sum()


def close(got, key):
    np.testing.assert_allclose(got.numpy(), DATA[key], rtol=1e-12, atol=1e-13)


def test_vmap_of_grad():
    gw, gb = tg.vmap(tg.grad(loss, argnums=(0, 1)), in_axes=(None, None, 0, 0))(W, B, XS, YS)
    close(gw, "vmap_grad_w")
    close(gb, "vmap_grad_b")


def test_grad_of_vmap():
    gw, gb = tg.grad(lambda w, b: tg.vmap(loss, in_axes=(None, None, 0, 0))(w, b, XS, YS).sum(),
                     argnums=(0, 1))(W, B)
    close(gw, "grad_vmap_w")
    close(gb, "grad_vmap_b")


@pytest.mark.parametrize("hessian", [lambda f: tg.jacfwd(tg.jacrev(f)), tg.hessian],
                         ids=["jacfwd-of-jacrev", "hessian"])
def test_jacfwd_of_jacrev(hessian):
    a = tg.tensor(A)
    close(hessian(lambda z: (tg.tanh(a @ z) * tg.sin(z)).sum())(Z), "jacfwd_jacrev")


def test_jvp_of_grad():
    _, hvp = tg.jvp(lambda w: tg.grad(loss)(w, B, XS[0], YS[0]), (W,), (V,))
    close(hvp, "jvp_grad")


def test_vmap_of_jacrev():
    close(tg.vmap(tg.jacrev(lambda x: tg.tanh(x @ W + B)))(XS), "vmap_jacrev")
