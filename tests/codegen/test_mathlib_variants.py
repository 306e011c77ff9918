"""Both ways codegen/mathlib.py scales by 2^n.

The code generator picks one way per host (llvm.ldexp where it is one AVX-512
instruction, bit tricks elsewhere), so compile_function only ever tests one.
Here each function is built directly with MathBuilder(ldexp=...) into a loop
that LLVM vectorises (a vector body and a scalar remainder), compiled with the
same target and pipeline, and held to test_mathlib_accuracy's bounds on its inputs,
special values and denormals.  tests/codegen/test_polynomial_fit.py regenerates
the polynomials and measures their error exactly.
"""
from __future__ import annotations

import ctypes
import functools
import math

import numpy as np
import pytest
from llvmlite import ir

from tapegrad.codegen import mathlib, target

from helpers.math_reference import LD, REFERENCE, SPECIALS, ULP, inputs, ulp_error

pytestmark = pytest.mark.skipif(np.finfo(LD).eps >= np.finfo(np.float64).eps,
                                reason="needs an extended-precision long double")

NAMES = ("exp", "log", "log1p", "tanh", "logistic")
_engines = []  # keeps the compiled code alive


@functools.cache
def compiled(name: str, np_dtype, ldexp: bool):
    """f(x) -> y elementwise, with MathBuilder(ldexp=ldexp): a numpy-callable."""
    import llvmlite.binding as llvm
    fty = ir.FloatType() if np_dtype == np.float32 else ir.DoubleType()
    module = ir.Module(name=f"{name}_{ldexp}")
    i64, ptr = ir.IntType(64), fty.as_pointer()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr, ptr, i64]), name="f")
    x, y, n = fn.args
    entry, loop, done = fn.append_basic_block(), fn.append_basic_block(), fn.append_basic_block()
    b = ir.IRBuilder(entry)
    b.cbranch(b.icmp_signed(">", n, ir.Constant(i64, 0)), loop, done)
    b.position_at_end(loop)
    i = b.phi(i64)
    i.add_incoming(ir.Constant(i64, 0), entry)
    v = getattr(mathlib.MathBuilder(b, ldexp=ldexp), name)(b.load(b.gep(x, [i])))
    b.store(v, b.gep(y, [i]))
    nxt = b.add(i, ir.Constant(i64, 1))
    i.add_incoming(nxt, loop)
    b.cbranch(b.icmp_signed("<", nxt, n), loop, done)
    b.position_at_end(done)
    b.ret_void()
    target.prepare(module)
    mod = target.optimize(str(module))
    engine = llvm.create_mcjit_compiler(mod, target.target_machine(), use_lmm=False)
    engine.finalize_object()
    _engines.append(engine)
    cfn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
        engine.get_function_address("f"))

    def call(xs: np.ndarray) -> np.ndarray:
        xs = np.ascontiguousarray(xs, np_dtype)
        out = np.empty_like(xs)
        cfn(xs.ctypes.data, out.ctypes.data, xs.size)
        return out

    call.asm = target.emit_assembly(str(mod))
    return call


DTYPES = [np.float32, np.float64]
VARIANTS = pytest.mark.parametrize("ldexp", [False, True], ids=["bits", "ldexp"])


@VARIANTS
@pytest.mark.parametrize("np_dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_error_is_within_the_same_bounds(name, np_dtype, ldexp):
    x = inputs(name, np_dtype)
    got = compiled(name, np_dtype, ldexp)(x)
    with np.errstate(all="ignore"):
        ref = REFERENCE[name](x)
    rounded = ref.astype(np_dtype)
    special = ~np.isfinite(rounded) | ~np.isfinite(ref)
    np.testing.assert_array_equal(got[special], rounded[special])
    err = np.where(special, 0, ulp_error(got, ref, np_dtype))
    worst = int(np.argmax(err))
    assert err.max() <= ULP[name], f"{err.max():.2f} ulp at x={x[worst]!r}: got {got[worst]!r}"


@VARIANTS
@pytest.mark.parametrize("np_dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_special_values_exactly(name, np_dtype, ldexp):
    x = np.array([c[0] for c in SPECIALS[name]], np_dtype)
    want = np.array([c[1] for c in SPECIALS[name]], np_dtype)
    got = compiled(name, np_dtype, ldexp)(x)
    np.testing.assert_array_equal(got, want)
    real = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[real]), np.signbit(want[real]))


@VARIANTS
@pytest.mark.parametrize("np_dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_denormal_inputs_and_results(np_dtype, ldexp):
    fi = np.finfo(np_dtype)
    sub = np.array([fi.smallest_subnormal, fi.tiny / 2, fi.tiny / 1000], np_dtype)
    np.testing.assert_array_equal(compiled("tanh", np_dtype, ldexp)(sub), sub)
    np.testing.assert_array_equal(compiled("tanh", np_dtype, ldexp)(-sub), -sub)
    np.testing.assert_array_equal(compiled("log1p", np_dtype, ldexp)(sub), sub)
    logs = compiled("log", np_dtype, ldexp)(sub)
    np.testing.assert_allclose(logs, np.log(sub.astype(LD)).astype(np_dtype), rtol=4 * fi.eps)
    # exp and logistic into the denormal range: within one denormal step of the exact value
    x = np.log(np.array([fi.tiny / 2, fi.tiny / 1000, fi.smallest_subnormal * 3], LD))
    x = x.astype(np_dtype)
    for name in ("exp", "logistic"):
        got = compiled(name, np_dtype, ldexp)(x)
        assert np.all(np.abs(got.astype(LD) - REFERENCE[name](x)) <= fi.smallest_subnormal)


def test_the_host_default_and_what_each_way_compiles_to():
    """ldexp is the default exactly where it is one instruction (vscalef), and the other
    way calls nothing."""
    assert mathlib.MathBuilder(ir.IRBuilder(), None).ldexp == target.fast_ldexp()
    for np_dtype in DTYPES:
        for name in ("exp", "logistic"):
            bits = compiled(name, np_dtype, False).asm
            assert "call" not in bits and "vscalef" not in bits
            if target.fast_ldexp():
                fast = compiled(name, np_dtype, True).asm
                assert "vscalef" in fast and "call" not in fast
