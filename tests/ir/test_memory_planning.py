"""The memory planning pass (ir/passes/memory.py): lifetimes and scratch placement."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from helpers.pass_programs import T, programs

from tapegrad.ir import Builder
from tapegrad.ir.passes.fusion import fusion_groups
from tapegrad.ir.passes.memory import ALIGN, first_fit, lifetimes, plan_memory, reads


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _check_no_live_overlap(fn, fusion, mp) -> None:
    """Buffers alive in one loop nest at the same time never share a byte."""
    ids = list(mp.offsets)
    size = {id(r): -(-r.type.size * r.dtype.itemsize // ALIGN) * ALIGN for r in fusion.roots}
    for i, a in enumerate(ids):
        assert mp.offsets[a] % ALIGN == 0
        assert mp.offsets[a] + size[a] <= mp.total
        for b in ids[i + 1:]:
            la, lb = mp.lifetimes[a], mp.lifetimes[b]
            if la[0] <= lb[1] and lb[0] <= la[1] and size[a] and size[b]:
                assert not _overlap((mp.offsets[a], mp.offsets[a] + size[a]),
                                    (mp.offsets[b], mp.offsets[b] + size[b]))


def _matmul_chain():
    """x @ w0 @ w1 @ w2 @ w3: each product is read only by the next one."""
    b = Builder("chain")
    x = b.param(T(64, 64), "x")
    ws = [b.param(T(64, 64), f"w{k}") for k in range(4)]
    h = x
    for w in ws:
        h = b.matmul(h, w)
    return b.build(h)


def test_dead_buffers_are_reused_and_live_ones_are_not():
    fn = _matmul_chain()
    fusion = fusion_groups(fn)
    mp = plan_memory(fn, fusion)
    products = fusion.roots[:3]  # the fourth is the result
    assert [mp.lifetimes[id(p)] for p in products] == [(0, 1), (1, 2), (2, 3)]
    nbytes = 64 * 64 * fn.results[0].dtype.itemsize
    # Two 16 KB buffers alternate: the first product's bytes hold the third.
    assert mp.offsets[id(products[0])] == mp.offsets[id(products[2])] == 0
    assert mp.offsets[id(products[1])] == nbytes
    assert mp.total == 2 * nbytes
    assert id(fn.results[0]) not in mp.offsets  # results live in the caller's arrays
    _check_no_live_overlap(fn, fusion, mp)


def test_a_value_read_late_stays_alive_across_the_nests_between():
    b = Builder("late")
    x = b.param(T(32, 32), "x")
    h = b.matmul(x, x)            # read again by the last nest
    g = b.matmul(b.tanh(h), x)
    k = b.matmul(g, x)
    out = b.add(b.matmul(k, x), h)
    fn = b.build(out)
    fusion = fusion_groups(fn)
    mp = plan_memory(fn, fusion)
    assert [r.prim.name for r in fusion.roots] == ["matmul", "tanh", "matmul", "matmul",
                                                   "matmul", "add"]
    assert [mp.lifetimes[id(r)] for r in fusion.roots[:5]] == [
        (0, 5), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert [v for v in reads(fusion.roots[1], fusion)] == [h]
    _check_no_live_overlap(fn, fusion, mp)
    # h is alive throughout; the others take turns in two more buffers.
    assert mp.total == 3 * 32 * 32 * x.dtype.itemsize


def test_reads_look_through_fused_instructions_and_views():
    b = Builder("views")
    x = b.param(T(8, 4), "x")
    h = b.matmul(x, b.transpose(x, perm=(1, 0)))  # 8x8
    y = b.reduce_sum(b.exp(b.transpose(h, perm=(1, 0))), axes=(0,))
    fn = b.build(y)
    fusion = fusion_groups(fn)
    red = fusion.roots[-1]
    assert {id(v) for v in reads(red, fusion)} == {id(h)}  # through exp and a transpose
    at = [r for r in fusion.roots].index(h)
    assert lifetimes(fusion)[id(h)] == (at, len(fusion.roots) - 1)


def test_first_fit_alignment_and_gaps():
    offsets, total = first_fit([(0, 0, 10), (0, 1, 100), (1, 2, 64), (2, 2, 1)], align=64)
    # 10 B -> 64; 100 B -> 128 beside it; the next two reuse what has died.
    assert offsets == [0, 64, 0, 64]
    assert total == 192


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(0, 300)),
                max_size=12))
def test_first_fit_never_overlaps_live_buffers(spec):
    spec = sorted((f, f + d, n) for f, d, n in spec)
    offsets, total = first_fit(spec, align=16)
    for i, (f1, l1, n1) in enumerate(spec):
        s1 = -(-n1 // 16) * 16
        assert offsets[i] % 16 == 0 and offsets[i] + s1 <= total
        for j in range(i + 1, len(spec)):
            f2, l2, n2 = spec[j]
            s2 = -(-n2 // 16) * 16
            if f1 <= l2 and f2 <= l1 and s1 and s2:
                assert not _overlap((offsets[i], offsets[i] + s1), (offsets[j], offsets[j] + s2))


@settings(max_examples=100, deadline=None)
@given(programs())
def test_random_programs_get_a_valid_plan(fn):
    fusion = fusion_groups(fn)
    mp = plan_memory(fn, fusion)
    _check_no_live_overlap(fn, fusion, mp)
    results = {id(r) for r in fn.results}
    assert set(mp.offsets) == {id(r) for r in fusion.roots if id(r) not in results}


def test_native_code_uses_the_plan_and_agrees_with_the_interpreter():
    from tapegrad.runtime.interpreter import interpret
    from tapegrad.runtime.compiler import compile_function
    fn = _matmul_chain()
    rng = np.random.default_rng(0)
    dt = fn.results[0].dtype
    args = [(rng.standard_normal((64, 64)) / 8).astype(dt.np) for _ in range(5)]
    cf = compile_function(fn)
    assert cf._native.entry.scratch_bytes == 2 * 64 * 64 * dt.itemsize
    np.testing.assert_allclose(cf(*args)[0], interpret(fn, args)[0], rtol=1e-10, atol=1e-12)
