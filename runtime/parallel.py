"""The thread pool behind `tapegrad_parallel_for`, which generated code calls for big loops.

    void tapegrad_parallel_for(void (*part)(void **buffers, int64 lo, int64 hi),
                               void **buffers, int64 n)

runs `part` over disjoint ranges that cover [0, n): one range on the calling
thread, the others on persistent worker threads.  It is a ctypes callback, so
it holds the GIL while it hands out work; every `part` call goes through ctypes,
which releases the GIL, so the ranges really run at the same time.  Handing
work over costs tens of microseconds, which is why the code generator only
splits loops with a lot of work (codegen.emit.PARALLEL_WORK).

`TAPEGRAD_NUM_THREADS` caps the threads (default: the CPUs this process may use).
"""
from __future__ import annotations

import ctypes
import os
import queue
import threading

_PART = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
_PFOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


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


def _parallel_for(address, buffers, n) -> None:
    global _pool
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
