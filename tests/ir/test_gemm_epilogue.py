"""The gemm epilogue pass: `c + k * (a @ b)` as one matmul_add (BLAS beta = 1)."""
from __future__ import annotations

import numpy as np
import pytest
from helpers.pass_programs import T, prims

from tapegrad.ir import Builder, parse, verify
from tapegrad.ir.passes.gemm_epilogue import gemm_epilogues
from tapegrad.runtime import interpret


def _inputs(rng, fn):
    return [rng.standard_normal(p.type.shape) for p in fn.params]


def _folded(fn):
    """The pass's output, checked: it verifies, round-trips through text and computes
    what `fn` computes (to rounding: gemm scales the sum, not each product)."""
    out = gemm_epilogues(fn)
    verify(out)
    assert str(parse(str(out))) == str(out)
    args = _inputs(np.random.default_rng(0), fn)
    for want, got in zip(interpret(fn, args), interpret(out, args)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    return out


def _program(build):
    b = Builder("f")
    x, y, c = b.param(T(4, 3)), b.param(T(3, 5)), b.param(T(4, 5))
    return b.build(*build(b, x, y, c))


@pytest.mark.parametrize("form, alpha", [
    (lambda b, p, c, k: b.sub(c, b.mul(p, k)), -0.25),
    (lambda b, p, c, k: b.sub(c, b.mul(k, p)), -0.25),
    (lambda b, p, c, k: b.add(c, b.mul(p, k)), 0.25),
    (lambda b, p, c, k: b.add(b.mul(k, p), c), 0.25),
    (lambda b, p, c, k: b.add(p, c), 1.0),
    (lambda b, p, c, k: b.add(c, p), 1.0),
    (lambda b, p, c, k: b.sub(c, p), -1.0),
], ids=["c-p*k", "c-k*p", "c+p*k", "k*p+c", "p+c", "c+p", "c-p"])
def test_each_form_becomes_one_matmul_add(form, alpha):
    fn = _program(lambda b, x, y, c: [form(b, b.matmul(x, y), c, b.full(c.type, 0.25))])
    out = _folded(fn)
    assert prims(out) == ["matmul_add"]
    (instr,) = out.body
    assert instr.attrs["alpha"] == alpha
    assert instr.operands == (fn.params[2], fn.params[0], fn.params[1])
    assert out.results == [instr]


def test_the_accumulator_may_be_any_expression():
    fn = _program(lambda b, x, y, c: [b.sub(b.exp(c), b.matmul(x, y))])
    assert prims(_folded(fn)) == ["exp", "matmul_add"]


@pytest.mark.parametrize("why, build", [
    ("the product is a result too",
     lambda b, x, y, c: (lambda p: [b.sub(c, p), p])(b.matmul(x, y))),
    ("the product has another reader",
     lambda b, x, y, c: (lambda p: [b.sub(c, p), b.exp(p)])(b.matmul(x, y))),
    ("the scaled product has another reader",
     lambda b, x, y, c: (lambda q: [b.sub(c, q), q])(b.mul(b.matmul(x, y), b.full(c.type, 2.0)))),
    ("the scale is not a constant",
     lambda b, x, y, c: [b.sub(c, b.mul(b.matmul(x, y), b.exp(c)))]),
    ("the scale is not finite",
     lambda b, x, y, c: [b.sub(c, b.mul(b.matmul(x, y), b.full(c.type, float("inf"))))]),
    ("a product minus an accumulator (alpha = 1, beta = -1)",
     lambda b, x, y, c: [b.sub(b.matmul(x, y), c)]),
    ("a product times a product",
     lambda b, x, y, c: [b.mul(b.matmul(x, y), c)]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_other_programs_are_left_alone(why, build):
    fn = _program(build)
    assert gemm_epilogues(fn) is fn, why


def test_a_factor_is_never_its_own_accumulator():
    b = Builder("f")
    x = b.param(T(3, 3))
    fn = b.build(b.add(x, b.matmul(x, x)))
    assert gemm_epilogues(fn) is fn


def test_the_w1_update_folds_into_both_weight_gradients():
    """The tutorial's compiled SGD step: both gradients arrive as gemm epilogues."""
    import tapegrad as tg

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 6)), rng.standard_normal((8, 2))
    w1, w2 = rng.standard_normal((6, 4)), rng.standard_normal((4, 2))

    def loss(w1, w2, x, y):
        return (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()

    @tg.compile
    def step(w1, w2, x, y):
        value, (g1, g2) = tg.value_and_grad(loss, argnums=(0, 1))(w1, w2, x, y)
        return value, w1 - 1e-3 * g1, w2 - 1e-3 * g2

    fn = step.lower(w1, w2, x, y).optimized
    out = _folded(fn)
    assert prims(out).count("matmul_add") == 2
    got = [t.numpy() for t in step(w1, w2, x, y)]
    for want, have in zip(interpret(fn, [w1, w2, x, y]), got):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)
