"""ir/passes/transposed_product.py, applied by codegen.compiled_ir: `(a @ b).T` is
computed as `b.T @ a.T` so gemm writes the layout it is read in (nn.Linear's weight
gradient `(x.T @ g).T`); values as numpy's, and a product read elsewhere stays."""
import numpy as np

import tapegrad as tg
from tapegrad.codegen import compiled_ir
from tapegrad.ir.passes.transposed_product import transposed_products


def _f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _transposed_matmuls(fn) -> int:
    return sum(1 for i in fn.body if i.prim.name == "transpose"
               and i.operands[0] in fn.body and i.operands[0].prim.name == "matmul")


def test_a_linear_weight_gradient_is_written_in_the_weights_layout():
    x, w, y = _f32(8, 5), _f32(3, 5, seed=1), _f32(8, 3, seed=2)
    g = tg.grad(lambda w, x, y: ((x @ w.T - y) ** 2).sum())
    lowered = g.lower(w, x, y)
    assert _transposed_matmuls(lowered.program) == 1  # differentiation's (x.T @ g).T
    assert _transposed_matmuls(lowered.optimized) == 0
    product = [i for i in lowered.optimized.body if i.prim.name in ("matmul", "matmul_add")
               and i.shape == (3, 5)]
    assert product  # the gradient comes straight out of gemm as [out, in]
    want = 2 * (x @ w.T - y).T @ x
    np.testing.assert_allclose(g(w, x, y).numpy(), want, rtol=1e-5, atol=1e-5)


def test_the_sgd_update_of_a_linear_weight_becomes_one_epilogue():
    x, w, gy = _f32(8, 5), _f32(3, 5, seed=1), _f32(8, 3, seed=2)
    step = tg.compile(lambda w, x, gy: w - 0.1 * (x.T @ gy).T)
    fn = step.lower(w, x, gy).optimized
    assert [i.prim.name for i in fn.body].count("matmul_add") == 1
    np.testing.assert_allclose(step(w, x, gy).numpy(), w - 0.1 * (gy.T @ x), rtol=1e-5,
                               atol=1e-6)


def test_a_product_read_elsewhere_or_not_2d_stays():
    def both(a, b):
        p = a @ b
        return p.T, p.sum()

    a, b = _f32(4, 3), _f32(3, 2, seed=1)
    fn = tg.compile(both).lower(a, b).program
    assert transposed_products(fn) is fn
    out = tg.compile(both)(a, b)
    np.testing.assert_allclose(out[0].numpy(), (a @ b).T, rtol=1e-6)
    batched = tg.compile(lambda a, b: (a @ b).transpose(1, 2))
    fn = batched.lower(_f32(2, 4, 3), _f32(2, 3, 2)).program
    assert transposed_products(fn) is fn

    linear = tg.grad(lambda w, x: (x @ w.T).sum()).lower(_f32(3, 5), _f32(8, 5)).program
    once = compiled_ir(linear)
    assert str(compiled_ir(once)) == str(once)  # idempotent
