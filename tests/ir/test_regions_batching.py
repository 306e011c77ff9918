"""Batching through regions: per-example predicates (cond's select, while's masked
steps), carries that become batched after some steps (the fixed point), what stays
unbatched, and tg.vmap of tg.lax programs against a Python loop over the batch."""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import Builder, f64, tensor_type
from tapegrad.ir import primitives as P
from tapegrad.ir.batching import vmap
from tapegrad.runtime import interpret

from helpers.ir_build import roundtrip
from helpers.region_programs import cond_sin_or_square, while_doubling

RNG = np.random.default_rng(23)
V3 = tensor_type(f64, (3,))


def loop_over_batch(fn, args, in_dims):
    """fn on each example (in_dims: 0 or None per argument), stacked along axis 0."""
    size = next(a.shape[0] for a, d in zip(args, in_dims) if d is not None)
    outs = [interpret(fn, [a[k] if d is not None else a for a, d in zip(args, in_dims)])
            for k in range(size)]
    return [np.stack([o[i] for o in outs]) for i in range(len(fn.results))]


def check(fn, args, in_dims):
    size = next(a.shape[0] for a, d in zip(args, in_dims) if d is not None)
    batched = roundtrip(vmap(fn, in_dims, [0] * len(fn.results), size))
    got = interpret(batched, args)
    for g, w in zip(got, loop_over_batch(fn, args, in_dims)):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)
    return batched


def _build(name, types, program):
    b = Builder(name)
    params = [b.param(t, f"x{i}") for i, t in enumerate(types)]
    out = program(b, *params)
    return b.build(*(out if isinstance(out, tuple) else (out,)))


def test_cond_with_a_predicate_per_example_selects_per_example():
    fn = _build("f", [V3, V3], cond_sin_or_square)
    xs = RNG.standard_normal((6, 3))
    xs[::2] = np.abs(xs[::2])   # even examples take the true branch,
    xs[1::2] = -np.abs(xs[1::2])  # odd ones the false branch
    batched = check(fn, [xs, RNG.standard_normal((6, 3))], [0, 0])
    assert not any(i.prim is P.cond for i in batched.body)
    assert any(i.prim is P.select for i in batched.body)
    check(fn, [xs, RNG.standard_normal(3)], [0, None])


def test_cond_with_a_shared_predicate_stays_a_cond():
    fn = _build("f", [V3, V3], cond_sin_or_square)
    for x in (np.abs(RNG.standard_normal(3)), -np.abs(RNG.standard_normal(3))):
        batched = check(fn, [x, RNG.standard_normal((4, 3))], [None, 0])
        assert sum(i.prim is P.cond for i in batched.body) == 1


def test_while_with_a_predicate_per_example_steps_only_the_running_ones():
    fn = _build("f", [tensor_type(f64, (2,))], while_doubling)
    x = np.array([[0.5, 0.5], [30.0, 40.0], [200.0, 1.0], [1e-3, 2e-3]])  # 7, 1, 0, 16 steps
    check(fn, [x], [0])


def _counted_while(b, n, x):
    """Add x to a zero carry n times: the trip count depends only on unbatched n."""
    i_t = tensor_type(f64, ())
    cb = Builder("keep_going")
    cn, _, ci, _ = cb.param(i_t), cb.param(x.type), cb.param(i_t), cb.param(x.type)
    cond = cb.build(cb.lt(ci, cn))
    bb = Builder("step")
    _, bx, bi, bc = bb.param(i_t), bb.param(x.type), bb.param(i_t), bb.param(x.type)
    body = bb.build(bb.add(bi, bb.full(i_t, 1.0)), bb.add(bb.mul(bc, bx), bx))
    t = b.while_loop(n, x, b.full(i_t, 0.0), b.full(x.type, 0.0), cond=cond, body=body,
                     num_consts=2)
    return b.output(t, index=1)


def test_while_with_a_shared_predicate_keeps_a_scalar_predicate():
    fn = _build("f", [tensor_type(f64, ()), V3], _counted_while)
    batched = check(fn, [np.array(4.0), RNG.standard_normal((5, 3))], [None, 0])
    (loop,) = [i for i in batched.body if i.prim is P.while_loop]
    assert loop.attrs["cond"].results[0].shape == ()
    assert not any(i.prim is P.select for i in loop.attrs["body"].body)
    assert loop.type.types[0].shape == ()  # the counter stays unbatched


def _shift_scan(b, c1, c2, xs):
    """carry (c1, c2) -> (c2, x): c2 is batched after one step, c1 after two."""
    step_b = Builder("step")
    s1, s2, sx = step_b.param(c1.type), step_b.param(c2.type), step_b.param(c1.type)
    step = step_b.build(s2, step_b.sin(sx), step_b.mul(s1, s2))
    t = b.scan(c1, c2, xs, body=step, num_consts=0, num_carry=2, length=xs.shape[0],
               reverse=False)
    return b.output(t, index=0), b.output(t, index=2)


