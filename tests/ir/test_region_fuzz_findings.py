"""Bugs the region fuzzer (tests/e2e/test_fuzz_regions.py) found, one focused test each."""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad.ir import Builder, f64, tensor_type
from tapegrad.ir import primitives as P
from tapegrad.ir.passes import cse, simplify

from helpers.ir_build import roundtrip


def _scan_with_an_identity_reshape_inside():
    """x -> scan over 3 steps of c * 0.5 + tanh(reshape(c)) (a reshape to the same
    shape: something simplify removes inside the region)."""
    t = tensor_type(f64, (2,))
    body = Builder("step")
    c = body.param(t, "c")
    step = body.build(body.add(body.mul(c, body.full(t, 0.5)),
                               body.tanh(body.emit(P.reshape, c, shape=(2,)))))
    b = Builder("f")
    x = b.param(t, "x")
    out = b.scan(x, body=step, num_consts=0, num_carry=1, length=3, reverse=False)
    return b.build(b.output(out, index=0))


def test_simplify_and_cse_leave_the_regions_of_kept_instructions_alone():
    # `keep=` is how jvp and vjp keep the forward part as the same objects; simplify
    # rebuilt a kept scan whose body it could simplify, so jvp's region rule read
    # results that were no longer in the body (a nested scan's JVP failed to verify)
    fn = roundtrip(_scan_with_an_identity_reshape_inside())
    scan, out = fn.body
    kept = simplify(fn, keep=fn.body)
    assert kept.body[0] is scan and kept.results[0] is out
    assert cse(fn, keep=fn.body).body[0] is scan
    freed = simplify(fn)  # without keep, the region is still simplified
    assert not any(i.prim is P.reshape for i in freed.body[0].attrs["body"].body)


def test_jvp_through_a_scan_nested_in_a_scan():
    # found by the region fuzzer: the inner body indexes its slice with a constant list,
    # which leaves a reshape to the same shape that simplify removes
    def f(x0):
        def outer(c, _):
            c0, c1 = c

            def inner(c, e):
                return c * 0.5 + e[[0]].tanh(), None
            v, _ = tg.lax.scan(inner, c0, c0)
            return (c0 * 0.5 + v.tanh(), c1 * 0.5 + v.tanh()), None
        (_, out), _ = tg.lax.scan(outer, (x0, x0), None, length=3)
        return out

    x = np.random.default_rng(0).standard_normal((3, 1, 1))
    v = np.random.default_rng(1).standard_normal((3, 1, 1))
    primal, tangent = tg.jvp(f, (tg.tensor(x),), (tg.tensor(v),))
    eps = 1e-6
    numeric = (f(tg.tensor(x + eps * v)).numpy() - f(tg.tensor(x - eps * v)).numpy()) / (2 * eps)
    np.testing.assert_allclose(primal.numpy(), f(tg.tensor(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tangent.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_vmap_of_a_while_loop_never_steps_a_stopped_example():
    # the batched while steps the whole batch and keeps the running rows; a stopped
    # example's counter can be past the end of what the body indexes (that is why it
    # stopped), so stepping it raised IndexError where the loop over the batch did not
    xs = tg.tensor([10.0, 20.0])

    def f(k0, x):
        def body(s):
            k, v = s
            return k + 1, v + xs[k]
        return tg.lax.while_loop(lambda s: s[0] < 2, body, (k0, x))[1]
    starts, values = [1, 0, 2], [0.5, 1.5, 2.5]
    want = [f(tg.tensor(k), tg.tensor(v)).item() for k, v in zip(starts, values)]
    assert want == [20.5, 31.5, 2.5]
    got = tg.vmap(f)(tg.tensor(starts), tg.tensor(values))
    np.testing.assert_array_equal(got.numpy(), want)
    # a batched const the body indexes with a shared counter: the same
    ys = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])

    def g(row, stop):
        def body(s):
            k, v = s
            return k + 1, v + row[k]
        return tg.lax.while_loop(lambda s: s[0] < stop, body, (tg.tensor(0), tg.tensor(0.0)))[1]
    got = tg.vmap(g)(ys, tg.tensor([3, 1]))
    np.testing.assert_array_equal(got.numpy(), [6.0, 4.0])


def test_vmap_of_a_cond_never_runs_an_indexing_branch_on_an_example_it_guards_against():
    # with a predicate per example both branches run on the whole batch; a branch
    # indexing with what its predicate keeps in range raised IndexError on the examples
    # that do not take it, where the loop over the batch did not
    xs = tg.tensor([10.0, 20.0])

    def f(k, x):
        return tg.lax.cond(k < 2, lambda k, x: x + xs[k], lambda k, x: x * 3.0, k, x)
    ks, values = [0, 2, 1, 5], [1.0, 2.0, 3.0, 4.0]
    want = [f(tg.tensor(k), tg.tensor(v)).item() for k, v in zip(ks, values)]
    assert want == [11.0, 6.0, 23.0, 12.0]
    np.testing.assert_array_equal(tg.vmap(f)(tg.tensor(ks), tg.tensor(values)).numpy(), want)
    # no example takes the indexing branch: it does not run at all
    np.testing.assert_array_equal(tg.vmap(f)(tg.tensor([2, 7]), tg.tensor([1.0, 2.0])).numpy(),
                                  [3.0, 6.0])
    # and a gradient through it, batched
    g = tg.vmap(tg.grad(lambda k, x: f(k, x) * x, argnums=1))(tg.tensor(ks), tg.tensor(values))
    np.testing.assert_allclose(g.numpy(), [12.0, 12.0, 26.0, 24.0])


def test_jvp_of_a_gradient_through_an_empty_scan_reads_the_rebuilt_joint_region():
    # forward_mode.jvp reads a scan's primal outputs from its joint (primal + tangent)
    # region; when that region was rebuilt (its operands replaced), the output read the
    # old object and the program failed to verify ("used before it is defined")
    def f(x):
        def step(c, _):
            return (c[0] * 0.5 + x.sin().tanh(),), None
        (v,), _ = tg.lax.scan(step, (x,), None, length=0)
        return (v + 0.125 * v.sum().tanh()).sum()

    grad = tg.grad(f)
    x0 = 0.3
    _, tangent = tg.jvp(grad, (tg.tensor(np.float64(x0)),), (tg.tensor(np.float64(1.0)),))
    # length 0: f(x) = x + 0.125 tanh(x), so grad = 1 + 0.125 sech^2, and its derivative
    sech2 = 1 - np.tanh(x0) ** 2
    assert np.isclose(tangent.item(), 0.125 * -2 * np.tanh(x0) * sech2, rtol=1e-12)
