"""`torch.autograd.profiler`: profile, record_function, emit_nvtx, emit_itt.

A profile times each call of tapegrad's operations while it is on: the Tensor
methods and operators, the `torch.*` and `torch.nn.functional` functions, backward
and autograd.grad, and optimizer steps, each event named as PyTorch's profiler names
it where tapegrad has the operation (`x * y` is `aten::mul`, `F.linear` is
`aten::linear`, `opt.step()` is `Optimizer.step#SGD.step`); backward is one event,
`autograd::backward` (tapegrad runs the whole adjoint as one call, not node by node).
Nothing is wrapped while no profile is on (tracer/profiler_record.py).
"""
from __future__ import annotations

import contextlib
import inspect
import types

from ..tracer.profiler_events import EventList, FunctionEvent, FunctionEventAvg  # noqa: F401
from ..tracer.profiler_record import Patches, Recorder, state
from ..tracer.tensor import Tensor

#: Tensor methods that are not operations (PyTorch records no event for them)
_NOT_OPS = {"backward", "cpu", "cuda", "dim", "element_size", "is_contiguous",
            "is_floating_point", "numel", "numpy", "register_hook",
            "register_post_accumulate_grad_hook", "requires_grad_", "retain_grad", "size",
            "storage_offset", "stride", "tolist", "type"}
_CONVERSIONS = {"float", "double", "half", "int", "long", "bool", "byte", "char", "short"}
_OPERATORS = {"__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub",
              "__rsub__": "rsub", "__isub__": "sub_", "__mul__": "mul", "__rmul__": "mul",
              "__imul__": "mul_", "__truediv__": "div", "__rtruediv__": "div",
              "__itruediv__": "div_", "__floordiv__": "floor_divide",
              "__rfloordiv__": "floor_divide", "__mod__": "remainder", "__rmod__": "remainder",
              "__imod__": "remainder_", "__pow__": "pow", "__rpow__": "pow",
              "__matmul__": "matmul", "__rmatmul__": "matmul", "__neg__": "neg",
              "__abs__": "abs", "__invert__": "bitwise_not", "__and__": "bitwise_and",
              "__or__": "bitwise_or", "__xor__": "bitwise_xor", "__eq__": "eq", "__ne__": "ne",
              "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge",
              "__setitem__": "index_put_"}
_FUNCTIONAL_NAMES = {"cross_entropy": "cross_entropy_loss"}
_CREATION = {"tensor", "ones", "zeros", "full", "empty", "arange", "linspace", "eye", "randn",
             "rand", "randint", "randperm", "ones_like", "zeros_like", "full_like",
             "empty_like", "randn_like", "rand_like", "cat", "stack", "concat", "concatenate",
             "hstack", "vstack", "where", "einsum", "from_numpy"}


def _index_name(args) -> str:
    """PyTorch records x[i] as aten::select, x[a:b] as aten::slice, the rest as aten::index."""
    key = args[1] if len(args) > 1 else None
    if isinstance(key, int):
        return "aten::select"
    if isinstance(key, slice):
        return "aten::slice"
    return "aten::index"


def _optimizer_name(kind: str):
    return lambda args: f"Optimizer.{kind}#{type(args[0]).__name__}.{kind}"


#: where the profiled functions live: tapegrad/__init__.py registers its namespaces
#: once it has imported them (this module sits below the package that holds them)
_namespaces: dict = {}


def register_namespaces(**modules) -> None:
    """torch=, functional=, optimizer= (the Optimizer class), autograd=."""
    _namespaces.update(modules)


