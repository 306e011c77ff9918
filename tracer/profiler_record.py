"""Recording a profile: the active recorder, the spans it times, and the wrappers that
time operations while (and only while) a profile is on.

Profiling off costs nothing on any operation: no wrapper exists then.  Entering a
profile replaces the profiled callables (Tensor methods, module functions: the
targets the public profiler lists) by wrappers that time each call as an event;
leaving it puts the originals back.  A `record_function` block outside a profile
reads one attribute.  A call nested in another of the same name (`torch.mul`
calling `Tensor.mul`) is one event.
"""
from __future__ import annotations

import functools
import threading
import time

from .profiler_events import EventList, FunctionEvent
from .tensor import Tensor


class _Local(threading.local):
    stack: list | None = None


class Recorder:
    """The events of one profile, as (name, start, end, shapes, parent) spans."""

    def __init__(self, record_shapes: bool):
        self.record_shapes = record_shapes
        self.spans: list[list] = []  # [name, start_ns, end_ns, shapes, parent, thread, user]
        self.local = _Local()
        self.origin = time.perf_counter_ns()

    def open(self, name: str, args=(), user: bool = False) -> list:
        stack = self.local.stack
        if stack is None:
            stack = self.local.stack = []
        parent = stack[-1] if stack else None
        shapes = _shapes(args) if self.record_shapes and not user else []
        span = [name, time.perf_counter_ns(), None, shapes, parent, threading.get_ident(), user]
        stack.append(span)
        return span

    def close(self, span: list) -> None:
        span[2] = time.perf_counter_ns()
        stack = self.local.stack
        if stack and stack[-1] is span:
            stack.pop()
        self.spans.append(span)

    def call(self, name: str, fn, args, kwargs):
        stack = self.local.stack
        if stack and stack[-1][0] == name:  # torch.mul -> Tensor.mul: one event
            return fn(*args, **kwargs)
        span = self.open(name, args)
        try:
            return fn(*args, **kwargs)
        finally:
            self.close(span)

    def events(self) -> EventList:
        """The finished spans as FunctionEvents, by start time, parents linked."""
        spans = sorted((s for s in self.spans if s[2] is not None), key=lambda s: s[1])
        made: dict[int, FunctionEvent] = {}
        out = EventList()
        for k, (name, start, end, shapes, parent, thread, user) in enumerate(spans):
            e = FunctionEvent(k, name, thread, (start - self.origin) / 1e3,
                              (end - self.origin) / 1e3, shapes, is_user_annotation=user)
            made[id(spans[k])] = e
            p = made.get(id(parent)) if parent is not None else None
            if p is not None:
                e.cpu_parent = p
                p.cpu_children.append(e)
            out.append(e)
        return out


class _State:
    recorder: Recorder | None = None


state = _State()


def _shapes(args) -> list:
    """PyTorch's "Input Shapes": a tensor's shape, [] for anything else."""
    return [list(a.shape) if isinstance(a, Tensor) else [] for a in args]


def timed(fn, name):
    """fn, timed as event `name` (a string, or a function of the arguments giving one)."""
    naming = name if callable(name) else None

    @functools.wraps(fn)
    def profiled(*args, **kwargs):
        rec = state.recorder
        if rec is None:
            return fn(*args, **kwargs)
        return rec.call(naming(args) if naming else name, fn, args, kwargs)
    return profiled


class Patches:
    """Targets (owner, attribute, event name) replaced by timed wrappers, and put back."""

    def __init__(self, targets):
        self.saved = []
        for owner, attr, name in targets:
            original = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr)
            if original is None or isinstance(original, (staticmethod, classmethod, property)):
                continue
            self.saved.append((owner, attr, original))
            setattr(owner, attr, timed(original, name))

    def restore(self) -> None:
        for owner, attr, original in reversed(self.saved):
            setattr(owner, attr, original)
        self.saved = []
