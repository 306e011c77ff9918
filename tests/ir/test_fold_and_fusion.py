"""Constant folding and fusion grouping: each an IR pass with its own tests."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from helpers.pass_programs import ARGS, T, prims, programs, same_results

from tapegrad.ir import Builder, f32, i64, parse, tensor_type, verify
from tapegrad.ir import primitives as P
from tapegrad.ir.passes import dce, fold
from tapegrad.ir.passes.fusion import MAX_COST, annotate, fusion_groups


# ---------------------------------------------------------------- fold

def test_fold_computes_splat_constants_and_picks_select_branches():
    b = Builder("f")
    x = b.param(T(3))
    two = b.full(T(3), 2.0)
    five = b.add(two, b.full(T(3), 3.0))
    cond = b.lt(two, b.full(T(3), 1.0))  # false
    picked = b.select(cond, b.exp(x), b.mul(x, five))
    fn = b.build(picked, b.exp(b.full(T(3), 0.0)))
    out = dce(fold(fn))
    verify(out)
    assert prims(out) == ["full", "mul", "full"]
    assert out.body[0].attrs["value"] == 5.0 and out.body[2].attrs["value"] == 1.0
    same_results(fn, out, [np.array([1.0, -2.0, np.nan])])


def test_fold_leaves_integer_division_and_non_constants_alone():
    b = Builder("g")
    x = b.param(tensor_type(f32, (2,)))
    i = b.div(b.full(tensor_type(i64, (2,)), 7), b.full(tensor_type(i64, (2,)), 0))
    fn = b.build(b.add(x, b.full(tensor_type(f32, (2,)), 1.0)), i)
    assert fold(fn).body == fn.body


@settings(max_examples=150, deadline=None)
@given(programs())
def test_fold_preserves_results_bit_for_bit(fn):
    folded = fold(fn)
    same_results(fn, folded, ARGS)
    same_results(fn, dce(folded), ARGS)
    assert len(dce(folded).body) <= len(dce(fn).body)


# ---------------------------------------------------------------- fusion

def _chain():
    b = Builder("chain")
    x = b.param(T(1000), "x")
    t = b.tanh(x)
    y = b.add(b.mul(t, t), b.mul(t, x))  # t read three times in one loop
    return b, x, t, y


def test_elementwise_chain_and_its_reduction_are_one_loop():
    b, x, t, y = _chain()
    fn = b.build(b.reduce_sum(y, axes=(0,)))
    groups = fusion_groups(fn)
    assert [r.prim for r in groups.roots] == [P.reduce_sum]
    assert all(groups.group[id(v)] is groups.roots[0] for v in fn.body[:-1])


def test_a_value_two_loop_nests_read_gets_a_buffer_when_costly():
    b, x, t, y = _chain()
    fn = b.build(y, b.reduce_sum(t, axes=(0,)))  # t: read by y's loop and the sum's
    groups = fusion_groups(fn)
    assert groups.is_root(t)
    cheap = Builder("cheap")
    p = cheap.param(T(5))
    n = cheap.neg(p)
    fn = cheap.build(cheap.mul(n, p), cheap.reduce_sum(n, axes=(0,)))
    assert not fusion_groups(fn).is_root(fn.body[0])  # recomputing a neg is cheaper


def test_long_chains_are_cut_at_max_cost():
    b = Builder("long")
    v = b.param(T(8))
    for _ in range(MAX_COST // 8 + 2):
        v = b.exp(v)  # cost 8 each
    groups = fusion_groups(b.build(v))
    assert len(groups.roots) >= 2
    for r in groups.roots:
        assert sum(8 for m in groups.members(r)) <= MAX_COST


def test_annotate_tags_every_instruction_and_still_parses():
    b, x, t, y = _chain()
    fn = b.build(b.reduce_sum(y, axes=(0,)))
    text = annotate(fn)
    lines = [line for line in text.splitlines() if " = " in line]
    assert lines[-1].endswith("[loop]") or "[loop]" in lines[-1]
    assert all("[fused into %4]" in line for line in lines[:-1])
    assert str(parse(text)) == str(fn)