def test_scan_carries_batched_after_some_steps_are_broadcast_up_front():
    fn = _build("f", [V3, V3, tensor_type(f64, (4, 3))], _shift_scan)
    args = [RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal((5, 4, 3))]
    batched = check(fn, args, [None, None, 0])
    (loop,) = [i for i in batched.body if i.prim is P.scan]
    assert [t.shape for t in loop.type.types] == [(5, 3), (5, 3), (4, 5, 3)]


def _const_only_scan(b, w, c, xs):
    """A carry that never reads a batched value stays unbatched inside the scan."""
    step_b = Builder("step")
    sw, sc, sx = step_b.param(w.type), step_b.param(c.type), step_b.param(c.type)
    step = step_b.build(step_b.add(sc, sx), step_b.mul(sw, sc))
    t = b.scan(w, c, xs, body=step, num_consts=1, num_carry=1, length=xs.shape[0],
               reverse=True)
    return b.output(t, index=0), b.output(t, index=1)


def test_scan_with_only_a_batched_const():
    fn = _build("f", [V3, V3, tensor_type(f64, (4, 3))], _const_only_scan)
    args = [RNG.standard_normal((5, 3)), RNG.standard_normal(3), RNG.standard_normal((4, 3))]
    batched = check(fn, args, [0, None, None])
    (loop,) = [i for i in batched.body if i.prim is P.scan]
    assert [t.shape for t in loop.type.types] == [(3,), (4, 5, 3)]


# ---------------------------------------------------------------- tg.vmap of tg.lax

def rnn(w, h, xs):
    def step(c, x):
        n = tg.tanh(c @ w + x)
        return n, (n * n).sum()
    return tg.lax.scan(step, h, xs)


def rnn_python(w, h, xs):
    ys = []
    for x in xs:
        h = np.tanh(h @ w + x)
        ys.append((h * h).sum())
    return h, np.array(ys)


def test_vmap_of_scan_matches_a_loop_over_the_batch():
    w, h = RNG.standard_normal((3, 3)) * 0.5, RNG.standard_normal(3)
    xs = RNG.standard_normal((4, 6, 3))  # batch 4, 6 steps
    c, ys = tg.vmap(rnn, in_axes=(None, None, 0))(w, h, xs)
    for k in range(4):
        want_c, want_ys = rnn_python(w, h, xs[k])
        np.testing.assert_allclose(c.numpy()[k], want_c, rtol=1e-12)
        np.testing.assert_allclose(ys.numpy()[k], want_ys, rtol=1e-12)


def test_vmap_of_fori_loop_and_while_loop_match_a_loop_over_the_batch():
    def fori(h):
        return tg.lax.fori_loop(0, 4, lambda i, c: tg.sin(c) * 1.5 + c, h)

    def doubling(x):
        return tg.lax.while_loop(lambda c: c.sum() < 50.0, lambda c: c * 2.0, x)

    hs = RNG.standard_normal((5, 3))
    want = []
    for h in hs:
        for _ in range(4):
            h = np.sin(h) * 1.5 + h
        want.append(h)
    np.testing.assert_allclose(tg.vmap(fori)(hs).numpy(), np.array(want), rtol=1e-12)
    xs = np.abs(RNG.standard_normal((5, 2))) * np.array([[1.0], [10.0], [0.1], [30.0], [1.0]])
    want = []
    for x in xs:
        while x.sum() < 50.0:
            x = x * 2.0
        want.append(x)
    np.testing.assert_array_equal(tg.vmap(doubling)(xs).numpy(), np.array(want))


def test_vmap_of_cond_matches_a_loop_over_the_batch():
    def f(x, y):
        return tg.lax.cond(x.sum() > 0, lambda a, b: tg.sin(a) * b, lambda a, b: a * a - b, x, y)

    xs, ys = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 3))
    got = tg.vmap(f)(xs, ys).numpy()
    for k in range(6):
        want = np.sin(xs[k]) * ys[k] if xs[k].sum() > 0 else xs[k] * xs[k] - ys[k]
        np.testing.assert_allclose(got[k], want, rtol=1e-13)


@pytest.mark.parametrize("axis", [0, 1])
def test_vmap_of_grad_of_scan(axis):
    """Per-example gradients through a scan: vmap of the reverse-mode program."""
    w, h = RNG.standard_normal((3, 3)) * 0.5, RNG.standard_normal(3)
    xs = RNG.standard_normal((4, 5, 3))

    def loss(w, x):
        c, ys = rnn(w, h, x)
        return c.sum() + ys.sum()

    batched = np.moveaxis(xs, 0, axis)
    got = tg.vmap(tg.grad(loss), in_axes=(None, axis))(w, batched).numpy()
    for k in range(4):
        np.testing.assert_allclose(got[k], tg.grad(loss)(w, xs[k]).numpy(), rtol=1e-11)
