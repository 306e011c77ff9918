"""Grad mode: whether operations are recorded on the tape.  Thread-local, as in PyTorch.

Every mode object is a context manager and a decorator.  Used as a decorator it
enters a fresh copy of itself around each call, and around each resumption of a
generator, so the mode never leaks into the caller (PyTorch's contract).
"""
from __future__ import annotations

import functools
import inspect
import threading


class _GradState(threading.local):
    """Per-thread grad mode.  The class attribute is every thread's default, so reading it
    before a thread set it raises no AttributeError inside getattr (formatting that
    error's message was a tenth of an eager operation's cost)."""

    enabled = True
    inference = False


_state = _GradState()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def is_inference_mode_enabled() -> bool:
    return getattr(_state, "inference", False)


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


def _wrap_generator(make_context, gen_fn):
    """A generator function whose body runs inside a fresh context at every resumption,
    and whose caller never sees the mode between `yield`s."""

    @functools.wraps(gen_fn)
    def wrapper(*args, **kwargs):
        with make_context():
            gen = gen_fn(*args, **kwargs)
            response = gen.send(None)
        try:
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_context():
                        gen.close()
                    raise
                except BaseException as exc:
                    with make_context():
                        response = gen.throw(exc)
                else:
                    with make_context():
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value
    return wrapper


class _GradModeContext:
    """Base of the modes: a context manager, and a decorator of functions and generators."""

    mode: bool = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.mode)
        return None

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def clone(self):
        return self.__class__()

    def __call__(self, fn):
        if inspect.isclass(fn):
            raise NotImplementedError(f"{type(self).__name__} as a class decorator: decorate "
                                      "the methods instead (see docs/torch-coverage.md)")
        make = self.clone
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(make, fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with make():
                return fn(*args, **kwargs)
        return wrapper


class _NoParamMode(_GradModeContext):
    """no_grad / enable_grad: `@no_grad` without parentheses works too, as in PyTorch."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamMode):
    """Operations inside are not recorded; their results are leaves."""
    mode = False


class enable_grad(_NoParamMode):
    mode = True


class set_grad_enabled(_GradModeContext):
    """`set_grad_enabled(False)` works as a call, a context manager and a decorator.

    As a call it sets the mode at once; as a decorator that setting is undone as soon
    as the decorator is applied, and the mode holds only inside the decorated function.
    """

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set(self.mode)

    def __call__(self, fn):
        _set(self._prev)  # the decorator use: the call's setting is undone
        return super().__call__(fn)

    def __enter__(self):
        _set(self.mode)
        return None

    def clone(self):
        return self.__class__(self.mode)

    def __repr__(self) -> str:
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self.mode})"


class inference_mode(_GradModeContext):
    """Inference mode: grad mode off (tapegrad has no view tracking or version counters to
    skip, so it records nothing, like no_grad).  `inference_mode(False)` turns grad mode
    on inside, as PyTorch's does."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # @inference_mode without parentheses

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = is_grad_enabled()
        self._prev_inference = is_inference_mode_enabled()
        _set(not self.mode)  # PyTorch's guard: inference_mode(False) turns grad mode on
        _state.inference = self.mode
        return None

    def __exit__(self, *exc):
        _set(self._prev)
        _state.inference = self._prev_inference
        return False

    def clone(self):
        return self.__class__(self.mode)


class set_multithreading_enabled(_GradModeContext):
    """Accepted for PyTorch programs: backward always runs on the calling thread here, so
    the mode changes nothing (PyTorch's affects device threads only)."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False

    def clone(self):
        return self.__class__(self.mode)
