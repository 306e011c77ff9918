"""How much work a scan's gradient does per step, counted in the IR that is compiled.

The gradient of a scan must run the forward body once per step (not again to save
residuals, not a third time inside the reverse scan), and the reverse scan must not
compute stacked cotangents nobody reads.  Counting instructions in `.optimized`
(what codegen compiles) is exact where a wall-clock ratio would be noisy.
"""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad.ir import Builder, f32, tensor_type
from tapegrad.ir import primitives as P
from tapegrad.ir.core import Function
from tapegrad.ir.passes.scan_merge import merge_scans
from tapegrad.ir.passes.scan_outputs import prune_scans
from tapegrad.runtime import interpret

H, B, T = 8, 3, 6


def rnn_loss(params, h0, xs):
    wh, wx, b = params

    def cell(h, x):
        return tg.tanh(h @ wh + x @ wx + b), None
    h, _ = tg.lax.scan(cell, h0, xs)
    return (h * h).sum()


def _data(seed=0):
    r = np.random.default_rng(seed)
    wh, wx = (r.standard_normal((2, H, H)) / np.sqrt(H)).astype(np.float32)
    b = r.standard_normal(H).astype(np.float32)
    h0 = r.standard_normal((B, H)).astype(np.float32)
    xs = r.standard_normal((T, B, H)).astype(np.float32)
    return wh, wx, b, h0, xs


def _args(wh, wx, b, h0, xs):
    t = tg.from_numpy
    return (t(wh), t(wx), t(b)), t(h0), t(xs)


def _numpy_rnn_grads(wh, wx, b, h0, xs):
    hs, h = [], h0
    for x in xs:
        hs.append(h)
        h = np.tanh(h @ wh + x @ wx + b)
    loss, d = (h * h).sum(), 2 * h
    gwh, gwx, gb = np.zeros_like(wh), np.zeros_like(wx), np.zeros_like(b)
    for t in reversed(range(len(xs))):
        nxt = np.tanh(hs[t] @ wh + xs[t] @ wx + b)
        g = d * (1 - nxt * nxt)
        gwh += hs[t].T @ g
        gwx += xs[t].T @ g
        gb += g.sum(0)
        d = g @ wh.T
    return loss, gwh, gwx, gb


def _scans(fn: Function):
    return [i for i in fn.body if i.prim is P.scan]


def _count(fn: Function, prim) -> int:
    return sum(1 for i in fn.body if i.prim is prim)


def test_the_forward_body_runs_once_and_the_reverse_reads_residuals():
    opt = tg.value_and_grad(rnn_loss).lower(*_args(*_data())).optimized
    forward, reverse = _scans(opt)  # exactly two loops: no second forward pass
    assert not forward.attrs["reverse"] and reverse.attrs["reverse"]
    assert _count(forward.attrs["body"], P.matmul) == 2
    assert _count(forward.attrs["body"], P.tanh) == 1
    body = reverse.attrs["body"]
    assert _count(body, P.tanh) == 0  # tanh's output is a residual, not recomputed
    # dWh, dWx and the carry's cotangent; no stacked cotangent of xs (nobody reads it)
    assert _count(body, P.matmul) == 3
    assert len(reverse.type.types) == reverse.attrs["num_carry"]


