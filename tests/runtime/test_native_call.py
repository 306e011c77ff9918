"""The fast native call path: array objects in, pooled big results, threads for big loops."""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.codegen import emit
from tapegrad.ir import Builder, dtypes, tensor_type
from tapegrad.runtime import buffer_pool, interpret, native_call
from tapegrad.runtime.compiler import compile_function


def _scaled(n, dtype=dtypes.f32, name="scaled"):
    b = Builder(name)
    x = b.param(tensor_type(dtype, (n,)), "x")
    return b.build(b.tanh(b.mul(x, x)))


def test_object_entry_point_is_used():
    assert native_call.DATA_OFFSET is not None  # CPython on 64 bits: PyArrayObject.data found
    cf = compile_function(_scaled(5))
    assert cf._native.icall is not None
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    np.testing.assert_allclose(cf(x)[0], np.tanh(x * x), rtol=1e-6)


def test_call_checked_fixes_layout_but_trusts_shapes():
    cf = compile_function(_scaled(4))
    x = np.arange(8, dtype=np.float32)[::2] / 8  # not contiguous
    np.testing.assert_allclose(cf.call_checked([x])[0], np.tanh(x * x), rtol=1e-6)


def test_big_results_reuse_only_unreferenced_blocks():
    n = buffer_pool.POOL_MIN_BYTES // 4 + 16
    cf = compile_function(_scaled(n, name="pooled"))
    x = np.full(n, 0.5, np.float32)
    first = cf(x)[0]
    view = first[10:20]
    del first
    second = cf(x * 2)[0]  # the block behind `view` is still in use: not reused
    assert not np.shares_memory(view, second)
    np.testing.assert_allclose(view, np.tanh(0.25), rtol=1e-6)
    np.testing.assert_allclose(second, np.tanh(1.0), rtol=1e-6)
    del view
    addr = second.ctypes.data
    del second
    third = cf(x)[0]  # now free: the same memory comes back
    assert third.ctypes.data == addr or buffer_pool.free_blocks(n * 4) > 0
    np.testing.assert_allclose(third, np.tanh(0.25), rtol=1e-6)


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_parallel_loops_match_the_interpreter(monkeypatch, request, threads):
    monkeypatch.setattr(emit, "PARALLEL_WORK", 1)  # split every elementwise loop
    monkeypatch.setenv("TAPEGRAD_NUM_THREADS", threads)
    from tapegrad.runtime import native_pool, parallel
    monkeypatch.setattr(parallel, "_pool", None)
    monkeypatch.setattr(parallel, "MIN_WORK", 0)  # the Python pool's, where it runs
    if native_pool.address() is not None:  # the native pool: restarted with `threads`
        assert native_pool.restart()
        native_pool.configure(min_work=0)
        request.addfinalizer(lambda: (monkeypatch.undo(), native_pool.restart()))
    b = Builder(f"par{threads}")
    x = b.param(tensor_type(dtypes.f64, (7, 33)), "x")
    y = b.param(tensor_type(dtypes.f64, (33,)), "y")
    s = b.add(b.exp(x), b.broadcast(y, shape=(7, 33)))
    fn = b.build(s, b.reduce_sum(s, axes=(1,)), b.transpose(b.logistic(x), perm=(1, 0)))
    cf = compile_function(fn)
    assert "tapegrad_parallel_for" in cf.llvm
    rng = np.random.default_rng(0)
    args = [rng.standard_normal((7, 33)), rng.standard_normal(33)]
    for got, want in zip(cf(*args), interpret(fn, args)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
