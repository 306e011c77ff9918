"""Memory stays bounded: long eager training loops and create_graph loops do not grow resident
memory, and the compile caches (memory LRU, transform LRU) hold a bounded number of functions.

The 10,000-step soaks and the 2,000-signature compile run are marked slow (`pytest -m slow`);
the default run does shorter versions with proportionally tighter limits."""
import ctypes
import ctypes.util
import functools
import gc
import os
import tracemalloc

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.demo import D_IN, D_OUT, H, N, eager_step
from tapegrad.runtime import compiler, loader

MB = 1 << 20


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@functools.cache
def _libc():
    """The C library (found once: find_library runs ldconfig), or None."""
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def _release_free_heap() -> None:
    """Hand free heap memory back to the system (glibc's malloc_trim), so that what a step
    keeps must grow resident memory: after earlier tests freed large blocks, glibc raises
    its mmap threshold and serves 1 MB arrays from free heap that RSS already counts.
    Only the check of the measurement itself does this: a loop measured after a trim
    would count its own steady working set, taken back from the system, as growth."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _heap_in_use() -> int | None:
    """Bytes malloc has handed out and not taken back (every arena, mmapped blocks too;
    glibc's mallinfo2), or None without it.  Memory served from free heap that RSS
    already counted shows here, where RSS does not move."""
    info = getattr(_libc(), "mallinfo2", None)
    if info is None:
        return None
    info.restype = _MallInfo2
    m = info()
    return m.uordblks + m.hblkhd


def _growth(step, steps: int, warmup: int = 200) -> int:
    """What `steps` steps kept: resident growth, or the growth of malloc's memory in use
    where that is larger (a step that keeps arrays carved out of heap earlier tests freed
    grows the second, not RSS: in a full run, 20 MB kept grew RSS by 6.5 MB)."""
    for _ in range(warmup):
        step()
    gc.collect()
    before, heap_before = rss(), _heap_in_use()
    for _ in range(steps):
        step()
    gc.collect()
    grown, heap_after = rss() - before, _heap_in_use()
    if heap_before is not None and heap_after is not None:
        grown = max(grown, heap_after - heap_before)
    return grown


def _tutorial_step():
    """The tutorials' two-layer network and SGD loop (tapegrad.demo), eager."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((N, D_IN)).astype(np.float32))
    y = tg.tensor(rng.standard_normal((N, D_OUT)).astype(np.float32))
    w1 = tg.tensor(rng.standard_normal((D_IN, H)).astype(np.float32), requires_grad=True)
    w2 = tg.tensor(rng.standard_normal((H, D_OUT)).astype(np.float32), requires_grad=True)
    return lambda: eager_step(w1, w2, x, y)


def _create_graph_step():
    rng = np.random.default_rng(1)
    a = tg.tensor(rng.standard_normal(100).astype(np.float32), requires_grad=True)

    def step():
        loss = (a.sin() * a).sum()
        (g,) = tg.autograd.grad(loss, a, create_graph=True)
        (g * g).sum().backward()
        a.grad = None
    return step


@pytest.mark.slow
def test_10000_eager_training_steps_grow_rss_less_than_20mb():
    assert _growth(_tutorial_step(), 10_000) < 20 * MB


@pytest.mark.slow
def test_10000_create_graph_iterations_grow_rss_less_than_20mb():
    assert _growth(_create_graph_step(), 10_000) < 20 * MB


def test_eager_training_and_create_graph_loops_do_not_leak():
    """The quick profile: 1,000 steps each, within a tenth of the slow test's budget."""
    assert _growth(_tutorial_step(), 1_000) < 2 * MB
    assert _growth(_create_graph_step(), 1_000) < 2 * MB


def test_a_leaking_loop_would_be_caught():
    """The measurement itself: keeping 1 MB per step is seen."""
    kept = []
    _release_free_heap()  # else earlier tests' freed heap can absorb the 20 MB kept
    assert _growth(lambda: kept.append(np.ones(MB // 8)), 20, warmup=0) > 10 * MB


def _fn(i: int):
    b = tg.ir.Builder(f"sig{i}")
    x = b.param(tg.ir.tensor_type(tg.ir.f32, (i % 97 + 1, 3)), "x")
    return b.build(b.mul(b.sin(x), b.full(x.type, 1.0 + i)))


def test_memory_cache_is_an_lru_of_configurable_size(monkeypatch, cache_dir):
    monkeypatch.setenv("TAPEGRAD_MEMORY_CACHE_SIZE", "8")
    compiler.clear_memory_cache()
    fns = [_fn(100_000 + i) for i in range(30)]
    for fn in fns:
        compiler.compile_function(fn)
        assert compiler.memory_cache_len() <= 8
    compiler.compile_function(fns[-8])  # recently used: stays
    compiler.compile_function(fns[0])  # evicted long ago: back from disk, code reused
    x = np.full((fns[0].params[0].type.shape), 0.5, np.float32)
    np.testing.assert_allclose(compiler.compile_function(fns[0])(x)[0],
                               np.sin(x) * (1.0 + 100_000), rtol=1e-6)
    linked = loader.loaded_count()
    for fn in fns:  # every one again: evicted ones reload, none is linked a second time
        compiler.compile_function(fn)
    assert loader.loaded_count() == linked
    assert compiler.memory_cache_len() <= 8
    monkeypatch.setenv("TAPEGRAD_MEMORY_CACHE_SIZE", "zero")
    with pytest.raises(ValueError, match="TAPEGRAD_MEMORY_CACHE_SIZE"):
        compiler.compile_function(_fn(99_999))
    compiler.clear_memory_cache()


def test_transform_cache_is_bounded():
    f = tg.compile(lambda x: (x * 2.0).sum(), cache_size=4)
    for n in range(1, 12):
        assert float(f(np.ones(n, np.float32))) == 2.0 * n
    info = f.cache_info()
    assert info.misses == 11 and info.traces == 11
    assert float(f(np.ones(1, np.float32))) == 2.0  # evicted: a miss that says why
    assert f.cache_info().misses == 12


@pytest.mark.slow
def test_2000_distinct_signatures_keep_python_memory_bounded():
    """The caches keep at most their size; Python-side memory stops growing.

    Resident memory still grows by about 75 KB per fresh LLVM compile: llvmlite's new pass
    manager leaks per optimisation run (LLVM-NOTES.md), outside anything tapegrad holds.  The
    RSS limit below is that leak plus a margin, so a leak of our own would still be caught."""
    f = tg.compile(lambda x: (x.sin() * 3.0).sum())
    cap = compiler.memory_cache_size()
    tracemalloc.start()
    try:
        rss_at, heap_at = {}, {}
        for n in range(1, 2001):
            f(np.ones(n, np.float32))
            if n in (500, 2000):
                gc.collect()
                rss_at[n], heap_at[n] = rss(), tracemalloc.get_traced_memory()[0]
        assert compiler.memory_cache_len() <= cap
        assert f.cache_info().misses == 2000
        assert heap_at[2000] - heap_at[500] < 8 * MB, heap_at
        assert (rss_at[2000] - rss_at[500]) / 1500 < 200 * 1024, rss_at
    finally:
        tracemalloc.stop()
