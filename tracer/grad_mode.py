"""Grad mode: whether operations are recorded on the tape.  Thread-local, as in PyTorch."""
from __future__ import annotations

import functools
import threading

class _GradState(threading.local):
    """Per-thread grad mode.  The class attribute is every thread's default, so reading it
    before a thread set it raises no AttributeError inside getattr (formatting that
    error's message was a tenth of an eager operation's cost)."""

    enabled = True


_state = _GradState()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradModeContext:
    """Base of no_grad / enable_grad / set_grad_enabled: a context manager and decorator."""

    mode: bool = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)
        return wrapper


class no_grad(_GradModeContext):
    """Operations inside are not recorded; their results are leaves."""
    mode = False


class enable_grad(_GradModeContext):
    mode = True


class set_grad_enabled(_GradModeContext):
    """`set_grad_enabled(False)` works as a call, a context manager and a decorator."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set(self.mode)  # PyTorch applies the mode at construction too

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False
