"""Record JAX's vmap and jvp through scan, cond and while_loop: data/jax_regions.npz.

Run ONLY from the side venv with JAX (JAX is never a dependency of tapegrad or its tests):

    /work/refvenv/bin/python tests/ir/record_jax_regions.py

The inputs are drawn here and stored beside the results, so the test
(test_regions_vs_jax.py) feeds tapegrad exactly the numbers JAX saw, in float64.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

OUT = Path(__file__).resolve().parent / "data" / "jax_regions.npz"


def rnn(w, h, xs):
    """The tests' scan (same formula in the test)."""
    def step(c, x):
        n = jnp.tanh(c @ w + x)
        return n, jnp.sum(n * n)
    return jax.lax.scan(step, h, xs)


def branchy(x, y):
    return jax.lax.cond(jnp.sum(x) > 0, lambda a, b: jnp.sin(a) * b, lambda a, b: a * a - b, x, y)


def growing(x):
    return jax.lax.while_loop(lambda c: jnp.sum(c * c) < 40.0, lambda c: c * 1.5 + 0.25, x)


def main() -> None:
    rng = np.random.default_rng(31)
    w, h = rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)
    hs, xs = rng.standard_normal((4, 3)), rng.standard_normal((4, 6, 3))
    tw, th, txs = (rng.standard_normal(a.shape) for a in (w, h, xs[0]))
    cx, cy = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    gx = rng.standard_normal((5, 2)) * np.array([[0.1], [1.0], [3.0], [0.01], [5.0]])
    tg_x = rng.standard_normal(2)
    c, ys = jax.vmap(rnn, in_axes=(None, 0, 0))(w, hs, xs)
    (jc, jys), (tc, tys) = jax.jvp(rnn, (w, h, xs[0]), (tw, th, txs))
    gw = jax.vmap(jax.grad(lambda w, x: jnp.sum(rnn(w, h, x)[1])), in_axes=(None, 0))(w, xs)
    grown, grown_t = jax.jvp(growing, (gx[1],), (tg_x,))
    np.savez(OUT, w=w, h=h, hs=hs, xs=xs, tw=tw, th=th, txs=txs, cx=cx, cy=cy, gx=gx,
             tg_x=tg_x, vmap_scan_carry=c, vmap_scan_ys=ys, jvp_scan_carry=tc,
             jvp_scan_ys=tys, vmap_grad_scan=gw, vmap_cond=jax.vmap(branchy)(cx, cy),
             vmap_while=jax.vmap(growing)(gx), jvp_while=grown_t)


if __name__ == "__main__":
    main()
