"""ir/passes/scalar_factor.py, applied by codegen.compiled_ir: `a @ (s * b)` is computed
as `s * (a @ b)` when b is bigger than the product (the HVP's second backward scales a
whole weight-sized vector by the loss's cotangent only to feed gemm); values as numpy's,
and the forms that gain nothing stay."""
import numpy as np

import tapegrad as tg
from tapegrad.codegen import compiled_ir
from tapegrad.ir.parser import parse
from tapegrad.ir.passes.scalar_factor import scalar_factors
from tapegrad.runtime.compiler import compile_function
from tapegrad.runtime.interpreter import interpret


def _f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _big_muls(fn, size) -> int:
    """Elementwise multiplications over `size` elements (the loops the pass removes)."""
    return sum(1 for i in fn.body if i.prim.name == "mul" and i.type.size == size)


def test_a_runtime_scalar_moves_from_the_big_operand_to_the_product():
    x, v, s = _f32(6, 40), _f32(40, 5, seed=1), np.float32(0.75)
    f = tg.compile(lambda x, v, s: (x @ (s * v)).sum(axis=1))
    lowered = f.lower(x, v, s)
    assert _big_muls(lowered.program, 200) == 1
    assert _big_muls(lowered.optimized, 200) == 0
    assert _big_muls(lowered.optimized, 30) == 1  # s * (x @ v), fused into the sum's loop
    np.testing.assert_allclose(f(x, v, s).numpy(), (x @ (s * v)).sum(axis=1), rtol=1e-5,
                               atol=1e-5)


def test_through_a_transpose_and_on_the_left_operand():
    x, w, s = _f32(30, 4), _f32(3, 30, seed=1), np.float32(-2.5)
    f = tg.compile(lambda x, w, s: (s * x).T @ w.T)
    lowered = f.lower(x, w, s)
    assert _big_muls(lowered.optimized, 120) == 0
    np.testing.assert_allclose(f(x, w, s).numpy(), (s * x).T @ w.T, rtol=1e-5, atol=1e-5)


def test_both_operands_scaled_both_factors_move_in_one_pass():
    a, b, s, t = _f32(3, 40), _f32(40, 2, seed=1), np.float32(1.5), np.float32(-0.5)
    f = tg.compile(lambda a, b, s, t: (t * a) @ (s * b))
    lowered = f.lower(a, b, s, t)
    assert _big_muls(lowered.optimized, 120) == 0 and _big_muls(lowered.optimized, 80) == 0
    assert str(compiled_ir(lowered.optimized)) == str(lowered.optimized)  # idempotent
    np.testing.assert_allclose(f(a, b, s, t).numpy(), (t * a) @ (s * b), rtol=1e-5, atol=1e-5)


def test_a_constant_factor_ends_in_the_gemm_epilogue():
    c, a, b = _f32(4, 3), _f32(4, 50, seed=1), _f32(50, 3, seed=2)
    f = tg.compile(lambda c, a, b: c + a @ (b * 0.5))
    fn = f.lower(c, a, b).optimized
    names = [i.prim.name for i in fn.body]
    assert names.count("matmul_add") == 1 and "mul" not in names
    np.testing.assert_allclose(f(c, a, b).numpy(), c + a @ (b * 0.5), rtol=1e-5, atol=1e-5)


def test_what_gains_nothing_stays():
    s = np.float32(3.0)
    # the scaled operand is smaller than the product
    small = tg.compile(lambda a, b, s: a @ (s * b)).lower(_f32(50, 2), _f32(2, 40), s).program
    assert scalar_factors(small) is small
    # the scaled operand is read elsewhere too: its loop runs anyway
    shared = tg.compile(lambda a, b, s: (a @ (s * b), (s * b).sum()))
    fn = shared.lower(_f32(2, 40), _f32(40, 3, seed=1), s).program
    assert scalar_factors(fn) is fn
    # not a splat: a row of scales
    rows = tg.compile(lambda a, b, r: a @ (r * b))
    fn = rows.lower(_f32(2, 40), _f32(40, 3, seed=1), _f32(40, 1, seed=2)).program
    assert scalar_factors(fn) is fn
    # idempotent as compiled_ir must be
    once = compiled_ir(tg.compile(lambda x, v, s: x @ (s * v)).lower(
        _f32(6, 40), _f32(40, 5, seed=1), s).program)
    assert str(compiled_ir(once)) == str(once)


#: the second backward of the eager HVP (benchmarks W4b eager), shrunk: the loss's
#: cotangent %ct scales the vector v before x @ v
_HVP_ADJOINT = """
func @backward(%x: f32[16,60], %mask: bool[16,8], %w2: f32[8,4], %ct: f32[], %v: f32[60,8]) -> (f32[60,8]) {
  %0: f32[16,8] = full value=0.0
  %1: f32[1,1] = reshape %ct shape=(1, 1)
  %2: f32[60,8] = broadcast %1 shape=(60, 8)
  %3: f32[60,8] = mul %2, %v
  %4: f32[16,8] = matmul %x, %3
  %5: f32[16,8] = select %mask, %0, %4
  %6: f32[16,4] = matmul %5, %w2
  %7: f32[4,8] = transpose %w2 perm=(1, 0)
  %8: f32[16,8] = matmul %6, %7
  %9: f32[16,8] = select %mask, %0, %8
  %10: f32[60,16] = transpose %x perm=(1, 0)
  %11: f32[60,8] = matmul %10, %9
  return %11
}
"""


def test_the_eager_hessian_vector_products_adjoint_loses_its_weight_sized_loop():
    fn = parse(_HVP_ADJOINT)
    assert _big_muls(fn, 480) == 1
    optimized = compiled_ir(fn)
    assert _big_muls(optimized, 480) == 0
    x, w2, v = _f32(16, 60), _f32(8, 4, seed=1), _f32(60, 8, seed=2)
    mask = _f32(16, 8, seed=3) < 0
    for ct in (np.float32(1.0), np.float32(-0.375)):
        args = (x, mask, w2, ct, v)
        (want,) = interpret(fn, args)
        (got,) = compile_function(fn)(*args)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
