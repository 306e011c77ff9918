"""tg.checkpoint: the same gradients, fewer saved values, the recomputation visible in
`.adjoint`, policies that keep matmul results, and higher derivatives through it."""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad.ir import primitives as P
from tapegrad.tracer.transforms_checkpoint import residual_bytes

R = np.random.default_rng(0)
H = R.standard_normal((4, 3))
WS = [R.standard_normal((3, 3)) * 0.5 for _ in range(6)]


def block(h, w1, w2, w3):
    return tg.tanh(tg.tanh(tg.tanh(h @ w1) @ w2) @ w3)


def loss_with(blk):
    def loss(h, ws):
        for i in range(0, len(ws), 3):
            h = blk(h, *ws[i:i + 3])
        return (h * h).sum()
    return loss


def count(fn, prim):
    return sum(i.prim is prim for i in fn.body)


def test_gradients_are_unchanged_and_fewer_values_are_saved():
    plain = tg.value_and_grad(loss_with(block), argnums=(0, 1))
    ckpt = tg.value_and_grad(loss_with(tg.checkpoint(block)), argnums=(0, 1))
    (v0, (gh0, gw0)), (v1, (gh1, gw1)) = plain(H, WS), ckpt(H, WS)
    assert v0.item() == v1.item()
    np.testing.assert_allclose(gh1.numpy(), gh0.numpy(), rtol=1e-13)
    for a, b in zip(gw0, gw1):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-13)
    before, after = residual_bytes(plain.lower(H, WS)), residual_bytes(ckpt.lower(H, WS))
    assert after < before / 2, (before, after)


def test_the_adjoint_shows_the_recomputation():
    lowered = tg.grad(loss_with(tg.checkpoint(block)), argnums=1).lower(H, WS)
    forward_tanh = count(lowered.ir, P.tanh)
    assert count(lowered.adjoint, P.tanh) > forward_tanh  # recomputed ones come in addition
    assert count(lowered.adjoint, P.slice) == 2  # one barrier per recomputed block
    assert count(lowered.optimized, P.tanh) > forward_tanh  # CSE kept them apart


def test_a_policy_keeps_the_matmul_results():
    dots = tg.checkpoint(block, policy=tg.checkpoint_policies.dots_saveable)
    lowered = tg.grad(loss_with(dots), argnums=1).lower(H, WS)
    plain = tg.grad(loss_with(block), argnums=1).lower(H, WS)
    # the products are saved, so none is recomputed; the tanh on top of them is
    assert count(lowered.adjoint, P.matmul) == count(plain.adjoint, P.matmul)
    assert count(lowered.adjoint, P.tanh) > count(plain.adjoint, P.tanh)
    everything = tg.checkpoint(block, policy=tg.checkpoint_policies.everything_saveable)
    same = tg.grad(loss_with(everything), argnums=1).lower(H, WS)
    assert str(same.adjoint) == str(plain.adjoint)


def test_second_derivatives_through_a_checkpoint():
    f = lambda x: (tg.checkpoint(lambda x: tg.sin(x) * x)(x)).sum()  # noqa: E731
    x = R.standard_normal(5)
    d2 = tg.grad(lambda x: tg.grad(f)(x).sum())(x).numpy()
    np.testing.assert_allclose(d2, 2 * np.cos(x) - x * np.sin(x), rtol=1e-12)


def test_outside_a_trace_the_function_just_runs():
    x = tg.tensor(H, requires_grad=True)
    y = tg.checkpoint(lambda x: tg.tanh(x) * 2)(x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - np.tanh(H) ** 2), rtol=1e-13)
