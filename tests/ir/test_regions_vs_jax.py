"""vmap and jvp through scan, cond and while_loop against JAX's results, recorded by
record_jax_regions.py in data/jax_regions.npz (JAX is never imported here)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import tapegrad as tg

DATA = np.load(Path(__file__).resolve().parent / "data" / "jax_regions.npz")


def rnn(w, h, xs):
    """The recorded scan (same formula in record_jax_regions.py)."""
    def step(c, x):
        n = tg.tanh(c @ w + x)
        return n, (n * n).sum()
    return tg.lax.scan(step, h, xs)


def branchy(x, y):
    return tg.lax.cond(x.sum() > 0, lambda a, b: tg.sin(a) * b, lambda a, b: a * a - b, x, y)


def growing(x):
    return tg.lax.while_loop(lambda c: (c * c).sum() < 40.0, lambda c: c * 1.5 + 0.25, x)


def test_vmap_of_scan_matches_jax():
    c, ys = tg.vmap(rnn, in_axes=(None, 0, 0))(DATA["w"], DATA["hs"], DATA["xs"])
    np.testing.assert_allclose(c.numpy(), DATA["vmap_scan_carry"], rtol=1e-12)
    np.testing.assert_allclose(ys.numpy(), DATA["vmap_scan_ys"], rtol=1e-12)


def test_jvp_of_scan_matches_jax():
    _, (tc, tys) = tg.jvp(rnn, (DATA["w"], DATA["h"], DATA["xs"][0]),
                          (DATA["tw"], DATA["th"], DATA["txs"]))
    np.testing.assert_allclose(np.asarray(tc), DATA["jvp_scan_carry"], rtol=1e-11)
    np.testing.assert_allclose(np.asarray(tys), DATA["jvp_scan_ys"], rtol=1e-11)


def test_vmap_of_grad_of_scan_matches_jax():
    h = DATA["h"]
    got = tg.vmap(tg.grad(lambda w, x: rnn(w, h, x)[1].sum()), in_axes=(None, 0))(
        DATA["w"], DATA["xs"])
    np.testing.assert_allclose(got.numpy(), DATA["vmap_grad_scan"], rtol=1e-11)


def test_vmap_of_cond_and_while_match_jax():
    np.testing.assert_allclose(tg.vmap(branchy)(DATA["cx"], DATA["cy"]).numpy(),
                               DATA["vmap_cond"], rtol=1e-13)
    np.testing.assert_allclose(tg.vmap(growing)(DATA["gx"]).numpy(), DATA["vmap_while"],
                               rtol=1e-13)


def test_jvp_of_while_matches_jax():
    _, t = tg.jvp(growing, (DATA["gx"][1],), (DATA["tg_x"],))
    np.testing.assert_allclose(np.asarray(t), DATA["jvp_while"], rtol=1e-13)
