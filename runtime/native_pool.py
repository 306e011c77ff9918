"""The native worker pool (codegen/pool_module.py): loaded once, its state owned here.

    address = native_pool.address()   # the dispatcher for the parallel-loop slot, or None

The pool's module is compiled once and kept in the disk cache like any compiled
function (a process that finds it there loads the shared library without LLVM).  Its
state is a block of memory allocated here and never freed (workers may read it until
they leave); `restart` retires the current state (its workers stop) and makes a new
one, as a test changing TAPEGRAD_NUM_THREADS needs.  A forked child zeroes the state's
job fields: it has none of the parent's workers, and the first split loop it runs
starts its own.  At interpreter exit the workers are stopped (they would otherwise be
killed where they stand, which is harmless too: they hold no lock anyone waits on).

It registers itself as the provider of the parallel-loop slot (runtime/sharedlib.py,
`SLOT_PROVIDERS`); where it cannot run (not Linux x86-64/AArch64, no LLVM and no cached
module, `TAPEGRAD_NATIVE_POOL=0`) the Python pool of runtime/parallel.py stays.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import platform
import sys
import threading
import time

from ..codegen import pool_module as L
from . import cache, handwritten, loader, parallel, sharedlib

_MODULE = "tapegrad-worker-pool"
#: set to "0" to keep the Python pool (for measuring)
ENV_SWITCH = "TAPEGRAD_NATIVE_POOL"
#: the futex syscall's number, by machine
_FUTEX_NR = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98}
#: How long a worker (and a caller waiting for its workers) spins before it sleeps, in
#: cycle-counter ticks: ~100 us at 2.6 GHz, longer than the Python between two calls of
#: a compiled function, short enough that an idle pool costs nothing measurable.
SPIN_CYCLES = 1 << 18
#: Chunks of a split loop: one per CHUNK_WORK of work, from one to CHUNKS_PER_THREAD
#: per thread.  More lets the caller take over the chunks of a worker that is not
#: running, and ends a big loop with less time where one thread waits for the other's
#: last chunk; each costs a claim (an atomic on a shared cache line).
CHUNKS_PER_THREAD = 16
CHUNK_WORK = 1 << 16
#: A wait for a worker's chunk longer than this (cycle-counter ticks, ~50 us) and than
#: the caller's own share is a stall: the next jobs run alone for a while (a machine
#: with more runnable threads than cores preempts workers that hold a chunk).
STALL_CYCLES = 1 << 17
#: Split a loop only above this much work (elements x fusion cost per element,
#: codegen/emit.py): below it, waking a worker costs more than the half it takes.
#: Measured: benchmarks/README.md, "The native worker pool".
MIN_WORK = 1 << 18

_lock = threading.Lock()
_functions = None  # (parallel_for address, set_state, stop), False when it cannot run
_states: list = []  # every state block ever made: never freed
_current = None  # the live state block (a ctypes array), or None


def _arch() -> str:
    return platform.machine().lower()


def supported() -> bool:
    return (sys.platform == "linux" and _arch() in _FUTEX_NR
            and os.environ.get(ENV_SWITCH, "1").strip() != "0")


def _libc_addresses() -> dict[int, int]:
    libc = ctypes.CDLL(None)
    out = {}
    for field, name in ((L.PTHREAD_CREATE, "pthread_create"),
                        (L.PTHREAD_DETACH, "pthread_detach"),
                        (L.PTHREAD_SIGMASK, "pthread_sigmask"), (L.SYSCALL, "syscall")):
        out[field] = ctypes.cast(getattr(libc, name), ctypes.c_void_p).value
    return out


def _load_or_compile():
    key = cache.make_key(_MODULE, _arch())
    symbol = "tg_" + key[:32] + "_pool"  # the cache wants "tg_" + the key first
    code, _ = handwritten.code_for(key, symbol, lambda name: L.module_text(name, _arch()))
    table = (ctypes.c_void_p * len(L.TABLE))()
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(code.address)(ctypes.addressof(table))
    addresses = dict(zip(L.TABLE, (int(a) for a in table)))
    set_state = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(addresses["set_state"])
    stop = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(addresses["stop"])
    return addresses["parallel_for"], set_state, stop, code.holder


def _new_state(threads: int):
    """A state block for `threads` threads (the caller included), settings filled."""
    block = (ctypes.c_char * (L.STATE_BYTES + 64))()
    _states.append(block)
    base = -(-ctypes.addressof(block) // 64) * 64  # cache-line aligned
    i64 = lambda field, value: ctypes.c_int64.from_address(base + field).__setattr__(  # noqa
        "value", value)
    i64(L.THREADS, max(1, min(threads, L.MAX_THREADS)))
    i64(L.SPIN_CYCLES, SPIN_CYCLES)
    i64(L.MIN_WORK, MIN_WORK)
    i64(L.CHUNKS, CHUNKS_PER_THREAD)
    i64(L.CHUNK_WORK, CHUNK_WORK)
    i64(L.STALL_CYCLES, STALL_CYCLES)
    i64(L.FUTEX_NR, _FUTEX_NR[_arch()])
    for field, value in _libc_addresses().items():
        ctypes.c_void_p.from_address(base + field).value = value
    ctypes.memset(base + L.SIGSET, 0xFF, 128)
    return base


def address() -> int | None:
    """The native dispatcher's address, loading the module and starting a state on first
    use; None where the native pool cannot run (the caller uses the Python pool)."""
    global _functions, _current
    if _functions is None:
        # LLVM's lock first, always: the loader calls this holding it (a slot to fill)
        with loader.llvm_lock, _lock:
            if _functions is None:
                funcs = False
                if supported():
                    try:
                        funcs = _load_or_compile()
                    except Exception:  # noqa: BLE001 - no LLVM, no loader: the Python pool
                        funcs = False
                if funcs:
                    _current = _new_state(parallel.num_threads())
                    funcs[1](_current)
                _functions = funcs
    return _functions[0] if _functions else None


def state() -> int | None:
    """The address of the live state block (for tests), or None."""
    return _current


def field(name: str) -> int:
    """An i32 field of the live state (STARTED, ALIVE, ...), for tests and measurements."""
    return ctypes.c_int32.from_address(_current + getattr(L, name)).value


def threads() -> int:
    """How many threads the live state splits a loop among (the caller included)."""
    return ctypes.c_int64.from_address(_current + L.THREADS).value if _current else 1


_SETTINGS = {"min_work": L.MIN_WORK, "chunks_per_thread": L.CHUNKS,
             "chunk_work": L.CHUNK_WORK, "spin_cycles": L.SPIN_CYCLES,
             "stall_cycles": L.STALL_CYCLES}


def configure(**settings: int) -> dict[str, int]:
    """Change settings of the live state (min_work, chunks_per_thread, chunk_work,
    spin_cycles, stall_cycles: for tests and measurements); returns their previous
    values."""
    old = {}
    if _current is None:
        return old
    for name, value in settings.items():
        cell = ctypes.c_int64.from_address(_current + _SETTINGS[name])
        old[name], cell.value = cell.value, int(value)
    return old


def restart(timeout: float = 5.0) -> bool:
    """Retire the live state (its workers leave) and start a fresh one for
    parallel.num_threads() threads; False if a job kept it busy past `timeout`."""
    global _current
    if not _functions:
        return True
    with _lock:
        old = _current
        if not _retire(old, timeout):
            return False
        _current = _new_state(parallel.num_threads())
        _functions[1](_current)
    return True


def _retire(base: int | None, timeout: float) -> bool:
    """Stop the workers of state `base` and wait (up to `timeout`) until they left."""
    if base is None:
        return True
    deadline = time.monotonic() + timeout
    while not _functions[2](base):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0005)
    while ctypes.c_int32.from_address(base + L.ALIVE).value and time.monotonic() < deadline:
        time.sleep(0.0005)
    return True


def _at_exit() -> None:
    """Workers stop before the interpreter goes (a bounded wait: never a hang at exit)."""
    if _functions and _current is not None:
        _functions[1](None)
        _retire(_current, 1.0)


def _after_fork_in_child() -> None:
    """The child has one thread: no workers, no job, nobody holding the pool."""
    global _lock
    _lock = threading.Lock()
    if _current is not None:
        ctypes.memset(_current, 0, L.DYNAMIC_BYTES)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
sharedlib.SLOT_PROVIDERS[sharedlib.PARALLEL_FOR] = lambda: address() or parallel.ADDRESS
