"""The native worker pool (runtime/native_pool.py, codegen/pool_module.py): split loops give
the single-threaded bits at every size and thread count, small loops stay on the caller,
and threads, forks and interpreter exit neither hang nor crash."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.codegen import emit
from tapegrad.ir import Builder, dtypes, tensor_type
from tapegrad.runtime import compiler, native_pool, parallel, sharedlib
from tapegrad.runtime.compiler import compile_function

ROOT = Path(__file__).resolve().parents[2]
NEVER = 1 << 62

pytestmark = pytest.mark.skipif(not native_pool.supported(),
                                reason="the native pool runs on Linux x86-64 / AArch64")


def _chain(n, name, dtype=dtypes.f32):
    """W2's kind of loop: tanh(x) * logistic(x) * exp(-x*x) + 1 / (1 + x*x), fused."""
    b = Builder(name)
    x = b.param(tensor_type(dtype, (n,)), "x")
    one = b.full(x.type, 1.0)
    xx = b.mul(x, x)
    y = b.add(b.mul(b.mul(b.tanh(x), b.logistic(x)), b.exp(b.neg(xx))),
              b.div(one, b.add(one, xx)))
    return b.build(y)


@pytest.fixture
def fresh_caches(cache_dir):
    """Compile anew (the caches' keys do not cover emit.PARALLEL_WORK)."""
    compiler.clear_memory_cache()
    yield cache_dir
    compiler.clear_memory_cache()


@pytest.fixture
def pool(monkeypatch, fresh_caches):
    """Every loop compiled from here gets a part function; the live pool splits every
    part (min_work 0) among `threads` threads; restored afterwards."""
    monkeypatch.setattr(emit, "PARALLEL_WORK", 1)
    assert native_pool.address() is not None

    def start(threads, **settings):
        monkeypatch.setenv("TAPEGRAD_NUM_THREADS", str(threads))
        assert native_pool.restart()
        native_pool.configure(min_work=0, chunk_work=1, stall_cycles=NEVER, **settings)

    yield start
    monkeypatch.undo()
    native_pool.restart()


def _epoch():
    return native_pool.field("EPOCH")


def _last_chunks():
    """(chunks, chunks claimed) of the last job, from the pool's COUNTER word."""
    import ctypes
    from tapegrad.codegen import pool_module as L
    word = ctypes.c_uint64.from_address(native_pool.state() + L.COUNTER).value
    return (word >> 16) & 0xFFFF, word & 0xFFFF


def _work(cf) -> int | None:
    """The work (elements x cost) compiled code passes to the pool, or None: no split loop."""
    found = re.findall(r"_part0, ptr [^,]+, i64 \d+, i64 (\d+)\)", cf.llvm)
    return int(found[0]) if found else None


