"""jvp of a scan or while_loop runs the loop once: the tangent region carries the
primal carry too, and the primal outputs are read from it (forward_mode.joint_region);
linearize keeps its primal part apart."""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad.ir import primitives as P
from tapegrad.ir.forward_mode import jvp
from tapegrad.runtime import interpret
from tapegrad.tracer.trace import trace

from helpers.ir_build import roundtrip

RNG = np.random.default_rng(12)
W = RNG.standard_normal((3, 3)) * 0.5
H = RNG.standard_normal((2, 3))
XS = RNG.standard_normal((4, 2, 3))


def rnn(w, h, xs):
    def step(c, x):
        n = tg.tanh(c @ w + x)
        return n, (n * n).sum()
    c, ys = tg.lax.scan(step, h, xs)
    return c.sum() + ys.sum()


def grow(w, c):
    def body(state):
        i, c = state
        return i + 1, tg.tanh(c @ w) + c
    return tg.lax.while_loop(lambda s: s[0] < 5, body, (0, c))[1].sum()


def _regions(fn, prim):
    return sum(1 for i in fn.body if i.prim is prim)


def _check(f, args, prim):
    fn, _ = trace(f, args)
    merged = jvp(fn, fn.params)
    apart = jvp(fn, fn.params, merge_regions=False)
    roundtrip(merged)
    assert _regions(fn, prim) == 1 and _regions(apart, prim) == 2
    assert _regions(merged, prim) == 1  # the primal loop is gone: the joint one gives it
    v = [RNG.standard_normal(np.shape(a)) for a in args]
    got, want = interpret(merged, list(args) + v), interpret(apart, list(args) + v)
    for g, e in zip(got, want):
        np.testing.assert_array_equal(g, e)
    np.testing.assert_array_equal(got[0], interpret(fn, list(args))[0])


def test_jvp_of_scan_runs_one_loop():
    _check(rnn, (W, H, XS), P.scan)


def test_jvp_of_while_loop_runs_one_loop():
    _check(grow, (W, H[0]), P.while_loop)


def test_tg_jvp_and_linearize_of_a_scan_agree():
    v = tuple(RNG.standard_normal(np.shape(a)) for a in (W, H, XS))
    value, tangent = tg.jvp(rnn, (W, H, XS), v)
    value2, f_jvp = tg.linearize(rnn, W, H, XS)
    np.testing.assert_allclose(np.asarray(value), np.asarray(value2), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(tangent), np.asarray(f_jvp(*v)), rtol=1e-10)
