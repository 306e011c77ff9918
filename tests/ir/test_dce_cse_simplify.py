"""dce, cse and simplify: they keep every interpreter result bit for bit, do
what they claim (instruction counts) and keep object identity as specified."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from tapegrad.ir import Builder, f64, i64, verify
from tapegrad.ir.passes import cse, dce, simplify

from helpers.pass_programs import ARGS, T, prims, programs, same_results


# ---------------------------------------------------------------- dce

def test_dce_drops_what_no_result_needs_and_keeps_the_rest_as_is():
    b = Builder()
    x, unused = b.param(T(3)), b.param(T(2))
    s = b.sin(x)
    b.cos(x)                     # dead
    b.exp(b.neg(s))              # dead chain hanging off a live value
    fn = b.build(b.mul(s, x))
    out = dce(fn)
    assert prims(out) == ["sin", "mul"]
    assert out.body[0] is s and out.body[1] is fn.results[0]
    assert out.params == [x, unused] and out.results == fn.results
    same_results(fn, out, [np.arange(3.0), np.zeros(2)])


def test_dce_keeps_a_result_that_is_a_parameter():
    b = Builder()
    x = b.param(T(3))
    b.sin(x)
    out = dce(b.build(x))
    assert out.body == [] and out.results[0] is x


# ---------------------------------------------------------------- cse

def test_cse_merges_duplicates_and_rebuilds_only_their_users():
    b = Builder()
    x, y = b.param(T(3)), b.param(T(3))
    s1, s2 = b.sin(x), b.sin(x)
    untouched = b.cos(y)
    user = b.mul(s1, s2)
    fn = b.build(b.add(user, untouched))
    out = cse(fn)
    assert prims(out) == ["sin", "cos", "mul", "add"]
    assert out.body[0] is s1 and out.body[1] is untouched
    assert out.body[2] is not user and out.body[2].operands == (s1, s1)
    same_results(fn, out, [np.arange(3.0), np.ones(3)])


def test_cse_tells_apart_attributes_types_and_the_sign_of_zero():
    b = Builder()
    x = b.param(T(2, 3))
    fulls = [b.full(T(2, 3), 0.0), b.full(T(2, 3), -0.0), b.full(T(2, 3), 0.0),
             b.full(T(2, 3), np.nan), b.full(T(2, 3), np.nan)]
    sums = [b.reduce_sum(x, axes=(0,)), b.reduce_sum(x, axes=(1,)),
            b.reduce_sum(x, axes=(0,))]
    ints = [b.full(T(2, dtype=i64), 0), b.full(T(3, dtype=i64), 0)]
    fn = b.build(*fulls, *sums, *ints)
    out = cse(fn)
    assert len(out.body) == len(fn.body) - 3  # 0.0 twice, nan twice, axes=(0,) twice
    assert out.results[2] is fulls[0] and out.results[1] is fulls[1]
    assert out.results[4] is fulls[3] and out.results[7] is sums[0]
    same_results(fn, out, [np.arange(6.0).reshape(2, 3)])


def test_cse_with_keep_never_replaces_kept_instructions_but_reuses_them():
    b = Builder()
    x = b.param(T(3))
    k1, k2 = b.exp(x), b.exp(x)
    later = b.exp(x)
    fn = b.build(b.add(b.add(k1, k2), later))
    out = cse(fn, keep=[k1, k2])
    assert out.body[:2] == [k1, k2] and later not in out.body
    assert out.body[2].operands == (k1, k2)  # untouched, so the same object
    assert out.body[2] is fn.body[3]
    assert out.body[3].operands == (out.body[2], k1)


# ---------------------------------------------------------------- simplify

def simplified(build, *shapes):
    b = Builder()
    params = [b.param(T(*s)) for s in shapes]
    fn = b.build(build(b, *params))
    return fn, dce(simplify(fn))


@pytest.mark.parametrize("name,build,expect", [
    ("x*1", lambda b, x: b.mul(x, b.full(x.type, 1.0)), []),
    ("1*x", lambda b, x: b.mul(b.full(x.type, 1.0), x), []),
    ("x/1", lambda b, x: b.div(x, b.full(x.type, 1.0)), []),
    ("x+(-0)", lambda b, x: b.add(x, b.full(x.type, -0.0)), []),
    ("x-0", lambda b, x: b.sub(x, b.full(x.type, 0.0)), []),
    ("neg neg", lambda b, x: b.neg(b.neg(x)), []),
    ("neg full", lambda b, x: b.add(x, b.neg(b.full(x.type, 0.0))), []),
    ("reshape same", lambda b, x: b.reshape(x, shape=(2, 3)), []),
    ("reshape there and back", lambda b, x: b.reshape(b.reshape(x, shape=(6,)), shape=(2, 3)), []),
    ("reshape chain", lambda b, x: b.reshape(b.reshape(b.reshape(x, shape=(6,)), shape=(3, 2)),
                                             shape=(1, 6)), ["reshape"]),
    ("broadcast chain", lambda b, x: b.broadcast(b.broadcast(x, shape=(1, 2, 3)), shape=(4, 2, 3)),
     ["broadcast"]),
    ("broadcast of full", lambda b, x: b.add(b.broadcast(x, shape=(4, 2, 3)), b.broadcast(
        b.full(T(), 2.0), shape=(4, 2, 3))), ["broadcast", "full", "add"]),
    ("transpose back", lambda b, x: b.transpose(b.transpose(x, perm=(1, 0)), perm=(1, 0)), []),
    ("transpose compose", lambda b, x: b.transpose(b.transpose(
        b.reshape(x, shape=(1, 2, 3)), perm=(1, 2, 0)), perm=(1, 2, 0)), ["reshape", "transpose"]),
    ("convert same", lambda b, x: b.convert(x, dtype=f64), []),
    ("x**1", lambda b, x: b.pow(x, b.full(x.type, 1.0)), []),
    ("x**0", lambda b, x: b.pow(x, b.full(x.type, 0.0)), ["full"]),
    ("x**-0", lambda b, x: b.pow(x, b.full(x.type, -0.0)), ["full"]),
])
def test_simplify_rewrites(name, build, expect):
    fn, out = simplified(build, (2, 3))
    assert prims(out) == expect, str(out)
    a = np.array([[-0.0, 1.0, np.nan], [np.inf, -2.5, 0.0]])
    same_results(fn, out, [a])


@pytest.mark.parametrize("name,build", [
    ("x*0 is not 0 at NaN or inf", lambda b, x: b.mul(x, b.full(x.type, 0.0))),
    ("x+0.0 is not x at -0.0", lambda b, x: b.add(x, b.full(x.type, 0.0))),
    ("x-(-0.0) is not x at -0.0", lambda b, x: b.sub(x, b.full(x.type, -0.0))),
    ("stop_gradient stays for autodiff", lambda b, x: b.stop_gradient(x)),
])
def test_simplify_leaves_what_would_change_a_value(name, build):
    fn, out = simplified(build, (2, 3))
    assert prims(out) == prims(fn)
    a = np.array([[-0.0, 1.0, np.nan], [np.inf, -2.5, 0.0]])
    same_results(fn, out, [a])


def test_simplify_integer_powers_of_one_and_zero():
    b = Builder()
    n = b.param(T(5, dtype=i64))
    fn = b.build(b.pow(n, b.full(n.type, 1)), b.pow(n, b.full(n.type, 0)))
    out = dce(simplify(fn))
    assert prims(out) == ["full"]
    same_results(fn, out, [np.array([0, -1, 3, np.iinfo(np.int64).min, 7])])


def test_simplify_folds_integer_times_zero():
    b = Builder()
    n = b.param(T(3, dtype=i64))
    fn = b.build(b.mul(n, b.full(n.type, 0)))
    out = dce(simplify(fn))
    assert prims(out) == ["full"]
    same_results(fn, out, [np.array([1, -2, 3])])


def test_simplify_keeps_untouched_instructions_and_honours_keep():
    b = Builder()
    x = b.param(T(3))
    one = b.full(x.type, 1.0)
    kept = b.mul(x, one)
    s = b.sin(x)
    fn = b.build(b.add(kept, s), b.mul(s, one))
    out = dce(simplify(fn, keep=[one, kept]))
    assert kept in out.body and out.body[out.body.index(kept) + 1] is s
    assert out.results[1] is s


# ---------------------------------------------------------------- random programs

@settings(max_examples=150, deadline=None)
@given(programs())
def test_passes_preserve_results_bit_for_bit(fn):
    verify(fn)
    for transformed in (dce(fn), cse(fn), simplify(fn), dce(cse(simplify(fn)))):
        same_results(fn, transformed, ARGS)
    assert len(dce(cse(fn)).body) <= len(dce(fn).body)
    assert len(dce(simplify(fn)).body) <= len(dce(fn).body)
