"""Forward mode: every primitive's JVP rule against its VJP rule (<u, J v> = <J^T u, v>)
and against finite differences, in float64; the pass's contract; linearize's split."""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.ir import Builder, f32, f64, i64, tensor_type, verify
from tapegrad.ir import primitives as P
from tapegrad.ir.autodiff import vjp
from tapegrad.ir.forward_mode import jvp, linearize
from tapegrad.ir.jvp_rules import JVP_RULES, missing_jvp_rules
from tapegrad.runtime import interpret

from helpers.ir_build import roundtrip
from helpers.case_tables import autodiff_cases

_cases = autodiff_cases()
ALL_CASES, UNARY_CASES, Case = _cases.ALL_CASES, _cases.UNARY_CASES, _cases.Case
check_dot_product, directional_fd, ids = (_cases.check_dot_product, _cases.directional_fd,
                                          _cases.ids)


def jvp_values(fn, args, direction):
    program = jvp(fn, fn.params)
    roundtrip(program)
    outs = interpret(program, list(args) + list(direction))
    n = len(fn.results)
    return program, outs[:n], outs[n:]


def test_every_primitive_has_a_jvp_rule():
    assert missing_jvp_rules() == []
    assert set(JVP_RULES) == set(P.PRIMITIVES.values())


@pytest.mark.parametrize("c", ALL_CASES, ids=ids(ALL_CASES))
def test_jvp_is_the_transpose_of_vjp_and_matches_finite_differences(c: Case):
    rng = np.random.default_rng(3)
    fn, args = c.function(), c.args(rng)
    adjoint = vjp(fn, fn.params)
    for _ in range(2):
        v = [rng.standard_normal(a.shape) for a in args]
        u = [rng.standard_normal(r.shape) for r in fn.results]
        _, primal, tangent = jvp_values(fn, args, v)
        for got, want in zip(primal, interpret(fn, args)):
            np.testing.assert_array_equal(got, want)
        transposed = interpret(adjoint, list(args) + u)
        forward = sum(float(np.sum(a * t)) for a, t in zip(u, tangent))
        reverse = sum(float(np.sum(g * d)) for g, d in zip(transposed, v))
        scale = 1 + sum(float(np.sum(np.abs(g * d))) for g, d in zip(transposed, v))
        assert abs(forward - reverse) <= 1e-12 * scale, (forward, reverse)
        numeric = directional_fd(fn, args, v, u)
        assert abs(numeric - forward) <= 1e-6 * scale, (numeric, forward)


@pytest.mark.parametrize("c", UNARY_CASES[:14], ids=ids(UNARY_CASES[:14]))
def test_a_jvp_program_differentiates_again(c: Case):
    """Reverse over forward: the VJP of the JVP program passes the dot-product test."""
    rng = np.random.default_rng(5)
    fn, args = c.function(), c.args(rng)
    program = jvp(fn, fn.params)
    check_dot_product(program, args + [rng.standard_normal(a.shape) for a in args], rng)


def test_forward_over_forward_gives_the_second_derivative():
    b = Builder("f")
    x = b.param(tensor_type(f64, (4,)), "x")
    fn = b.build(b.mul(b.sin(x), x))
    once = jvp(fn, fn.params)
    twice = jvp(once, once.params[:1])  # d/dx of (f, f' v) along w
    xs = np.linspace(-1, 1, 4)
    v, w = np.ones(4), np.ones(4)
    outs = interpret(twice, [xs, v, w])
    second = 2 * np.cos(xs) - xs * np.sin(xs)
    np.testing.assert_allclose(outs[3], second, rtol=1e-12)


def test_only_float_values_carry_tangents_and_missing_ones_are_zeros():
    b = Builder("f")
    x = b.param(tensor_type(f64, (3,)), "x")
    k = b.param(tensor_type(i64, (3,)), "k")
    y = b.param(tensor_type(f64, (3,)), "y")
    as_float = b.convert(k, dtype=f64)
    fn = b.build(b.mul(x, as_float), b.argmax(x, axis=0), b.exp(y))
    program = jvp(fn, [x, k])
    verify(program)
    outs = interpret(program, [np.ones(3), np.arange(3), np.zeros(3), np.full(3, 2.0),
                               np.zeros(3, np.int64)])
    np.testing.assert_array_equal(outs[3], [0, 2, 4])
    assert outs[4].dtype == np.int64 and not outs[4].any()
    np.testing.assert_array_equal(outs[5], np.zeros(3))


def test_the_forward_instructions_are_kept_as_they_are():
    b = Builder("f")
    x = b.param(tensor_type(f32, (3,)), "x")
    y = b.tanh(x)
    fn = b.build(b.reduce_sum(y, axes=(0,)))
    program = jvp(fn, [x])
    assert program.body[0] is y and program.results[0] is fn.results[0]


def test_a_primitive_without_a_rule_is_named(monkeypatch):
    rogue = P.Primitive("rogue", P.OpGroup.UNARY)
    monkeypatch.setitem(P.SHAPE_RULES, rogue, lambda x: x)
    b = Builder()
    x = b.param(tensor_type(f64, (2,)))
    with pytest.raises(NotImplementedError, match="rogue"):
        jvp(b.build(b.emit(rogue, x)), [x])


def test_linearize_splits_known_and_linear_parts():
    b = Builder("f")
    x = b.param(tensor_type(f64, (3,)), "x")
    w = b.param(tensor_type(f64, (3, 3)), "w")
    h = b.tanh(b.matmul(b.reshape(x, shape=(1, 3)), w))
    fn = b.build(b.reduce_sum(b.exp(h), axes=(0, 1)))
    program = jvp(fn, [x, w])
    known, linear = linearize(program, 2, 1)
    verify(known)
    verify(linear)
    rng = np.random.default_rng(0)
    xs, ws = rng.standard_normal(3), rng.standard_normal((3, 3))
    tx, tw = rng.standard_normal(3), rng.standard_normal((3, 3))
    want = interpret(program, [xs, ws, tx, tw])
    outs = interpret(known, [xs, ws])
    np.testing.assert_array_equal(outs[0], want[0])
    residuals = outs[1:]
    assert len(residuals) == len(linear.params) - 2
    got = interpret(linear, residuals + [tx, tw])
    np.testing.assert_allclose(got[0], want[1], rtol=1e-13)
    # the linear part recomputes no transcendental function: those are residuals
    assert not any(i.prim in (P.tanh, P.exp) for i in linear.body)
