"""Eager float32/float16 transcendentals give compiled code's bits (runtime/eager_math.py).

The interpreter's float32 and float16 rules for exp, tanh, ... run the functions compiled
code inlines, made into numpy ufuncs; these tests compare, bit for bit, an eager call
with a compiled one over many inputs (saturated, huge, tiny, denormal, +-0, +-inf, NaN,
random bit patterns), contiguous, strided and 0-d, and the eager/compiled Jacobian
comparison of the corpus's tut_func_jacobians_hessians.
"""
from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import primitives as P
from tapegrad.runtime import eager_math
from tapegrad.runtime.interpreter import IMPLS

pytestmark = pytest.mark.skipif(not eager_math.ENABLED, reason="TAPEGRAD_EAGER_MATH=numpy")

#: primitive name -> the public function that binds it
PUBLIC = {"exp": tg.exp, "log": tg.log, "log1p": tg.log1p, "tanh": tg.tanh,
          "logistic": tg.sigmoid, "sin": tg.sin, "cos": tg.cos, "expm1": tg.expm1,
          "atan": tg.atan, "asin": tg.asin, "acos": tg.acos}


def _inputs(dtype) -> np.ndarray:
    with np.errstate(all="ignore"):  # (exp of 88 in float64 overflows float32: kept, inf)
        return _values().astype(dtype)


