"""The batching pass: every primitive's batching rule against a Python loop over the
batch (the interpreter on each example), with batch axes first, last and absent."""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.ir import Builder, f64, tensor_type, verify
from tapegrad.ir import primitives as P
from tapegrad.ir.batching import vmap
from tapegrad.ir.batching_rules import BATCHING_RULES, missing_batching_rules
from tapegrad.runtime import interpret

from helpers.case_tables import primitive_cases
from helpers.ir_build import assert_same, roundtrip, single_op

_rules = primitive_cases()
CASES = _rules.ALL_CASES
BATCH = 3


def example(x: np.ndarray, k: int) -> np.ndarray:
    """Example k of a batched operand: the values rolled by k (keeps indices valid)."""
    return np.roll(x.ravel(), k).reshape(x.shape) if x.size else x


def patterns(n: int):
    """in_dims per operand: all first; alternately absent and last (one at least batched)."""
    yield [0] * n
    if n:
        mixed = [None if k % 2 else -1 for k in range(n)]
        yield mixed


def check(fn, operands, in_dims, out_dim=0, rtol=None):
    batched_fn = vmap(fn, in_dims, [out_dim], BATCH)
    roundtrip(batched_fn)
    per_example = [[example(x, k) if d is not None else x for x, d in zip(operands, in_dims)]
                   for k in range(BATCH)]
    args = [np.stack([ex[i] for ex in per_example], axis=d) if d is not None else x
            for i, (x, d) in enumerate(zip(operands, in_dims))]
    (got,) = interpret(batched_fn, args)
    want = np.stack([interpret(fn, ex)[0] for ex in per_example], axis=out_dim)
    assert_same(got, want, rtol)


def test_every_primitive_has_a_batching_rule():
    assert missing_batching_rules() == []
    assert set(BATCHING_RULES) == set(P.PRIMITIVES.values())


@pytest.mark.parametrize("case", CASES, ids=_rules.case_id)
def test_rule_against_a_loop_over_the_batch(case):
    fn = single_op(case.prim, case.operands, case.attrs, case.type) if case.program is None \
        else _rules.program(case)  # a region primitive: the program around it
    for in_dims in patterns(len(case.operands)):
        check(fn, case.operands, in_dims, rtol=case.rtol)


@pytest.mark.parametrize("a,b,dims", [
    ((3, 4), (4, 2), (0, None)), ((3, 4), (4, 2), (None, 0)), ((3, 4), (4, 2), (1, 2)),
    ((2, 3, 4), (2, 4, 5), (0, None)), ((2, 3, 4), (2, 4, 5), (None, 3)),
    ((2, 3, 4), (2, 4, 5), (2, 1))])
def test_matmul_against_an_unbatched_operand_folds_the_batch(a, b, dims):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(a), rng.standard_normal(b)
    fn = single_op("matmul", [x, y], {})
    check(fn, [x, y], list(dims), rtol=1e-12)
    batched = vmap(fn, list(dims), [0], BATCH)
    assert sum(i.prim is P.matmul for i in batched.body) == 1


def test_unbatched_work_runs_once_and_out_dims_move_the_axis():
    b = Builder("f")
    x = b.param(tensor_type(f64, (4,)), "x")
    w = b.param(tensor_type(f64, (4, 4)), "w")
    ew = b.exp(w)  # depends on w only: computed once, not per example
    y = b.matmul(b.reshape(x, shape=(1, 4)), ew)
    fn = b.build(b.tanh(y), ew)
    batched = vmap(fn, [0, None], [-1, 0], 5)
    verify(batched)
    assert [i for i in batched.body if i.prim is P.exp][0].shape == (4, 4)
    rng = np.random.default_rng(1)
    xs, ws = rng.standard_normal((5, 4)), rng.standard_normal((4, 4))
    got, shared = interpret(batched, [xs, ws])
    assert got.shape == (1, 4, 5) and shared.shape == (5, 4, 4)
    for k in range(5):
        want = interpret(fn, [xs[k], ws])
        np.testing.assert_allclose(got[..., k], want[0], rtol=1e-13)
        np.testing.assert_array_equal(shared[k], want[1])


def test_vmap_of_vmap():
    b = Builder("f")
    x = b.param(tensor_type(f64, (3,)), "x")
    y = b.param(tensor_type(f64, (3,)), "y")
    fn = b.build(b.reduce_sum(b.mul(x, y), axes=(0,)))
    inner = vmap(fn, [0, None], [0], 4)   # (4,3),(3) -> (4)
    outer = vmap(inner, [None, 0], [0], 2)  # (4,3),(2,3) -> (2,4)
    rng = np.random.default_rng(2)
    xs, ys = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    (got,) = interpret(outer, [xs, ys])
    np.testing.assert_allclose(got, ys @ xs.T, rtol=1e-13)


def test_errors_name_what_is_wrong():
    b = Builder("f")
    x = b.param(tensor_type(f64, (3,)), "x")
    fn = b.build(b.neg(x))
    with pytest.raises(ValueError, match="out_dims entry is None"):
        vmap(fn, [0], [None], 2)
    with pytest.raises(ValueError, match="in_dim 3 is out of range"):
        vmap(fn, [3], [0], 2)
    with pytest.raises(ValueError, match="1 in_dims for 1 parameters, 2 out_dims"):
        vmap(fn, [0], [0, 0], 2)