def test_the_module_links_as_a_shared_library():
    """Nothing outside the module is named (a 128-bit division once called libgcc's
    __udivti3, which `ld --no-undefined` refuses): it loads without LLVM next time."""
    from tapegrad.codegen import pool_module, target
    if not sharedlib.linker_commands("a.o", "a.so"):
        pytest.skip("no linker")
    text = pool_module.module_text("tg_pool_t", native_pool._arch())
    so = sharedlib.link(target.emit_object(target.optimize(text)))
    assert so is not None and so[:4] == b"\x7fELF"


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 33, 100, 1000, 4099, 65537])
def test_split_loops_give_the_single_threaded_bits(pool, threads, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    cf = compile_function(_chain(n, f"bits_{n}"))
    pool(1)
    alone = cf(x)[0]
    pool(threads, chunks_per_thread=3)
    before = _epoch()
    split = cf(x)[0]
    assert (_epoch() != before) == (n >= 2)  # the pool ran it as a job
    np.testing.assert_array_equal(split, alone)
    # odd chunk counts: ranges not multiples of 16, a chunk per element
    native_pool.configure(chunks_per_thread=7)
    np.testing.assert_array_equal(cf(x)[0], alone)


def test_a_donated_argument_updated_in_place_is_updated_once(pool):
    """Each chunk runs exactly once: `w - 0.5 * exp(w)` written into w's own array would
    show a chunk run twice (or a stale job's chunk) as a second subtraction."""
    pool(2, chunks_per_thread=8)
    step = tg.compile(lambda w: w - 0.5 * tg.exp(w), donate_argnums=(0,))
    w0 = np.linspace(-1, 1, 40_000, dtype=np.float32)
    want = w0 - np.float32(0.5) * np.exp(w0)
    for _ in range(3):
        w = tg.from_numpy(w0.copy())
        got = step(w).numpy()
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_loops_below_the_threshold_stay_on_the_caller(monkeypatch, fresh_caches):
    """With the shipped thresholds, a sweep of sizes across them: a loop under MIN_WORK is
    not handed to a worker, one above is, and both give the bits of the unsplit run."""
    monkeypatch.setenv("TAPEGRAD_NUM_THREADS", "2")
    assert native_pool.address() is not None and native_pool.restart()
    native_pool.configure(stall_cycles=NEVER)  # no back-off on a busy machine
    try:
        for n in (100, 1_000, 3_000, 6_000, 12_000, 50_000):
            x = np.linspace(-4, 4, n, dtype=np.float32)
            cf = compile_function(_chain(n, f"sweep_{n}"))
            work = _work(cf)
            assert (work is None) == (n <= 3_000)  # cost 37 per element
            assert work is None or work >= emit.PARALLEL_WORK
            before = _epoch()
            got = cf(x)[0]
            split = _epoch() != before
            assert split == (work is not None and work >= native_pool.MIN_WORK)
            if split:  # one chunk per CHUNK_WORK, from one to CHUNKS_PER_THREAD per thread
                want = min(max(work // native_pool.CHUNK_WORK, 2),
                           2 * native_pool.CHUNKS_PER_THREAD)
                assert _last_chunks() == (want, want)  # (chunks, claimed)
            native_pool.configure(min_work=1 << 62)  # never split: the reference
            np.testing.assert_array_equal(cf(x)[0], got)
            native_pool.configure(min_work=native_pool.MIN_WORK)
    finally:
        monkeypatch.undo()
        native_pool.restart()


def test_after_a_stall_the_next_jobs_run_alone(pool):
    """BACKOFF jobs run on the caller (the epoch stays), then the pool splits again; a
    job where the caller waited longer than STALL_CYCLES and its own share sets it."""
    import ctypes
    from tapegrad.codegen import pool_module as L
    pool(2)
    cf = compile_function(_chain(5000, "backoff"))
    x = np.linspace(-3, 3, 5000, dtype=np.float32)
    want = cf(x)[0].copy()
    backoff = ctypes.c_int32.from_address(native_pool.state() + L.BACKOFF)
    backoff.value = 3
    for left in (2, 1, 0):
        before = _epoch()
        np.testing.assert_array_equal(cf(x)[0], want)
        assert _epoch() == before and backoff.value == left
    before = _epoch()
    np.testing.assert_array_equal(cf(x)[0], want)
    assert _epoch() == before + 1


def test_a_caller_that_waited_longer_than_its_share_backs_off(pool):
    """A stall: the worker's half of sin(x) has huge arguments (libm's slow path, many
    times the caller's polynomial half), so the caller waits longer than it worked; the
    pool then sets the penalty and runs the next jobs alone."""
    import ctypes
    from tapegrad.codegen import pool_module as L
    pool(2, chunks_per_thread=1)  # two chunks: the caller's half and the worker's
    n = 20_000
    b = Builder("backoff_stall")
    x = b.param(tensor_type(dtypes.f64, (n,)), "x")
    cf = compile_function(b.build(b.sin(x)))
    xs = np.concatenate([np.linspace(-1, 1, n // 2), np.full(n // 2, 1e12)])
    native_pool.configure(stall_cycles=0)  # any wait longer than the caller's share
    backoff = ctypes.c_int32.from_address(native_pool.state() + L.BACKOFF)
    # the worker must claim its half before the caller does: up to 500 tries, stopping at
    # the first stall (in a full run on a 2-vCPU AMD host, 50 once saw none)
    for _ in range(500):
        np.testing.assert_allclose(cf(xs)[0], np.sin(xs), rtol=1e-14, atol=1e-15)
        if native_pool.field("PENALTY"):
            break
    assert native_pool.field("PENALTY") >= 1 and backoff.value >= 1


def test_one_thread_starts_no_worker(pool):
    pool(1)
    cf = compile_function(_chain(5000, "one_thread"))
    before = _epoch()
    cf(np.ones(5000, np.float32))
    assert _epoch() == before and native_pool.field("ALIVE") == 0
    assert native_pool.threads() == 1


def test_restart_stops_the_workers(pool):
    pool(3)
    cf = compile_function(_chain(5000, "restart"))
    cf(np.ones(5000, np.float32))
    old = native_pool.state()
    assert native_pool.field("ALIVE") == 2
    pool(2)
    assert native_pool.state() != old
    import ctypes
    from tapegrad.codegen import pool_module as L
    assert ctypes.c_int32.from_address(old + L.ALIVE).value == 0  # they left
    cf(np.ones(5000, np.float32))
    assert native_pool.field("ALIVE") == 1


def test_flush_to_zero_set_after_the_pool_started_reaches_the_workers(pool):
    """The workers compute with the caller's MXCSR (flush-to-zero, rounding), whatever it
    was when they started: the split result has the caller's bits."""
    pool(2, chunks_per_thread=8)
    b = Builder("ftz_split")
    x = b.param(tensor_type(dtypes.f32, (4096,)), "x")
    cf = compile_function(b.build(b.mul(x, b.full(x.type, 0.5))))
    tiny = np.full(4096, np.float32(1e-39))
    cf(tiny)  # the workers run (started with denormals kept)
    if not tg.set_flush_denormal(True):
        pytest.skip("no SSE control register on this host")
    try:
        for _ in range(5):
            assert np.all(cf(tiny)[0] == 0)
    finally:
        tg.set_flush_denormal(False)
    assert np.all(cf(tiny)[0] == tiny * np.float32(0.5))


def test_python_threads_calling_split_loops_at_once(pool):
    """Several Python threads: one holds the pool, the others run their loop alone; every
    result is the single-threaded one and nobody waits forever."""
    pool(2, chunks_per_thread=4)
    n = 20_000
    cf = compile_function(_chain(n, "threads_at_once"))
    xs = [np.linspace(-k, k, n, dtype=np.float32) for k in range(1, 7)]
    native_pool.configure(min_work=1 << 62)
    want = [cf(x)[0].copy() for x in xs]
    native_pool.configure(min_work=0)
    errors, start = [], threading.Barrier(len(xs))

    def run(k):
        try:
            start.wait()
            for _ in range(60):
                np.testing.assert_array_equal(cf(xs[k])[0], want[k])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append((k, e))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors


def _run(code: str, env=None, timeout=120):
    env = dict(os.environ, **(env or {}))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


_PROGRAM = textwrap.dedent("""
    import os, sys, threading
    import numpy as np
    from tapegrad.codegen import emit
    emit.PARALLEL_WORK = 1
    from tapegrad.ir import Builder, dtypes, tensor_type
    from tapegrad.runtime import native_pool
    from tapegrad.runtime.compiler import compile_function
    b = Builder("sub_" + str(os.getpid()))
    x = b.param(tensor_type(dtypes.f32, (30000,)), "x")
    cf = compile_function(b.build(b.tanh(b.mul(x, x))))
    xs = np.linspace(-2, 2, 30000, dtype=np.float32)
    want = np.tanh(xs * xs)
    assert native_pool.address() is not None
    native_pool.configure(min_work=0, stall_cycles=1 << 62)
    def check():
        np.testing.assert_allclose(cf(xs)[0], want, rtol=2e-6, atol=1e-7)
""")


def test_forked_children_start_their_own_workers():
    out = _run(_PROGRAM + textwrap.dedent("""
    check()
    assert native_pool.field("ALIVE") == 1
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                assert native_pool.field("ALIVE") == 0  # the parent's worker is not here
                before = native_pool.field("EPOCH")
                for _ in range(20):
                    check()
                assert native_pool.field("EPOCH") == before + 20 and native_pool.field("ALIVE") == 1
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    check()
    assert all(os.waitpid(p, 0)[1] == 0 for p in pids)
    print("ok")
    """), env={"TAPEGRAD_NUM_THREADS": "2"})
    assert out.strip() == "ok"


@pytest.mark.parametrize("how", ["idle", "busy daemon threads", "sys.exit in a thread"])
def test_interpreter_exit_neither_hangs_nor_crashes(how):
    body = {
        "idle": "check()",
        "busy daemon threads": """
    def spin():
        while True:
            check()
    for _ in range(3):
        threading.Thread(target=spin, daemon=True).start()
    check()
    """,
        "sys.exit in a thread": """
    def spin():
        for _ in range(50):
            check()
    ts = [threading.Thread(target=spin) for _ in range(2)]
    [t.start() for t in ts]
    check()
    sys.exit(0)
    """,
    }[how]
    _run(_PROGRAM + textwrap.dedent(body), env={"TAPEGRAD_NUM_THREADS": "2"}, timeout=60)


def test_the_python_pool_remains_where_the_native_one_is_off():
    out = _run(_PROGRAM.replace("assert native_pool.address() is not None\n",
                                "assert native_pool.address() is None\n")
               .replace("native_pool.configure(min_work=0, stall_cycles=1 << 62)",
                        "from tapegrad.runtime import parallel; parallel.MIN_WORK = 0")
               + textwrap.dedent("""
    check()
    print(parallel._pool is not None and parallel._pool.threads)
    """), env={"TAPEGRAD_NUM_THREADS": "2", "TAPEGRAD_NATIVE_POOL": "0"})
    assert out.strip() == "2"
    assert parallel.num_threads() >= 1
