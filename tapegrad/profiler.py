"""`torch.profiler`: the same recorder as torch.autograd.profiler (tapegrad/autograd/
profiler.py) behind PyTorch's newer API: `profile(activities=..., schedule=...,
on_trace_ready=...)` with `start`/`stop`/`step`, `schedule`, `ProfilerActivity`,
`ProfilerAction`, `record_function` and `tensorboard_trace_handler` (Chrome trace files).
Only CPU activity exists; asking for CUDA is accepted and records CPU events.
"""
from __future__ import annotations

import enum
import os
import socket
import time
import warnings

from .autograd import profiler as _autograd_profiler
from .autograd.profiler import record_function  # noqa: F401
from .tracer.profiler_record import state


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    return {ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """step -> ProfilerAction, cycling wait, warmup, active steps (`repeat` cycles, 0 for
    ever) after `skip_first` steps (the first cycle's wait skipped too with
    `skip_first_wait`); the last active step of a cycle saves."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), "
                             f"warmup={warmup} (need >= 0), active={active} (need > 0), "
                             f"repeat={repeat} (need >= 0), skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)
    cycle = wait + warmup + active

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step = step - skip_first + (wait if skip_first_wait else 0)
        if repeat > 0 and step >= repeat * cycle:
            return ProfilerAction.NONE
        mod = step % cycle
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class profile(_autograd_profiler.profile):
    """torch.profiler.profile: records during the schedule's active steps; each cycle's
    last active step hands the profiler to `on_trace_ready`."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None):
        super().__init__(record_shapes=record_shapes, use_cuda=bool(use_cuda))
        self.activities = set(activities) if activities else supported_activities()
        self.schedule = schedule or _always_record
        self.marks_steps = schedule is not None  # PyTorch's ProfilerStep* events
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._step_block = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self) -> None:
        self._transit(self.schedule(self.step_num))

    def stop(self) -> None:
        if self._recorder is not None and state.recorder is self._recorder:
            self._finish(save=self.current_action in _RECORDING)
        self.current_action = ProfilerAction.NONE

    def step(self) -> None:
        self.step_num += 1
        self._transit(self.schedule(self.step_num))

    def _transit(self, action: ProfilerAction) -> None:
        previous, self.current_action = self.current_action, action
        recording = self._recorder is not None and state.recorder is self._recorder
        if recording and (previous is ProfilerAction.RECORD_AND_SAVE or action not in _RECORDING):
            self._finish(save=previous is ProfilerAction.RECORD_AND_SAVE)
            recording = False
        if action in _RECORDING:
            if not recording:
                self._start()
            self._open_step()

    def _open_step(self) -> None:
        self._close_step()
        if self.marks_steps:
            self._step_block = record_function("ProfilerStep*")
            self._step_block.__enter__()

    def _close_step(self) -> None:
        if self._step_block is not None:
            self._step_block.__exit__(None, None, None)
            self._step_block = None

    def _finish(self, save: bool) -> None:
        self._close_step()
        self._stop()
        if save and self.on_trace_ready is not None:
            self.on_trace_ready(self)


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False):
    """on_trace_ready that writes each trace as `<worker>.<ms>.pt.trace.json` in dir_name."""
    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{worker}.{time.time_ns()}.pt.trace.json")
        prof.export_chrome_trace(path)
    return handler


__all__ = ["profile", "record_function", "schedule", "ProfilerActivity", "ProfilerAction",
           "supported_activities", "tensorboard_trace_handler"]
