"""Two speed choices of codegen that must not change results: 512-bit vectors on AVX-512
hosts (codegen/target.features) and mathlib's division without the divider
(MathBuilder.div_positive, used by logistic where 2^n scaling takes bit tricks)."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest
from llvmlite import ir

from tapegrad.codegen import mathlib, target

_engines = []  # keeps the compiled code alive


def _kernel(body, fty, nargs: int, tm=None):
    """y[i] = body(MathBuilder, x0[i], x1[i], ...) over n, compiled with `tm` (default: the
    code generator's target machine) and the code generator's pipeline."""
    import llvmlite.binding as llvm
    module = ir.Module(name="k")
    i64, ptr = ir.IntType(64), fty.as_pointer()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr] * (nargs + 1) + [i64]),
                     name="f")
    *xs, y, n = fn.args
    entry, loop, done = fn.append_basic_block(), fn.append_basic_block(), fn.append_basic_block()
    b = ir.IRBuilder(entry)
    b.cbranch(b.icmp_signed(">", n, ir.Constant(i64, 0)), loop, done)
    b.position_at_end(loop)
    i = b.phi(i64)
    i.add_incoming(ir.Constant(i64, 0), entry)
    v = body(mathlib.MathBuilder(b), *[b.load(b.gep(x, [i])) for x in xs])
    b.store(v, b.gep(y, [i]))
    nxt = b.add(i, ir.Constant(i64, 1))
    i.add_incoming(nxt, loop)
    b.cbranch(b.icmp_signed("<", nxt, n), loop, done)
    b.position_at_end(done)
    b.ret_void()
    target.prepare(module)
    tm = tm or target.target_machine()
    mod = llvm.parse_assembly(str(module))
    pto = llvm.create_pipeline_tuning_options(target.OPT_LEVEL)
    pto.loop_vectorization = pto.slp_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    engine = llvm.create_mcjit_compiler(mod, tm, use_lmm=False)
    engine.finalize_object()
    _engines.append(engine)
    cfn = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * (nargs + 1), ctypes.c_int64)(
        engine.get_function_address("f"))
    np_dtype = np.float32 if isinstance(fty, ir.FloatType) else np.float64

    def call(*arrays):
        arrays = [np.ascontiguousarray(a, np_dtype) for a in arrays]
        out = np.empty_like(arrays[0])
        cfn(*[a.ctypes.data for a in arrays], out.ctypes.data, out.size)
        return out

    call.asm = tm.emit_assembly(mod)
    return call


def _ulps(got, want):
    """Distance in units in the last place (both finite, same sign)."""
    bits = {4: np.int32, 8: np.int64}[got.dtype.itemsize]
    return np.abs(got.view(bits).astype(np.int64) - want.view(bits).astype(np.int64))


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_division_without_the_divider_is_within_an_ulp(np_dtype):
    fty = ir.FloatType() if np_dtype == np.float32 else ir.DoubleType()
    div = _kernel(lambda mb, n, d: mb.div_positive(n, d), fty, 2)
    rng = np.random.default_rng(0)
    span = 120 if np_dtype == np.float32 else 1000
    d = np.exp2(rng.uniform(-span, span, 200_000)).astype(np_dtype)
    d = d * rng.uniform(1, 2, d.size).astype(np_dtype)
    n = (rng.standard_normal(d.size) * np.exp2(rng.uniform(-10, 10, d.size))).astype(np_dtype)
    d = np.concatenate([d, np.array([1.0, 2.0, 3.0, 1.5, 7.0], np_dtype)])
    n = np.concatenate([n, np.array([1.0, 1.0, 1.0, 3.0, 0.0], np_dtype)])
    with np.errstate(over="ignore", under="ignore"):
        want = (n.astype(np.float64) / d.astype(np.float64)).astype(np_dtype) \
            if np_dtype == np.float32 else n / d
    got = div(n, d)
    ok = np.isfinite(want) & (np.abs(want) >= np.finfo(np_dtype).tiny)  # no denormal quotients
    assert _ulps(got[ok], want[ok]).max() <= 1
    assert np.mean(got[ok] == want[ok]) > 0.999  # nearly always the correctly rounded quotient
    assert np.isnan(div(np.array([1.0]), np.array([np.nan]))[0])
    assert np.isnan(div(np.array([np.nan]), np.array([2.0]))[0])


def test_wide_vectors_keep_every_bit():
    """W2's functions compiled with 256-bit vectors and with target.features()'s choice
    give the same numbers (each lane runs the same operations).  The narrow build asks
    for 256 bits itself: LLVM's own tuning prefers them on most Intel cores, but not on
    AMD's Zen 4, where the host's features alone already give 512-bit code."""
    import llvmlite.binding as llvm
    host = llvm.get_host_cpu_features().flatten()
    if "+avx512f" not in host.split(","):
        pytest.skip("no AVX-512 here: target.features() keeps LLVM's choice")
    assert "-prefer-256-bit" in target.features()
    tm256 = llvm.Target.from_triple(llvm.get_process_triple()).create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=host + ",+prefer-256-bit", opt=3, reloc=target.RELOC,
        codemodel=target.CODE_MODEL)

    def body(mb, x):
        return mb.mul(mb.mul(mb.tanh(x), mb.logistic(x)), mb.exp(mb.b.fneg(mb.mul(x, x))))

    wide = _kernel(body, ir.FloatType(), 1)
    narrow = _kernel(body, ir.FloatType(), 1, tm256)
    assert "zmm" in wide.asm and "zmm" not in narrow.asm
    x = np.random.default_rng(1).standard_normal(100_003).astype(np.float32) * 4
    np.testing.assert_array_equal(wide(x), narrow(x))
