"""The Python thread pool behind `tapegrad_parallel_for`: the fallback of the native one.

    void tapegrad_parallel_for(void (*part)(void **buffers, int64 lo, int64 hi),
                               void **buffers, int64 n, int64 work)

runs `part` over disjoint ranges that cover [0, n): one range on the calling
thread, the others on other threads; `work` is the loop's elements times its
fusion cost, and loops with less than a pool's threshold run on the caller alone.
The native pool (runtime/native_pool.py, codegen/pool_module.py) fills the slot
wherever it runs: it hands work over in about a microsecond.  This one is for
where it does not (another OS or machine, `TAPEGRAD_NATIVE_POOL=0`): a ctypes
callback, holding the GIL while it hands out work; every `part` call goes through
ctypes, which releases the GIL, so the ranges really run at the same time.
Handing work over costs tens of microseconds, hence its higher threshold.

`TAPEGRAD_NUM_THREADS` caps the threads of both (default: the CPUs this process may use).
"""
from __future__ import annotations

import ctypes
import os
import queue
import threading

_PART = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
_PFOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                         ctypes.c_int64)
#: Split a loop only above this much work (see the module docstring): handing a range
#: to a Python thread costs tens of microseconds.
MIN_WORK = 1 << 22


def num_threads() -> int:
    env = os.environ.get("TAPEGRAD_NUM_THREADS", "")
    if env.strip():
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Pool:
    def __init__(self, threads: int):
        self.threads = threads
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.parts: dict[int, ctypes._CFuncPtr] = {}
        for k in range(threads - 1):
            threading.Thread(target=self._work, name=f"tapegrad-worker-{k}", daemon=True).start()

    def part(self, address: int):
        fn = self.parts.get(address)
        if fn is None:
            fn = self.parts[address] = _PART(address)
        return fn

    def _work(self) -> None:
        while True:
            fn, buffers, lo, hi, done = self.tasks.get()
            try:
                fn(buffers, lo, hi)
            finally:
                done.release()

    def run(self, address: int, buffers: int, n: int) -> None:
        fn = self.part(address)
        shares = min(self.threads, n)
        if shares <= 1:
            fn(buffers, 0, n)
            return
        bounds = [n * k // shares for k in range(shares + 1)]
        done = threading.Semaphore(0)
        for k in range(1, shares):
            self.tasks.put((fn, buffers, bounds[k], bounds[k + 1], done))
        fn(buffers, bounds[0], bounds[1])
        for _ in range(shares - 1):
            done.acquire()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _parallel_for(address, buffers, n, work) -> None:
    global _pool
    if work < MIN_WORK:
        _PART(address)(buffers, 0, n)
        return
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _Pool(num_threads())
    _pool.run(address, buffers, n)


def _forget_pool() -> None:
    """A forked child has none of the parent's worker threads: start afresh."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)

#: The callback object must outlive every call: module-level, never collected.
CALLBACK = _PFOR(_parallel_for)
ADDRESS = ctypes.cast(CALLBACK, ctypes.c_void_p).value
