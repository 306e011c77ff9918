"""The fast native call path: array objects in, pooled big results, threads for big loops."""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.codegen import emit
from tapegrad.ir import Builder, dtypes, tensor_type
from tapegrad.runtime import interpret, native
from tapegrad.runtime.native import compile_function


def _scaled(n, dtype=dtypes.f32, name="scaled"):
    b = Builder(name)
    x = b.param(tensor_type(dtype, (n,)), "x")
    return b.build(b.tanh(b.mul(x, x)))


def test_object_entry_point_is_used():
    assert native.DATA_OFFSET is not None  # CPython on 64 bits: PyArrayObject.data found
    cf = compile_function(_scaled(5))
    assert cf._native.icall is not None
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    np.testing.assert_allclose(cf(x)[0], np.tanh(x * x), rtol=1e-6)


def test_call_checked_fixes_layout_but_trusts_shapes():
    cf = compile_function(_scaled(4))
    x = np.arange(8, dtype=np.float32)[::2] / 8  # not contiguous
    np.testing.assert_allclose(cf.call_checked([x])[0], np.tanh(x * x), rtol=1e-6)


def test_big_results_reuse_only_unreferenced_blocks():
    n = native.POOL_MIN_BYTES // 4 + 16
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
    assert third.ctypes.data == addr or len(native._pool[n * 4]) > 1
    np.testing.assert_allclose(third, np.tanh(0.25), rtol=1e-6)


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_parallel_loops_match_the_interpreter(monkeypatch, threads):
    monkeypatch.setattr(emit, "PARALLEL_WORK", 1)  # split every elementwise loop
    monkeypatch.setenv("TAPEGRAD_NUM_THREADS", threads)
    from tapegrad.runtime import parallel
    monkeypatch.setattr(parallel, "_pool", None)
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


class _TurnsPool:
    """A stand-in for the thread pool: runs the parts of one split loop one after
    another on the calling thread, each with the range a thread would get; counts
    the calls."""

    def __init__(self, threads):
        from tapegrad.runtime import parallel
        self.threads, self.parallel, self.calls = threads, parallel, 0

    def run(self, address, buffers, n):
        part = self.parallel._PART(address)
        bounds = [n * k // self.threads for k in range(self.threads + 1)]
        for lo, hi in zip(bounds, bounds[1:]):
            self.calls += 1
            part(buffers, lo, hi)


@pytest.mark.parametrize("rows", [1, 5, 16, 37, 1000])
@pytest.mark.parametrize("threads", [1, 3])
def test_split_loops_take_every_chunk_once_whichever_part_runs_first(monkeypatch, rows, threads):
    """A part takes chunks from the shared counter until none is left, whatever range
    the pool gave it: the first part to run does all of them here, the later ones find
    none, and every element is written (fresh inputs each call, so a chunk left out
    would show the previous call's values in a reused result buffer)."""
    from tapegrad.runtime import parallel
    monkeypatch.setattr(emit, "PARALLEL_WORK", 1)
    pool = _TurnsPool(threads)
    monkeypatch.setattr(parallel, "_pool", pool)
    b = Builder(f"chunks{rows}_{threads}")
    x = b.param(tensor_type(dtypes.f64, (rows, 3)), "x")
    fn = b.build(b.mul(b.exp(x), x), b.reduce_sum(b.sin(x), axes=(1,)))
    cf = compile_function(fn)
    rng = np.random.default_rng(rows)
    for _ in range(3):
        args = [rng.standard_normal((rows, 3))]
        for got, want in zip(cf(*args), interpret(fn, args)):
            np.testing.assert_allclose(got, want, rtol=1e-12)
    assert pool.calls >= 3 * threads  # the loops really went through the pool


class _LastRangeOnlyPool(_TurnsPool):
    """Calls one part, with the range the last of three threads would get."""

    def run(self, address, buffers, n):
        self.calls += 1
        self.parallel._PART(address)(buffers, 2 * n // 3, n)


def test_one_part_does_every_chunk_whatever_range_it_is_given(monkeypatch):
    """The ranges only say how many threads join: a worker that the pool wakes after
    the others finished (here: the only part called) still leaves nothing undone."""
    from tapegrad.runtime import parallel
    monkeypatch.setattr(emit, "PARALLEL_WORK", 1)
    monkeypatch.setattr(parallel, "_pool", _LastRangeOnlyPool(1))
    b = Builder("one_part")
    x = b.param(tensor_type(dtypes.f32, (100,)), "x")
    fn = b.build(b.tanh(x))
    x = np.linspace(-3, 3, 100, dtype=np.float32)
    np.testing.assert_allclose(compile_function(fn)(x)[0], np.tanh(x), rtol=1e-6)
