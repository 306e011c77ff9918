"""Big results come from a pool: a block is lent again only when no array reaches it.

The pool decides by ownership (a lease object every view of a result shares as its
base), never by reference counts, which CPython 3.14 reports lower than they are.
Each test keeps results (whole, as a view, as a tensor's `.numpy()`) across later
native calls and checks that no later result shares memory with a kept one."""
from __future__ import annotations

import gc
import pathlib

import numpy as np

import tapegrad as tg
from tapegrad.ir import Builder, dtypes, tensor_type
from tapegrad.runtime import buffer_pool, execute
from tapegrad.runtime.compiler import compile_function

N = buffer_pool.POOL_MIN_BYTES // 4 + 16  # float32 elements: a pooled result


def _double(n=N, name="double_pool"):
    b = Builder(name)
    x = b.param(tensor_type(dtypes.f32, (n,)), "x")
    return b.build(b.add(x, x))


def _assert_apart(kept: list, later) -> None:
    for k, held in enumerate(kept):
        assert not np.shares_memory(held, later), f"result {k} still held shares memory"


def test_held_results_and_views_are_never_lent_again():
    cf = compile_function(_double())
    kept, values = [], []
    for i in range(12):
        out = cf(np.full(N, float(i), np.float32))[0]
        _assert_apart(kept, out)
        # keep the whole result, a slice, a transpose-like reshape, or nothing
        held = [out, out[5:50], out.reshape(-1, 4)[::3], None][i % 4]
        if held is not None:
            kept.append(held)
            values.append(2.0 * i)
        del out, held
        gc.collect()
    for held, value in zip(kept, values):  # nothing overwrote what is held
        assert np.all(held == value)


def test_a_block_comes_back_once_its_last_view_dies():
    cf = compile_function(_double(name="double_pool_back"))
    buffer_pool._free.get(N * 4, []).clear()  # an empty pool: every block is fresh
    out = cf(np.ones(N, np.float32))[0]
    view = out[::7]
    del out
    gc.collect()
    assert buffer_pool.free_blocks(N * 4) == 0  # the view keeps the block
    address = view.ctypes.data
    del view
    assert buffer_pool.free_blocks(N * 4) == 1
    again = cf(np.ones(N, np.float32))[0]
    assert again.ctypes.data == address and buffer_pool.free_blocks(N * 4) == 0


def test_numpy_of_a_tensor_result_keeps_its_block_on_the_fast_call():
    g = tg.grad(lambda x: (x * x).sum())
    x = np.full(N, 0.5, np.float32)
    for _ in range(3):  # the third call runs the generated fast call
        g(x)
    kept = []
    for i in range(8):
        out = g(np.full(N, float(i), np.float32))
        _assert_apart(kept, out.numpy())
        kept.append(out.numpy()[: 10 + i] if i % 2 else out.numpy())
        del out
        gc.collect()
    for i, held in enumerate(kept):
        assert np.all(held == 2.0 * i)


def test_the_eager_tiers_native_calls_keep_held_results(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_EAGER", "compile")
    fn = _double(name="double_pool_eager")  # the engine passes the same object each time
    kept = []
    before = execute.stats.native
    for i in range(8):
        out = execute.execute(fn, [np.full(N, float(i), np.float32)])[0]
        _assert_apart(kept, out)
        kept.append(out[i:] if i % 2 else out)
        del out
        gc.collect()
    assert execute.stats.native - before == 8
    for i, held in enumerate(kept):
        assert np.all(held == 2.0 * i)


def test_no_reference_counting_decides_ownership():
    root = pathlib.Path(tg.__file__).resolve().parent.parent
    for part in ("runtime", "codegen"):
        for path in (root / part).rglob("*.py"):
            assert "getrefcount" not in path.read_text(), path
