"""The differentiation pass: every rule against finite differences, to third order,
and the contract of `vjp` (cotangent modes, identity, zeros, errors, scale)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from tapegrad.ir import Builder, Param, SourceLoc, f32, f64, i64, parse, tensor_type, verify
from tapegrad.ir import primitives as P
from tapegrad.ir.autodiff import vjp
from tapegrad.ir.core import Function
from tapegrad.ir.vjp_rules import NON_DIFFERENTIABLE, VJP_RULES, missing_vjp_rules
from tapegrad.runtime import interpret

from helpers.region_programs import cond_sin_or_square, scan_tanh_rnn

EPS = 1e-6


def T(*shape, dtype=f64):
    return tensor_type(dtype, shape)


# ---------------------------------------------------------------- the table

def sample_any(rng, shape):
    return rng.uniform(-2, 2, shape)


def sample_positive(rng, shape):
    return rng.uniform(0.5, 2, shape)


def sample_away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2, shape)


@dataclass
class Case:
    """One forward program around the primitive `prim`, with inputs it is smooth at."""

    name: str
    prim: P.Primitive
    shapes: list[tuple]
    build: Callable  # (builder, *params) -> result
    samplers: tuple = ()

    def function(self) -> Function:
        b = Builder(self.name.replace("-", "_"))
        params = [b.param(T(*s), f"x{i}") for i, s in enumerate(self.shapes)]
        return b.build(self.build(b, *params))

    def args(self, rng) -> list[np.ndarray]:
        samplers = self.samplers or (sample_any,) * len(self.shapes)
        return [np.asarray(draw(rng, s), np.float64) for draw, s in zip(samplers, self.shapes)]


def unary(prim, sampler=sample_any, shape=(2, 1, 3)):
    return Case(f"{prim.name}-{len(shape)}d", prim, [shape],
                lambda b, x: b.emit(prim, x), (sampler,))


def binary(prim, shapes, y_sampler=sample_any, x_sampler=sample_any):
    """`prim` after numpy-style broadcasting of both operands to a common shape."""
    out = np.broadcast_shapes(*shapes)

    def build(b, x, y):
        x = x if x.shape == out else b.broadcast(x, shape=out)
        y = y if y.shape == out else b.broadcast(y, shape=out)
        return b.emit(prim, x, y)
    return Case(f"{prim.name}-{shapes}", prim, list(shapes), build, (x_sampler, y_sampler))


def case(name, prim, shapes, build, samplers=()):
    return Case(name, prim, list(shapes), build, samplers)


UNARY_CASES = [
    unary(P.neg), unary(P.neg, shape=()), unary(P.abs, sample_away_from_zero),
    unary(P.exp), unary(P.exp, shape=()), unary(P.log, sample_positive),
    unary(P.log1p, sample_positive), unary(P.sin), unary(P.sin, shape=(1,)), unary(P.cos),
    unary(P.tanh), unary(P.sqrt, sample_positive), unary(P.logistic),
    unary(P.logistic, shape=()),
    case("convert-f64", P.convert, [(3,)], lambda b, x: b.convert(x, dtype=f64)),
    case("broadcast-scalar", P.broadcast, [()], lambda b, x: b.broadcast(x, shape=(2, 2))),
    case("broadcast-inner", P.broadcast, [(3, 1)], lambda b, x: b.broadcast(x, shape=(2, 3, 4))),
    case("broadcast-keep-1", P.broadcast, [(1, 3)], lambda b, x: b.broadcast(x, shape=(2, 1, 3))),
    case("reshape", P.reshape, [(2, 3)], lambda b, x: b.reshape(x, shape=(3, 1, 2))),
    case("reshape-0d", P.reshape, [(1, 1)], lambda b, x: b.reshape(x, shape=())),
    case("transpose", P.transpose, [(2, 3, 4)], lambda b, x: b.transpose(x, perm=(2, 0, 1))),
    case("slice-strided", P.slice, [(5, 6)],
         lambda b, x: b.slice(x, start=(1, 0), stop=(5, 6), step=(2, 4))),
    case("slice-empty", P.slice, [(4, 2)],
         lambda b, x: b.slice(x, start=(2, 0), stop=(2, 2), step=(1, 1))),
    case("pad", P.pad, [(2, 3)], lambda b, x: b.pad(x, low=(1, 0), high=(0, 2), interior=(1, 2))),
    case("pad-empty-dim", P.pad, [(0, 2)],
         lambda b, x: b.pad(x, low=(1, 1), high=(0, 0), interior=(2, 0))),
    case("reduce_sum-axes", P.reduce_sum, [(2, 3, 4)],
         lambda b, x: b.reduce_sum(x, axes=(0, 2))),
    case("reduce_sum-all", P.reduce_sum, [(3,)], lambda b, x: b.reduce_sum(x, axes=(0,))),
    case("reduce_sum-none", P.reduce_sum, [()], lambda b, x: b.reduce_sum(x, axes=())),
    case("reduce_max-axis", P.reduce_max, [(2, 3, 4)], lambda b, x: b.reduce_max(x, axes=(1,))),
    case("reduce_max-all", P.reduce_max, [(5,)], lambda b, x: b.reduce_max(x, axes=(0,))),
]

MULTI_CASES = [
    binary(P.add, [(2, 1, 3), (3,)]), binary(P.add, [(), ()]),
    binary(P.sub, [(2, 3), (2, 3)]), binary(P.sub, [(1,), (2, 1)]),
    binary(P.mul, [(2, 1, 3), (4, 1)]), binary(P.mul, [(), (3,)]),
    binary(P.div, [(2, 3), (3,)], sample_away_from_zero), binary(P.div, [(), ()], sample_away_from_zero),
    binary(P.pow, [(2, 3), (2, 3)], x_sampler=sample_positive),
    binary(P.pow, [(3,), ()], x_sampler=sample_positive),
    binary(P.max, [(2, 3), (2, 3)]), binary(P.max, [(2, 1), (3,)]),
    binary(P.min, [(2, 3), (2, 3)]), binary(P.min, [(), (4,)]),
    case("select", P.select, [(2, 3), (2, 3), (2, 3)],
         lambda b, x, y, z: b.select(b.gt(z, b.full(z.type, 0)), x, y)),
    case("concatenate", P.concatenate, [(2, 1), (2, 3), (2, 0)],
         lambda b, x, y, z: b.concatenate(x, y, z, axis=1)),
    case("matmul", P.matmul, [(3, 4), (4, 2)], lambda b, x, y: b.matmul(x, y)),
    case("matmul-batched", P.matmul, [(2, 3, 4), (2, 4, 1)], lambda b, x, y: b.matmul(x, y)),
    case("matmul_add", P.matmul_add, [(3, 2), (3, 4), (4, 2)],
         lambda b, c, x, y: b.matmul_add(c, x, y, alpha=-0.75)),
    case("matmul_add-batched", P.matmul_add, [(2, 3, 1), (2, 3, 4), (2, 4, 1)],
         lambda b, c, x, y: b.matmul_add(c, x, y, alpha=2.0)),
    # relu as the tracer builds it: max against a broadcast scalar full
    case("relu", P.max, [(2, 3)],
         lambda b, x: b.max(x, b.broadcast(b.full(T(), 0.0), shape=(2, 3)))),
    case("clamp-min", P.min, [(4,)], lambda b, x: b.min(b.full(x.type, 0.5), x)),
]

# the maths surface (issue 15)
def sample_inside_unit(rng, shape):
    return rng.uniform(-0.8, 0.8, shape)


MATH_SURFACE_CASES = [
    unary(P.expm1), unary(P.erf), unary(P.erfc, shape=()), unary(P.atan),
    unary(P.asin, sample_inside_unit), unary(P.acos, sample_inside_unit),
    binary(P.atan2, [(2, 3), (3,)], x_sampler=sample_away_from_zero),
    binary(P.hypot, [(2, 3), (2, 3)], sample_away_from_zero, sample_away_from_zero),
    binary(P.fmod, [(2, 3), ()], sample_positive),
    case("cumsum", P.cumsum, [(3, 4)], lambda b, x: b.cumsum(x, axis=1, reverse=False)),
    case("cumsum-reverse", P.cumsum, [(3, 4)], lambda b, x: b.cumsum(x, axis=0, reverse=True)),
]



def _idx(b, values):
    a = np.asarray(values, np.int64)
    return b.emit("constant", type=T(*a.shape, dtype=i64), value=a)


# data-dependent indices (constants here): duplicates and negative ones, except for the
# overwriting scatter, whose duplicates make it a step function of its source
INDEX_CASES = [
    case("gather-axis0", P.gather, [(4, 3)],
         lambda b, x: b.gather(x, _idx(b, [[0, 1, 2], [3, -1, -4], [1, 1, 1], [2, 0, 2], [0, 0, 3]]),
                               axes=(0,))),
    case("gather-corner-axis1", P.gather, [(4, 3)],
         lambda b, x: b.gather(x, _idx(b, [[2, -3], [1, 1]]), axes=(1,))),
    case("gather-two-axes", P.gather, [(3, 4, 2)],
         lambda b, x: b.gather(x, _idx(b, np.array([0, 2, -1, 0, 1]).reshape(5, 1, 1) + [[[0, 0]]]),
                               _idx(b, np.array([3, 0, 1, 3, -2]).reshape(5, 1, 1) + [[[0, 0]]]),
                               axes=(0, 1))),
    case("scatter_add", P.scatter_add, [(4, 3), (5, 3)],
         lambda b, x, s: b.scatter_add(x, s, _idx(b, [[0, 1, 2], [3, -1, -4], [1, 1, 1], [2, 0, 2],
                                                     [0, 0, 3]]), axes=(0,))),
    case("scatter_add-two-axes", P.scatter_add, [(3, 2), (2, 1)],
         lambda b, x, s: b.scatter_add(x, s, _idx(b, [[2], [2]]), _idx(b, [[1], [-1]]), axes=(0, 1))),
    case("scatter", P.scatter, [(4, 3), (3, 3)],
         lambda b, x, s: b.scatter(x, s, _idx(b, [[3, 0, 1], [-4, 2, 3], [1, 3, 0]]), axes=(0,))),
]

#: the region primitives (issue 18): cond, scan, and the output projection they share
REGION_CASES = [
    Case("scan-rnn", P.scan, [(3, 3), (2, 3), (4, 2, 3)],
         lambda b, w, h, xs: b.add(b.reduce_sum(scan_tanh_rnn(b, w, h, xs)[0], axes=(0, 1)),
                                   b.reduce_sum(scan_tanh_rnn(b, w, h, xs)[1], axes=(0,)))),
    Case("scan-reverse", P.scan, [(2, 2), (1, 2), (3, 1, 2)],
         lambda b, w, h, xs: scan_tanh_rnn(b, w, h, xs, reverse=True)[1]),
    Case("cond-output", P.output, [(3,), (3,)], cond_sin_or_square),
    Case("cond", P.cond, [(2, 2), (2, 2)], cond_sin_or_square),
]
# softmax and its kin (one kernel each, PyTorch's arithmetic): along the last axis and
# an inner one; the backward kernels with a softmax output as their second operand
SOFTMAX_CASES = [
    case("softmax", P.softmax, [(3, 4)], lambda b, x: b.softmax(x, axis=1)),
    case("softmax-inner", P.softmax, [(3, 2, 2)], lambda b, x: b.softmax(x, axis=0)),
    case("log_softmax", P.log_softmax, [(2, 5)], lambda b, x: b.log_softmax(x, axis=1)),
    case("log_softmax-inner", P.log_softmax, [(4, 3)], lambda b, x: b.log_softmax(x, axis=0)),
    case("softmax_backward_data", P.softmax_backward_data, [(3, 4), (3, 4)],
         lambda b, g, x: b.softmax_backward_data(g, b.softmax(x, axis=1), axis=1)),
    case("log_softmax_backward_data", P.log_softmax_backward_data, [(2, 3), (2, 3)],
         lambda b, g, x: b.log_softmax_backward_data(g, b.log_softmax(x, axis=0), axis=0)),
]

ALL_CASES = UNARY_CASES + MULTI_CASES + MATH_SURFACE_CASES + INDEX_CASES + REGION_CASES + SOFTMAX_CASES


def ids(cases):
    return [c.name for c in cases]


# ---------------------------------------------------------------- checking

def round_trips(fn: Function) -> None:
    verify(fn)
    text = str(fn)
    assert str(parse(text)) == text


def directional_fd(fn: Function, args, direction, cts) -> float:
    """<ct, J v> by central differences."""
    plus = interpret(fn, [a + EPS * v for a, v in zip(args, direction)])
    minus = interpret(fn, [a - EPS * v for a, v in zip(args, direction)])
    return sum(float(np.sum(c * (p - m))) for c, p, m in zip(cts, plus, minus)) / (2 * EPS)


def check_dot_product(fn: Function, args, rng, directions=2):
    """<u, J v> (J v by finite differences) == <J^T u, v> (J^T u by the adjoint).

    Returns the adjoint and its arguments, so the check can recurse (order n+1).
    """
    adjoint = vjp(fn, fn.params)
    round_trips(adjoint)
    cts = [rng.standard_normal(r.shape) for r in fn.results]
    grads = interpret(adjoint, args + cts)
    for g, p in zip(grads, fn.params):
        assert g.shape == p.shape and g.dtype == p.dtype.np
    for _ in range(directions):
        v = [rng.standard_normal(a.shape) for a in args]
        numeric = directional_fd(fn, args, v, cts)
        analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, v))
        scale = 1 + sum(float(np.sum(np.abs(g * d))) for g, d in zip(grads, v))
        assert abs(numeric - analytic) <= 1e-6 * scale, (numeric, analytic, str(adjoint))
    return adjoint, args + cts


def check_order(c: Case, order: int, seed: int):
    rng = np.random.default_rng(seed)
    fn, args = c.function(), c.args(rng)
    for _ in range(order):
        fn, args = check_dot_product(fn, args, rng)


def random_broadcastable_shapes(rng) -> list[tuple]:
    """Two shapes that broadcast together: 0-d, size-1 dims and missing leading dims."""
    out = tuple(int(d) for d in rng.integers(1, 4, rng.integers(0, 4)))
    shapes = []
    for _ in range(2):
        dropped = rng.integers(0, len(out) + 1) if rng.random() < 0.3 else 0
        shape = out[dropped:]
        shapes.append(tuple(1 if rng.random() < 0.4 else d for d in shape))
    return shapes


BINARY_SAMPLERS = {P.div: (sample_any, sample_away_from_zero),
                   P.pow: (sample_positive, sample_any)}


@pytest.mark.parametrize("prim", [P.add, P.sub, P.mul, P.div, P.pow, P.max, P.min],
                         ids=lambda p: p.name)
def test_binary_ops_on_random_broadcast_shapes_to_second_order(prim):
    rng = np.random.default_rng(7)
    for _ in range(6):
        shapes = random_broadcastable_shapes(rng)
        x_sampler, y_sampler = BINARY_SAMPLERS.get(prim, (sample_any, sample_any))
        c = binary(prim, shapes, y_sampler=y_sampler, x_sampler=x_sampler)
        check_order(c, 2, seed=int(rng.integers(1 << 30)))


def test_every_primitive_has_a_rule_or_is_declared():
    assert missing_vjp_rules() == []
    assert not set(VJP_RULES) & NON_DIFFERENTIABLE


def test_the_registry_check_catches_a_primitive_without_rule(monkeypatch):
    rogue = P.Primitive("rogue", P.OpGroup.UNARY)
    monkeypatch.setitem(P.PRIMITIVES, "rogue", rogue)
    monkeypatch.setitem(P.SHAPE_RULES, rogue, lambda x: x)
    assert missing_vjp_rules() == [rogue]
    b = Builder()
    x = b.param(T(2))
    with pytest.raises(NotImplementedError, match="rogue"):
        vjp(b.build(b.emit(rogue, x)), [x])


def test_the_table_covers_every_rule():
    # while_loop's rule is an error (no reverse mode through a data-dependent trip count):
    # tests/ir/test_regions.py checks it
    assert {c.prim for c in ALL_CASES} == set(VJP_RULES) - {P.while_loop}


@pytest.mark.parametrize("c", ALL_CASES, ids=ids(ALL_CASES))
def test_first_order_per_element(c: Case):
    """d sum(f)/dx_i against central differences, element by element ("ones" seed)."""
    rng = np.random.default_rng(0)
    fwd = c.function()
    b = Builder("loss")
    b.params, b.body = list(fwd.params), list(fwd.body)
    (y,) = fwd.results
    loss_fn = b.build(b.reduce_sum(y, axes=tuple(range(len(y.shape)))))
    adjoint = vjp(loss_fn, loss_fn.params, cotangents=["ones"])
    round_trips(adjoint)
    args = c.args(rng)
    grads = interpret(adjoint, args)
    for k, (a, g) in enumerate(zip(args, grads)):
        numeric = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            bumped = [x.copy() for x in args]
            bumped[k][i] += EPS
            up = interpret(loss_fn, bumped)[0]
            bumped[k][i] -= 2 * EPS
            numeric[i] = (up - interpret(loss_fn, bumped)[0]) / (2 * EPS)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("c", ALL_CASES, ids=ids(ALL_CASES))
def test_second_order(c: Case):
    check_order(c, 2, seed=1)


@pytest.mark.parametrize("c", UNARY_CASES, ids=ids(UNARY_CASES))
def test_third_order_unary(c: Case):
    check_order(c, 3, seed=2)


# ---------------------------------------------------------------- the contract

def grads_of(fn: Function, wrt, args, **kw):
    adjoint = vjp(fn, wrt, **kw)
    round_trips(adjoint)
    return adjoint, interpret(adjoint, args)


def count(fn: Function, prim) -> int:
    return sum(i.prim is prim for i in fn.body)


def test_fan_out_accumulates_with_add():
    b = Builder()
    x = b.param(T(3))
    fn = b.build(b.add(b.mul(x, x), b.sin(x)))
    a = np.array([0.3, -1.0, 2.0])
    adjoint, (g,) = grads_of(fn, [x], [a], cotangents=["ones"])
    np.testing.assert_allclose(g, 2 * a + np.cos(a), rtol=1e-12)
    assert count(adjoint, P.add) == 2  # x used twice by mul, and by sin


def test_unused_and_unreachable_inputs_get_zeros_of_their_type():
    b = Builder()
    x, y, n = b.param(T(2)), b.param(T(3, 1)), b.param(T(2, dtype=i64))
    fn = b.build(b.sin(x), b.convert(n, dtype=f64))
    adjoint, (gx, gy) = grads_of(fn, [x, y], [np.ones(2), np.ones((3, 1)), np.ones(2, np.int64),
                                             np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(gy, np.zeros((3, 1)))
    assert adjoint.results[1].prim is P.full and adjoint.results[1].type == y.type


def test_gradient_with_respect_to_an_intermediate_instruction():
    b = Builder()
    x, w = b.param(T(3)), b.param(T(3))
    h = b.sin(x)
    fn = b.build(b.reduce_sum(b.mul(h, w), axes=(0,)))
    a, wv = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 3.0])
    _, (gh, gx) = grads_of(fn, [h, x], [a, wv], cotangents=["ones"])
    np.testing.assert_allclose(gh, wv)
    np.testing.assert_allclose(gx, wv * np.cos(a))


def test_cotangent_modes_param_ones_zero():
    b = Builder()
    x = b.param(T(2))
    fn = b.build(b.exp(x), b.reduce_sum(b.sin(x), axes=(0,)), b.mul(x, x))
    adjoint = vjp(fn, [x], cotangents=["param", "ones", "zero"])
    round_trips(adjoint)
    assert adjoint.params[:1] == fn.params
    assert [p.type for p in adjoint.params[1:]] == [T(2)]  # only the "param" result
    assert count(adjoint, P.exp) == 1 and not any(  # the "zero" result is not differentiated
        i.prim is P.mul and i.operands == (x, x) for i in adjoint.body)
    a, ct = np.array([0.5, -0.5]), np.array([2.0, 3.0])
    (g,) = interpret(adjoint, [a, ct])
    np.testing.assert_allclose(g, ct * np.exp(a) + np.cos(a))


def test_default_cotangents_are_params_in_result_order():
    b = Builder()
    x = b.param(T(2))
    fn = b.build(b.reduce_sum(x, axes=(0,)), b.sin(x))
    adjoint = vjp(fn, [x])
    assert adjoint.params[0] is x and [p.type for p in adjoint.params[1:]] == [T(), T(2)]
    (g,) = interpret(adjoint, [np.zeros(2), np.array(3.0), np.array([1.0, 2.0])])
    np.testing.assert_allclose(g, [4.0, 5.0])


def test_keep_results_returns_the_forward_results_first():
    b = Builder()
    x = b.param(T(2))
    y = b.exp(x)
    fn = b.build(y, b.reduce_sum(y, axes=(0,)))
    adjoint = vjp(fn, [x], cotangents=["zero", "ones"], keep_results=True, name="value_and_grad")
    round_trips(adjoint)
    assert adjoint.name == "value_and_grad"
    assert adjoint.results[0] is y and adjoint.results[1] is fn.results[1]
    a = np.array([0.0, 1.0])
    value, total, g = interpret(adjoint, [a])
    np.testing.assert_allclose(value, np.exp(a))
    np.testing.assert_allclose(g, np.exp(a))


def test_adjoint_reuses_the_forward_instructions_it_needs_and_only_those():
    b = Builder()
    x, y = b.param(T(3)), b.param(T(3))
    e, s = b.exp(x), b.sin(y)
    fn = b.build(b.add(e, s))
    adjoint = vjp(fn, [x])
    assert e in adjoint.body  # the very same object
    assert s not in adjoint.body and not any(i.prim is P.sin for i in adjoint.body)
    assert adjoint.params[:2] == [x, y]


def test_only_requested_gradients_are_computed():
    b = Builder()
    x, y = b.param(T(3)), b.param(T(3))
    fn = b.build(b.mul(b.sin(x), b.cos(y)))
    adjoint = vjp(fn, [y])
    assert not any(i.prim is P.cos and i.operands == (x,) for i in adjoint.body)
    assert [i.prim.name for i in adjoint.body].count("mul") == 2  # ct * sin x, * -sin y


def test_a_result_that_is_a_parameter_or_repeated():
    b = Builder()
    x = b.param(T(2))
    y = b.sin(x)
    fn = b.build(x, y, y)
    adjoint, (g,) = grads_of(fn, [x], [np.zeros(2), np.ones(2), np.ones(2), 2 * np.ones(2)])
    np.testing.assert_allclose(g, [4.0, 4.0])


def test_rules_carry_the_forward_location():
    here, there = SourceLoc("user.py", 7), SourceLoc("user.py", 9)
    b = Builder(loc=here)
    x = b.param(T(3))
    y = b.tanh(x)
    b.loc = there
    fn = b.build(b.mul(y, y))
    adjoint = vjp(fn, [x])
    new = [i for i in adjoint.body if i not in fn.body]
    assert new and {i.loc for i in new} <= {here, there}
    assert {i.loc for i in new if i.prim is P.sub} == {here}  # 1 - y*y belongs to tanh
    assert "# user.py:7" in str(adjoint)


def test_stop_gradient_and_integer_paths_are_cut():
    b = Builder()
    x = b.param(T(3))
    through_int = b.convert(b.convert(x, dtype=i64), dtype=f64)
    fn = b.build(b.add(b.mul(b.stop_gradient(x), x), through_int))
    a = np.array([1.5, -2.0, 3.0])
    _, (g,) = grads_of(fn, [x], [a], cotangents=["ones"])
    np.testing.assert_allclose(g, a)


def test_convert_between_floats_converts_the_cotangent_back():
    b = Builder()
    x = b.param(T(3, dtype=f32))
    fn = b.build(b.mul(b.convert(x, dtype=f64), b.full(T(3), 3.0)))
    _, (g,) = grads_of(fn, [x], [np.ones(3, np.float32)], cotangents=["ones"])
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [3, 3, 3])


def test_bad_arguments_are_value_errors_that_say_what():
    b = Builder()
    x, n = b.param(T(2)), b.param(T(2, dtype=i64))
    k = b.mul(n, n)
    fn = b.build(b.sin(x), k)
    with pytest.raises(ValueError, match=r"i64\[2\]"):
        vjp(fn, [n])
    with pytest.raises(ValueError, match=r"i64\[2\]"):
        vjp(fn, [k])
    with pytest.raises(ValueError, match="not a parameter or instruction"):
        vjp(fn, [Param(T(2))])
    with pytest.raises(ValueError, match="sideways"):
        vjp(fn, [x], cotangents=["ones", "sideways"])
    with pytest.raises(ValueError, match="1 cotangent modes"):
        vjp(fn, [x], cotangents=["ones"])


def test_second_and_third_derivatives_by_repeating_the_pass():
    b = Builder()
    x = b.param(T())
    fn = b.build(b.mul(b.mul(x, x), b.sin(x)))  # x^2 sin x
    d1 = vjp(fn, [x], cotangents=["ones"])
    d2 = vjp(d1, [x], cotangents=["ones"])
    d3 = vjp(d2, [x], cotangents=["ones"])
    for f in (d1, d2, d3):
        round_trips(f)
    a = np.array(0.7)
    s, c = np.sin(a), np.cos(a)
    np.testing.assert_allclose(interpret(d1, [a])[0], 2 * a * s + a * a * c)
    np.testing.assert_allclose(interpret(d2, [a])[0], 2 * s + 4 * a * c - a * a * s)
    np.testing.assert_allclose(interpret(d3, [a])[0], 6 * c - 6 * a * s - a * a * c)


def test_a_100000_instruction_chain_needs_no_recursion():
    b = Builder()
    x = b.param(T(2))
    v = x
    for _ in range(50_000):
        v = b.mul(b.sin(v), x)
    fn = b.build(v)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # any recursion over the chain would fail loudly
    try:
        start = time.process_time()  # CPU time: a busy machine must not fail it
        adjoint = vjp(fn, [x])
        elapsed = time.process_time() - start
    finally:
        sys.setrecursionlimit(limit)
    verify(adjoint)
    assert len(adjoint.body) > 200_000 and elapsed < 30
    (g,) = interpret(adjoint, [np.array([0.1, 0.2]), np.ones(2)])
    assert np.all(np.isfinite(g))


# ---------------------------------------------------------------- edge cases, as PyTorch

def grad_of_binary(prim, xs, ys, rhs_full=False):
    b = Builder()
    x = b.param(T(len(xs)))
    y = b.full(T(len(xs)), ys[0]) if rhs_full else b.param(T(len(ys)))
    fn = b.build(b.emit(prim, x, y))
    wrt = [x] if rhs_full else [x, y]
    args = [np.array(xs, float)] + ([] if rhs_full else [np.array(ys, float)])
    return grads_of(fn, wrt, args, cotangents=["ones"])[1]


def test_max_and_min_split_ties_evenly_and_pass_nan_to_both():
    for prim in (P.max, P.min):
        gx, gy = grad_of_binary(prim, [1.0, 2.0, 3.0, np.nan], [1.0, 1.0, 5.0, 0.0])
        win = [1.0, 0.0] if prim is P.max else [0.0, 1.0]
        np.testing.assert_array_equal(gx, [0.5, win[0], win[1], 1.0])
        np.testing.assert_array_equal(gy, [0.5, win[1], win[0], 1.0])


def test_relu_as_max_with_a_full_has_zero_gradient_at_zero_and_passes_nan():
    (gx,) = grad_of_binary(P.max, [-1.0, 0.0, 2.0, np.nan], [0.0], rhs_full=True)
    np.testing.assert_array_equal(gx, [0.0, 0.0, 1.0, 1.0])  # torch.relu's gradient
    (gx,) = grad_of_binary(P.min, [-1.0, 0.0, 2.0, np.nan], [0.0], rhs_full=True)
    np.testing.assert_array_equal(gx, [1.0, 0.0, 0.0, 1.0])


def test_reduce_max_shares_the_gradient_among_maxima_and_nan_wins():
    b = Builder()
    x = b.param(T(2, 4))
    fn = b.build(b.reduce_max(x, axes=(1,)))
    a = np.array([[1.0, 3.0, 3.0, 3.0], [np.nan, 5.0, np.nan, 1.0]])
    _, (g,) = grads_of(fn, [x], [a, np.array([3.0, 4.0])])
    np.testing.assert_array_equal(g, [[0, 1, 1, 1], [2, 0, 2, 0]])


def test_pow_at_zero_follows_pytorch():
    b = Builder()
    x, y = b.param(T(4)), b.param(T(4))
    fn = b.build(b.pow(x, y))
    xs, ys = np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, 2.0, 0.5, 3.0])
    _, (gx, gy) = grads_of(fn, [x, y], [xs, ys, np.ones(4)])
    np.testing.assert_array_equal(gx, [0.0, 0.0, np.inf, 12.0])
    np.testing.assert_array_equal(gy[:3], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(gy[3], 8 * np.log(2.0))


def test_sqrt_at_zero_is_infinite_and_abs_at_zero_is_zero():
    b = Builder()
    x = b.param(T(2))
    fn = b.build(b.sqrt(x), b.abs(x))
    _, (g,) = grads_of(fn, [x], [np.zeros(2)], cotangents=["ones", "zero"])
    np.testing.assert_array_equal(g, [np.inf, np.inf])
    _, (g,) = grads_of(fn, [x], [np.zeros(2)], cotangents=["zero", "ones"])
    np.testing.assert_array_equal(g, [0.0, 0.0])
