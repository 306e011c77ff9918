"""Temporaries placed in result arrays before their nest writes them
(ir/passes/memory.py `hosts`, codegen/plan.py `lend_results`): never while the
host is written, never overlapping a live buffer, and the numbers unchanged."""
from __future__ import annotations

import numpy as np
from helpers.pass_programs import T

import tapegrad as tg
from tapegrad.codegen import blas
from tapegrad.codegen.passes import compiled_ir
from tapegrad.codegen.plan import plan
from tapegrad.ir import Builder
from tapegrad.ir.passes.fusion import fusion_groups
from tapegrad.ir.passes.memory import ALIGN, plan_memory


def _two_results():
    """r1 = x @ w (early), a chain of products, r2 = last @ w (late): the chain's
    products may live in r2's array, never in r1's (written before they live)."""
    b = Builder("two")
    x = b.param(T(64, 64), "x")
    w = b.param(T(64, 64), "w")
    r1 = b.matmul(x, w)
    h = r1
    for _ in range(3):
        h = b.matmul(h, w)
    r2 = b.matmul(h, w)
    return b.build(r1, r2)


def test_buffers_live_in_a_result_only_before_its_nest():
    fn = _two_results()
    fusion = fusion_groups(fn)
    r1, r2 = fn.results
    mp = plan_memory(fn, fusion, hosts=[r1, r2])
    index = {id(r): i for i, r in enumerate(fusion.roots)}
    nbytes = r1.type.size * r1.dtype.itemsize
    assert len(mp.homes) == 1  # the first product; the others live while r2 is written
    assert mp.total <= plan_memory(fn, fusion).total
    spans = []
    for key, (host, offset) in mp.homes.items():
        first, last = mp.lifetimes[key]
        assert host == id(r2) and last < index[host]  # r1 is written before any of them
        assert offset % ALIGN == 0 and offset + nbytes <= nbytes  # inside the host
        spans.append((first, last, offset))
    for i, a in enumerate(spans):  # two homes in one host never live at once
        for b in spans[i + 1:]:
            assert not (a[0] <= b[1] and b[0] <= a[1] and a[2] == b[2])
    assert plan_memory(fn, fusion).total > 0 and not plan_memory(fn, fusion).homes


def _mlp_grad(layers=6, width=128, batch=64):
    rng = np.random.default_rng(4)
    ws = [(rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
          for _ in range(layers)]
    x = rng.standard_normal((batch, width)).astype(np.float32)

    def loss(ws, x):
        h = x
        for w in ws:
            h = tg.tanh(h @ w)
        return (h * h).sum()
    return tg.grad(loss), ws, x


def _numpy_grads(ws, x):
    hs = [x]
    for w in ws:
        hs.append(np.tanh(hs[-1] @ w))
    g = 2 * hs[-1]
    out = []
    for w, h_in, h_out in zip(reversed(ws), reversed(hs[:-1]), reversed(hs[1:])):
        g = g * (1 - h_out * h_out)
        out.append(h_in.T @ g)
        g = g @ w.T
    return out[::-1]


def test_a_deep_gradient_keeps_its_residuals_in_the_weight_gradients():
    grad, ws, x = _mlp_grad()
    lowered = grad.lower(ws, x)
    fn = compiled_ir(lowered.program)
    lent = plan(fn, frozenset(blas.available()), lend_results=True)
    alone = plan(fn, frozenset(blas.available()))
    residuals = len(ws) * x.nbytes  # one tanh output per layer
    assert alone.scratch_bytes >= residuals and lent.scratch_bytes <= residuals // 2
    assert lent.scratch_homes
    assert lowered.native()._native.entry.scratch_bytes < alone.scratch_bytes  # what runs
    for g, e in zip(grad(ws, x), _numpy_grads(ws, x)):
        np.testing.assert_allclose(g.numpy(), e, rtol=2e-4, atol=2e-5 * np.abs(e).max())
    for g, e in zip(grad(ws, x), _numpy_grads(ws, x)):  # again: the same arrays reused
        np.testing.assert_allclose(g.numpy(), e, rtol=2e-4, atol=2e-5 * np.abs(e).max())


def test_a_donated_update_never_lends_the_parameters_array():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((256, 256)).astype(np.float32)
    x = rng.standard_normal((64, 256)).astype(np.float32)

    @tg.compile(donate_argnums=(0,))
    def step(w, x):
        h = tg.tanh(x @ w)
        h = tg.tanh(h @ w.T)
        return w - 0.1 * (x.T @ h)
    want = w - 0.1 * (x.T @ np.tanh(np.tanh(x @ w) @ w.T))
    got = step(w.copy(), x)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)