def _targets() -> list:
    """(owner, attribute, event name) for everything a profile times."""
    tapegrad, F = _namespaces["torch"], _namespaces["functional"]
    Optimizer, autograd = _namespaces["optimizer"], _namespaces["autograd"]
    methods = set()
    out = []
    for name, value in vars(Tensor).items():
        if name.startswith("_") or name in _NOT_OPS or not callable(value) or \
                isinstance(value, (property, staticmethod, classmethod)):
            continue
        methods.add(name)
        out.append((Tensor, name, "aten::to" if name in _CONVERSIONS else f"aten::{name}"))
    for name, op in _OPERATORS.items():
        if name in vars(Tensor):
            out.append((Tensor, name, f"aten::{op}"))
    out.append((Tensor, "__getitem__", _index_name))
    out.append((Tensor, "backward", "autograd::backward"))
    for name, value in vars(tapegrad).items():
        if (name in methods or name in _CREATION) and isinstance(
                value, (types.FunctionType, types.BuiltinFunctionType)):
            out.append((tapegrad, name, f"aten::{name}"))
    for name, value in vars(F).items():
        if not name.startswith("_") and inspect.isfunction(value):
            out.append((F, name, f"aten::{_FUNCTIONAL_NAMES.get(name, name)}"))
    out += [(autograd, "backward", "autograd::backward"), (autograd, "grad", "autograd::grad")]
    classes, todo = [], [Optimizer]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo.extend(cls.__subclasses__())
    for cls in classes:
        for kind in ("step", "zero_grad"):
            if kind in vars(cls):
                out.append((cls, kind, _optimizer_name(kind)))
    return out


class profile:
    """Times tapegrad's operations in the block; key_averages(), table(),
    export_chrome_trace() as PyTorch's.  `use_cuda`, `use_device`, `with_stack`,
    `profile_memory`, `with_flops`, ... are accepted (CPU times only)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None):
        self.enabled, self.record_shapes = enabled, record_shapes
        self.use_device = "cuda" if use_cuda else use_device
        self.function_events: EventList | None = None
        self.entered = False
        self._recorder: Recorder | None = None
        self._patches: Patches | None = None

    def _start(self) -> None:
        if state.recorder is not None:
            raise RuntimeError("Profiler is already enabled on this thread")
        self._recorder = Recorder(self.record_shapes)
        self._patches = Patches(_targets())
        state.recorder = self._recorder

    def _stop(self) -> EventList:
        state.recorder = None
        self._patches.restore()
        self.function_events = self._recorder.events()
        return self.function_events

    def __enter__(self):
        if not self.enabled:
            return None  # as PyTorch's
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop()
        return False

    def _check_finish(self) -> None:
        if self.function_events is None:
            if self._recorder is not None:  # still on
                raise RuntimeError("Profiler didn't finish running")
            self.function_events = EventList()  # never ran: no events, as PyTorch

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False) -> EventList:
        self._check_finish()
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n,
                                                 group_by_overload_name)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False) -> str:
        self._check_finish()
        return self.function_events.table(sort_by=sort_by, row_limit=row_limit,
                                          max_name_column_width=max_name_column_width,
                                          max_shapes_column_width=max_shapes_column_width,
                                          header=header,
                                          top_level_events_only=top_level_events_only)

    def export_chrome_trace(self, path) -> None:
        self._check_finish()
        self.function_events.export_chrome_trace(path)

    def events(self) -> EventList:
        self._check_finish()
        return self.function_events

    def total_average(self):
        self._check_finish()
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        self._check_finish()
        return self.function_events.self_cpu_time_total

    def __str__(self) -> str:
        self._check_finish()
        return self.function_events.table()


class record_function(contextlib.ContextDecorator):
    """A named block (or decorated function) shown as one event, as PyTorch's; outside a
    profile it does nothing."""

    def __init__(self, name: str, args: str | None = None):
        self.name, self.args = name, args
        self._spans: list = []

    def __enter__(self):
        rec = state.recorder
        self._spans.append((rec, rec.open(self.name, user=True)) if rec is not None else None)
        return self

    def __exit__(self, *exc):
        entry = self._spans.pop() if self._spans else None
        if entry is not None:
            entry[0].close(entry[1])
        return False


class emit_nvtx(contextlib.nullcontext):
    """NVTX ranges for NVIDIA's tools: there is no CUDA here, so nothing is emitted."""

    def __init__(self, enabled=True, record_shapes=False):
        super().__init__(self)


class emit_itt(contextlib.nullcontext):
    """ITT ranges for Intel VTune: not emitted by tapegrad (a no-op, as with ITT off)."""

    def __init__(self, enabled=True, record_shapes=False):
        super().__init__(self)


__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt", "EventList",
           "FunctionEvent", "FunctionEventAvg"]
