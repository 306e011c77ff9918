"""Forward mode through regions: while_loop against finite differences (it has no VJP
to transpose against), tg.jvp of scan and fori_loop against the unrolled Python loop,
and forward over forward through a scan."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import Builder, f64, tensor_type
from tapegrad.ir import primitives as P
from tapegrad.ir.forward_mode import jvp
from tapegrad.runtime import interpret

from helpers.ir_build import roundtrip

RNG = np.random.default_rng(11)
W = RNG.standard_normal((3, 3)) * 0.5
H = RNG.standard_normal((2, 3))
XS = RNG.standard_normal((4, 2, 3))


def _while_fn():
    """Repeat c <- tanh(c @ w) * 1.5 + c while sum(c*c) < limit (at most 6 steps)."""
    t = tensor_type(f64, (3,))
    w_t = tensor_type(f64, (3, 3))
    i_t = tensor_type(f64, ())
    cb = Builder("keep_going")
    _, _, c, i = cb.param(w_t), cb.param(i_t), cb.param(t), cb.param(i_t)
    limit = cb.full(i_t, 6.0)
    cond = cb.build(cb.lt(i, limit))
    bb = Builder("step")
    w, scale, c, i = bb.param(w_t), bb.param(i_t), bb.param(t), bb.param(i_t)
    r = bb.reshape(c, shape=(1, 3))
    grown = bb.reshape(bb.tanh(bb.matmul(r, w)), shape=(3,))
    new = bb.add(bb.mul(grown, bb.broadcast(scale, shape=(3,))), c)
    body = bb.build(new, bb.add(i, bb.full(i_t, 1.0)))
    b = Builder("f")
    w, scale, c0 = b.param(w_t, "w"), b.param(i_t, "s"), b.param(t, "c")
    loop = b.emit(P.while_loop, w, scale, c0, b.full(i_t, 0.0), cond=cond, body=body,
                  num_consts=2)
    return b.build(b.output(loop, index=0))


def test_while_loop_jvp_matches_finite_differences():
    fn = _while_fn()
    program = jvp(fn, fn.params)
    roundtrip(program)
    args = [W, np.array(0.7), RNG.standard_normal(3)]
    for _ in range(2):
        v = [RNG.standard_normal(np.shape(a)) for a in args]
        outs = interpret(program, args + v)
        np.testing.assert_array_equal(outs[0], interpret(fn, args)[0])
        eps = 1e-6
        up = interpret(fn, [a + eps * d for a, d in zip(args, v)])[0]
        down = interpret(fn, [a - eps * d for a, d in zip(args, v)])[0]
        np.testing.assert_allclose(outs[1], (up - down) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_while_loop_jvp_cond_reads_only_the_primal_carry():
    fn = _while_fn()
    program = jvp(fn, fn.params)
    loops = [i for i in program.body if i.prim is P.while_loop and i.attrs["num_consts"] > 2]
    assert len(loops) == 1
    cond = loops[0].attrs["cond"]
    used = {id(o) for i in cond.body for o in i.operands} | {id(r) for r in cond.results}
    n = len(cond.params)
    tangent_params = cond.params[2:4] + cond.params[n - 1:]  # tw, ts, ..., tc
    assert not any(id(p) in used for p in tangent_params)


def rnn_scan(w, h, xs):
    def step(c, x):
        n = tg.tanh(c @ w + x)
        return n, (n * n).sum()
    c, ys = tg.lax.scan(step, h, xs)
    return c.sum() + (ys * tg.arange(1, xs.shape[0] + 1, dtype=xs.dtype)).sum()


def rnn_unrolled(w, h, xs):
    c, total = h, 0.0
    for i in range(xs.shape[0]):
        c = tg.tanh(c @ w + xs[i])
        total = total + (c * c).sum() * (i + 1)
    return c.sum() + total


def _tangents():
    return tuple(RNG.standard_normal(np.shape(a)) for a in (W, H, XS))


def test_jvp_of_scan_matches_the_unrolled_loop():
    v = _tangents()
    value, tangent = tg.jvp(rnn_scan, (W, H, XS), v)
    want_value, want_tangent = tg.jvp(rnn_unrolled, (W, H, XS), v)
    assert np.asarray(value) == pytest.approx(float(np.asarray(want_value)), rel=1e-12)
    assert np.asarray(tangent) == pytest.approx(float(np.asarray(want_tangent)), rel=1e-10)


def fori(w, h):
    return tg.lax.fori_loop(0, 5, lambda i, c: tg.sin(c @ w) + c * 0.5, h).sum()


def fori_unrolled(w, h):
    c = h
    for _ in range(5):
        c = tg.sin(c @ w) + c * 0.5
    return c.sum()


def test_jvp_of_fori_loop_matches_the_unrolled_loop():
    v = _tangents()[:2]
    value, tangent = tg.jvp(fori, (W, H), v)
    want_value, want_tangent = tg.jvp(fori_unrolled, (W, H), v)
    assert np.asarray(value) == pytest.approx(float(np.asarray(want_value)), rel=1e-12)
    assert np.asarray(tangent) == pytest.approx(float(np.asarray(want_tangent)), rel=1e-10)


def test_forward_over_forward_through_a_scan():
    """The second directional derivative of the scan equals the unrolled loop's."""
    v = _tangents()

    def along(f):
        return lambda w, h, xs: tg.jvp(f, (w, h, xs), v)[1]

    got = tg.jvp(along(rnn_scan), (W, H, XS), v)[1]
    want = tg.jvp(along(rnn_unrolled), (W, H, XS), v)[1]
    assert np.asarray(got) == pytest.approx(float(np.asarray(want)), rel=1e-9)
