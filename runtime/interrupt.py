"""Ctrl-C inside a long native loop: the check generated code calls, and its flag.

A native `while_loop` (codegen/regions.py) calls `tapegrad_interrupt_pending`
through a slot every 2^16 iterations.  CPython's own C signal handler only notes a
SIGINT; the Python handler (raising KeyboardInterrupt) runs when Python code
runs.  So the check runs Python's pending handlers (PyErr_CheckSignals, in the
main thread); if one raised KeyboardInterrupt, the flag stays set, every loop of
the call stops at its next check, and the entry point returns the status
INTERRUPTED, which runtime/native_call.py turns back into KeyboardInterrupt.
"""
from __future__ import annotations

import ctypes
import threading

#: the status an entry point returns when a loop stopped for Ctrl-C (codegen/regions.py
#: repeats it; it cannot import the runtime)
INTERRUPTED = -1

_flag = threading.Event()
_check_signals = ctypes.pythonapi.PyErr_CheckSignals
_check_signals.restype = ctypes.c_int
_check_signals.argtypes = []


def _pending() -> int:
    """1 when a KeyboardInterrupt is pending (and then until `take` clears it)."""
    if not _flag.is_set():
        try:
            _check_signals()
        except KeyboardInterrupt:
            _flag.set()
    return 1 if _flag.is_set() else 0


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int64)(_pending)
#: the address generated code calls (a slot: runtime/sharedlib.slot_addresses)
ADDRESS = ctypes.cast(_CALLBACK, ctypes.c_void_p).value


def take() -> KeyboardInterrupt:
    """The KeyboardInterrupt for an INTERRUPTED status; clears the flag."""
    _flag.clear()
    return KeyboardInterrupt("interrupted inside a native loop")
