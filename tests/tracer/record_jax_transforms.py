"""Record JAX's results for transform compositions: data/jax_transforms.npz.

Run ONLY from the side venv with JAX (JAX is never a dependency of tapegrad or its tests):

    /work/refvenv/bin/python tests/tracer/record_jax_transforms.py

The inputs are drawn here and stored beside the results, so the test
(test_transforms_vs_jax.py) feeds tapegrad exactly the numbers JAX saw, in float64.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

OUT = Path(__file__).resolve().parent / "data" / "jax_transforms.npz"


def loss(w, b, x, y):
    """The tests' model: a tanh layer, then squared error (same formula in the test)."""
    return jnp.sum((jnp.tanh(x @ w + b) - y) ** 2)


def main() -> None:
    rng = np.random.default_rng(19)
    w, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    xs, ys = rng.standard_normal((5, 2, 4)), rng.standard_normal((5, 2, 3))
    v = rng.standard_normal((4, 3))
    a = rng.standard_normal((6, 6)) / 2
    z = rng.standard_normal(6)

    def smooth(z):
        return jnp.sum(jnp.tanh(a @ z) * jnp.sin(z))
    per_example = jax.vmap(jax.grad(loss, argnums=(0, 1)), in_axes=(None, None, 0, 0))
    g_of_vmap = jax.grad(lambda w, b: jnp.sum(jax.vmap(loss, in_axes=(None, None, 0, 0))(
        w, b, xs, ys)), argnums=(0, 1))
    pw, pb = per_example(w, b, xs, ys)
    gw, gb = g_of_vmap(w, b)
    hess = jax.jacfwd(jax.jacrev(smooth))(z)
    _, hvp = jax.jvp(lambda w: jax.grad(loss)(w, b, xs[0], ys[0]), (w,), (v,))
    jac_vmap = jax.vmap(jax.jacrev(lambda x: jnp.tanh(x @ w + b)))(xs)
    np.savez(OUT, w=w, b=b, xs=xs, ys=ys, v=v, a=a, z=z,
             vmap_grad_w=pw, vmap_grad_b=pb, grad_vmap_w=gw, grad_vmap_b=gb,
             jacfwd_jacrev=hess, jvp_grad=hvp, vmap_jacrev=jac_vmap)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
