"""Ctrl-C inside a long native loop: the check generated code calls, and its flag.

A native `while_loop` (codegen/regions.py) calls `tapegrad_interrupt_pending`
through a slot every 2^16 iterations.  CPython's C signal handler only notes a
SIGINT; Python-level handlers run when Python code next runs in the main thread,
which the check is (a ctypes callback).  While an entry point that has such loops
runs in the main thread, `guarded` puts a SIGINT handler in place that only sets
a flag (so no KeyboardInterrupt is raised inside the callback, where ctypes would
swallow it); the check then returns 1, every loop stops at its next check, the
entry point returns INTERRUPTED, and `guarded` raises KeyboardInterrupt in Python
(after calling a handler of the user's own, if one was installed).
"""
from __future__ import annotations

import ctypes
import signal
import threading

#: the status an entry point returns when a loop stopped for Ctrl-C (codegen/regions.py
#: repeats it; it cannot import the runtime)
INTERRUPTED = -1
#: generated code that calls the check names this slot (codegen.emit.INTERRUPT_PENDING)
SLOT = "tapegrad_interrupt_pending"

_flag = threading.Event()


def _pending() -> int:
    """1 when Ctrl-C was pressed during the guarded call (Python ran `_note` on entry)."""
    return 1 if _flag.is_set() else 0


def _note(signum, frame) -> None:
    _flag.set()


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int64)(_pending)
#: the address generated code calls (a slot: runtime/sharedlib.slot_addresses)
ADDRESS = ctypes.cast(_CALLBACK, ctypes.c_void_p).value


def guarded(call):
    """`call` (a native entry point) with SIGINT noted instead of raised while it runs,
    and KeyboardInterrupt raised after it when it was interrupted."""
    def run(*args):
        if threading.current_thread() is not threading.main_thread():
            return call(*args)
        previous = signal.getsignal(signal.SIGINT)
        if previous in (signal.SIG_IGN, None):
            return call(*args)
        _flag.clear()
        signal.signal(signal.SIGINT, _note)
        try:
            status = call(*args)
        finally:
            signal.signal(signal.SIGINT, previous)
        if _flag.is_set():
            _flag.clear()
            if callable(previous) and previous is not signal.default_int_handler:
                previous(signal.SIGINT, None)
            raise KeyboardInterrupt("interrupted inside a native loop")
        return status
    return run


def interruptible(llvm_ir: str) -> bool:
    """Whether an entry point's code calls the check (it has a native while_loop)."""
    return SLOT in llvm_ir