def _values() -> np.ndarray:
    rng = np.random.default_rng(15)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 1e-40,
                        -3e-39, 1.1754944e-38, 3.4028235e38, -3.4028235e38, 1.0, -1.0, 0.5,
                        -0.5, 0.999, -0.999, 10.0, 12.0, 88.72, 88.73, -87.33, -103.97,
                        -104.1, 9.0, 9.01, 15.0, 2.0 ** 30, -(2.0 ** 30) - 64, 2.0 ** 31,
                        1e30, -1e30, 3.1415927, 1.5707964], np.float32)
    bits = rng.integers(0, 2 ** 32, 4000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    return np.concatenate([special, bits, rng.uniform(-12, 12, 3000),
                           rng.uniform(-100, 100, 1000), rng.uniform(-1, 1, 1000),
                           np.exp(rng.uniform(-100, 88, 1000)),
                           -np.exp(rng.uniform(-100, 88, 500))]).astype(np.float32)


def _same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Equal bit patterns, or both NaN (a NaN's payload is not a promise of either side)."""
    return (a.view(f"u{a.itemsize}") == b.view(f"u{b.itemsize}")) | (np.isnan(a) & np.isnan(b))


def test_the_runtime_and_codegen_lists_agree():
    from tapegrad.codegen import eager_math as emitted
    assert eager_math.FUNCTIONS == emitted.FUNCTIONS
    assert all(n in P.PRIMITIVES for n in eager_math.FUNCTIONS)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_eager_gives_compiled_bits(name, dtype):
    x = _inputs(dtype)
    compiled = tg.compile(lambda t: PUBLIC[name](t))(tg.tensor(x)).numpy()
    eager = PUBLIC[name](tg.tensor(x)).numpy()
    assert eager.dtype == dtype
    bad = ~_same_bits(eager, compiled)
    assert not bad.any(), (name, x[bad][:8], eager[bad][:8], compiled[bad][:8])
    # element by element (0-d arrays: the ufunc's own loop on one element) and strided
    rule = IMPLS[P.PRIMITIVES[name]]
    with np.errstate(all="ignore"):  # (as eager code calls the rules)
        for k in range(0, x.size, 997):
            one = np.asarray(rule(x[k].reshape(())))
            assert one.shape == () and _same_bits(one, compiled[k]), (name, x[k], one,
                                                                      compiled[k])
        strided = rule(x[::3])
    assert _same_bits(strided, compiled[::3]).all(), name


def test_float64_keeps_numpy():
    x = np.linspace(-5, 5, 101)
    assert np.array_equal(tg.exp(tg.tensor(x)).numpy(), np.exp(x))
    assert np.array_equal(IMPLS[P.exp](x), np.exp(x))


def test_rules_take_out_like_a_ufunc():
    """The eager hot path calls a rule as a ufunc, with `out=...` where this numpy's ufuncs
    take it (numpy >= 2.3; interpreter._AS_ARRAY): an array even for 0-d x."""
    from tapegrad.runtime.interpreter import _AS_ARRAY
    for dtype in (np.float16, np.float32, np.float64):
        got = IMPLS[P.tanh](np.array(0.5, dtype), **_AS_ARRAY)
        if _AS_ARRAY:
            assert got.__class__ is np.ndarray
        assert np.shape(got) == () and got.dtype == dtype and 0.46 < float(got) < 0.47


def test_eager_rows_agree_with_jacrev():
    """The corpus's first assert: row-by-row eager gradients allclose to jacrev's with
    saturated tanh units (1 - tanh(z)**2 keeps a few bits there, so one ulp of tanh is
    ~10% of the gradient).  With numpy's tanh eagerly this was False; what is left is
    the linear layer's summation order (BLAS eagerly, a loop compiled): an ulp or two."""
    rng = np.random.default_rng(0)
    w = tg.tensor(rng.standard_normal((16, 16)).astype(np.float32) * 3)
    b = tg.tensor(rng.standard_normal(16).astype(np.float32))
    x = tg.tensor(rng.standard_normal(16).astype(np.float32))

    def predict(weight, bias, v):
        return tg.nn.functional.linear(v, weight, bias).tanh()

    rows = []
    for k in range(16):
        xp = x.clone().requires_grad_()
        rows.append(tg.autograd.grad(predict(w, b, xp), xp, tg.eye(16)[k])[0])
    eager = tg.stack(rows).numpy()
    compiled = tg.func.jacrev(predict, argnums=2)(w, b, x).numpy()
    assert (np.abs(predict(w, b, x).numpy()) > 0.9999).sum() >= 8  # saturated units
    assert np.allclose(eager, compiled, rtol=1e-5, atol=1e-8)  # torch.allclose's defaults


BINARY = {"pow": lambda a, b: a ** b, "atan2": tg.atan2, "hypot": tg.hypot}


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_eager_gives_compiled_bits(name, dtype):
    """pow (glibc's powf in both), atan2 (mathlib_surface's) and hypot (glibc's hypotf's
    float64 sum in both) on pairs of the inputs above, and pow by a Python number."""
    x = _inputs(dtype)
    y = np.roll(x, 1)
    if name == "pow":  # exponents a loss would use, beside the random pairs
        x, y = np.abs(x), np.where(np.abs(y) < 64, y, np.float32(2.5)).astype(dtype)
    fn = BINARY[name]
    compiled = tg.compile(fn)(tg.tensor(x), tg.tensor(y)).numpy()
    eager = fn(tg.tensor(x), tg.tensor(y)).numpy()
    bad = ~_same_bits(eager, compiled)
    assert not bad.any(), (name, x[bad][:6], y[bad][:6], eager[bad][:6], compiled[bad][:6])
    if name == "pow":
        for k in (2, 3, 2.5, -1.5, 0.5, -0.5, -1, -2, 1):
            compiled = tg.compile(lambda t: t ** k)(tg.tensor(x)).numpy()
            assert _same_bits((tg.tensor(x) ** k).numpy(), compiled).all(), k
            one = (tg.tensor(x[30]) ** k).numpy()  # a 0-d operand
            assert _same_bits(one, tg.compile(lambda t: t ** k)(tg.tensor(x[30])).numpy()), k


@pytest.mark.parametrize("k", [1.0, 2.0, 3.0, 0.5, -0.5, -1.0, -2.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_pow_by_a_constant_returns_a_new_array(k, dtype):
    """x ** 1 must not hand back x itself: the caller may write into the result."""
    x = np.array([1.5, 2.0, 4.0], dtype)
    out = IMPLS[P.pow](x, np.broadcast_to(np.array(k, dtype), x.shape))
    assert out.dtype == x.dtype and not np.shares_memory(out, x)