def test_gradients_match_a_hand_written_backward_natively_and_interpreted():
    data = _data(1)
    want = _numpy_rnn_grads(*data)
    f = tg.value_and_grad(rnn_loss)
    value, grads = f(*_args(*data))
    np.testing.assert_allclose(value.item(), want[0], rtol=1e-5)
    for g, w in zip(grads, want[1:]):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-4, atol=1e-5)
    program = f.lower(*_args(*data)).program  # the IR before codegen's passes
    got = interpret(program, [*data])
    for g, w in zip(got[1:], want[1:]):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_second_order_through_the_merged_scans():
    wh, wx, b, h0, xs = _data(2)

    def loss_of_wh(w):
        return rnn_loss((w, tg.from_numpy(wx), tg.from_numpy(b)), tg.from_numpy(h0),
                        tg.from_numpy(xs))
    v = tg.from_numpy(np.random.default_rng(3).standard_normal((H, H)).astype(np.float32))
    hvp = tg.grad(lambda w: (tg.grad(loss_of_wh)(w) * v).sum())
    got = hvp(tg.from_numpy(wh)).numpy().astype(np.float64)
    eps = 1e-3  # central difference of the gradient along v, in float64

    def grad64(w):
        return _numpy_rnn_grads(w, wx.astype(np.float64), b.astype(np.float64),
                                h0.astype(np.float64), xs.astype(np.float64))[1]
    vv = v.numpy().astype(np.float64)
    want = (grad64(wh + eps * vv) - grad64(wh - eps * vv)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-3)


def _scan_program(extra_result: bool, other_init: bool = False) -> Function:
    """Two scans over the same operands, the second's body returning the first's
    results and (if `extra_result`) a stacked extra."""
    t = tensor_type(f32, (4,))
    b = Builder("two_scans")
    h0, xs = b.param(t, "h0"), b.param(tensor_type(f32, (5, 4)), "xs")
    init2 = b.neg(h0) if other_init else h0

    def body(extra):
        rb = Builder("step")
        h, x = rb.param(t), rb.param(t)
        nxt = rb.sin(rb.add(h, x))
        return rb.build(nxt, rb.mul(h, x)) if extra else rb.build(nxt)
    s1 = b.emit(P.scan, h0, xs, body=body(False), num_consts=0, num_carry=1, length=5,
                reverse=False)
    s2 = b.emit(P.scan, init2, xs, body=body(extra_result), num_consts=0, num_carry=1,
                length=5, reverse=False)
    return b.build(b.output(s1, index=0), b.output(s2, index=len(s2.type.types) - 1))


def test_merge_scans_lets_the_bigger_scan_answer_for_the_smaller():
    fn = _scan_program(extra_result=True)
    merged = merge_scans(fn)
    assert len(_scans(merged)) == 1 and len(_scans(merged)[0].type.types) == 2
    args = [np.linspace(-1, 1, 4, dtype=np.float32),
            np.linspace(0, 2, 20, dtype=np.float32).reshape(5, 4)]
    for a, w in zip(interpret(merged, args), interpret(fn, args)):
        np.testing.assert_array_equal(a, w)
    assert merge_scans(merged) is merged  # nothing left to merge: the same object


def test_merge_scans_leaves_scans_over_other_operands_alone():
    fn = _scan_program(extra_result=True, other_init=True)
    assert len(_scans(merge_scans(fn))) == 2


def test_prune_scans_drops_unread_ys_and_ignored_operands():
    t = tensor_type(f32, (4,))
    b = Builder("unread")
    h0, xs, ws = b.param(t), b.param(tensor_type(f32, (5, 4))), b.param(tensor_type(f32, (5, 4)))
    rb = Builder("step")
    h, x, w = rb.param(t), rb.param(t), rb.param(t)
    body = rb.build(rb.sin(rb.add(h, x)), rb.cos(w), rb.exp(x))
    s = b.emit(P.scan, h0, xs, ws, body=body, num_consts=0, num_carry=1, length=5,
               reverse=False)
    fn = b.build(b.output(s, index=0), b.output(s, index=2))
    pruned = prune_scans(fn)
    (scan,) = _scans(pruned)
    assert len(scan.type.types) == 2 and len(scan.operands) == 2  # cos(w) and ws gone
    assert _count(scan.attrs["body"], P.cos) == 0
    r = np.random.default_rng(0)
    args = [r.standard_normal(4).astype(np.float32),
            r.standard_normal((5, 4)).astype(np.float32),
            r.standard_normal((5, 4)).astype(np.float32)]
    for a, w in zip(interpret(pruned, args), interpret(fn, args)):
        np.testing.assert_array_equal(a, w)
    assert prune_scans(pruned) is pruned
