"""`Tensor`: a numpy buffer (or, while tracing, only a type) plus its place on the tape.

A tensor that requires grad has an IR value: its instruction when an operation
produced it, or a parameter when it is a leaf.  Operations themselves live in
tracer/ops.py and are attached as methods there (with `device`), as
tracer/engine.py attaches `backward`: those modules import this one, never the
reverse.  This file holds the state and the autograd-facing attributes.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir.core import Instr, Param, TensorType, Value
from ..ir import primitives as P
from . import tape
from .errors import at, user_loc
from .grad_mode import is_grad_enabled
from .sizes import Size
from .tape import AccumulateGrad, GradFn, concrete_error


class Tensor:
    __slots__ = ("_data", "_type", "_requires_grad", "_grad_fn", "_value", "_version",
                 "_grad", "_accum", "_retains_grad", "_hooks", "_base", "_zeroed",
                 "__weakref__")

    # ------------------------------------------------------------ construction

    @classmethod
    def _make(cls, data: np.ndarray, type: TensorType, requires_grad: bool = False,
              grad_fn: GradFn | None = None, value: Value | None = None) -> "Tensor":
        t = cls.__new__(cls)
        t._data = data
        t._type = type
        t._requires_grad = requires_grad
        t._grad_fn = grad_fn
        t._value = value
        t._version = [0]
        t._grad = None
        t._accum = None
        t._retains_grad = False
        t._hooks = None
        t._base = None  # the tensor whose buffer this view shares (ops_shape._shared_view)
        return t

    @classmethod
    def _from_array(cls, data: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """Wrap an array (no copy) whose dtype is one of the four IR dtypes."""
        dt = dtypes.from_numpy(data.dtype)
        if data.dtype != dt.np:
            data = data.astype(dt.np)
        t = cls._make(data, TensorType(dt, tuple(data.shape)))
        if requires_grad:
            t.requires_grad_(True)
        return t

    @classmethod
    def _abstract(cls, value: Value) -> "Tensor":
        """A traced tensor: a type and an IR value, no data."""
        return cls._make(None, value.type, value=value)

    # ------------------------------------------------------------ the tape

    def _graph_value(self) -> Value:
        """This tensor's IR value on the eager tape (a parameter for leaves and inputs)."""
        if self._value is None:
            self._value = Param(self._type)
        return self._value

    def _trace_value(self) -> Value:
        """This tensor's IR value in a function being traced (data becomes a constant)."""
        if self._data is None:
            return self._value
        return Instr(P.constant, (), {"value": np.array(self._data)}, self._type)

    def _accumulator(self) -> AccumulateGrad | None:
        if not (self._requires_grad and self._grad_fn is None):
            return None
        if self._accum is None:
            self._accum = AccumulateGrad(self, self._graph_value())
        return self._accum

    def _check_concrete(self, what: str) -> np.ndarray:
        if self._data is None:
            raise concrete_error(what)
        return self._data

    # ------------------------------------------------------------ attributes

    @property
    def shape(self) -> tuple:
        return Size(self._type.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return self.shape
        return self._type.shape[_wrap_dim(dim, self._type.ndim)]

    def dim(self) -> int:
        return self._type.ndim

    @property
    def ndim(self) -> int:
        return self._type.ndim

    def numel(self) -> int:
        return self._type.size

    @property
    def dtype(self):
        return self._type.dtype

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want "
                    "to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")
            return self
        if requires_grad and not self._type.dtype.is_float:
            raise RuntimeError("only Tensors of floating point dtype can require gradients"
                               + at(user_loc()))
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value._type.shape != self._type.shape:
                raise RuntimeError(f"assigned grad has data of a different size: "
                                   f"{list(value.shape)} vs {list(self.shape)}")
        self._grad = value

    @property
    def data(self) -> "Tensor":
        """The same storage, detached, with its own version counter: writes are not tracked."""
        return Tensor._make(self._check_concrete("Tensor.data"), self._type)

    @data.setter
    def data(self, other: "Tensor") -> None:
        self._data = other._data
        self._type = other._type

    def detach(self) -> "Tensor":
        t = Tensor._make(self._data, self._type) if self._data is not None else \
            Tensor._abstract(self._trace_stop_gradient())
        t._version = self._version
        return t

    def _trace_stop_gradient(self) -> Value:
        return Instr(P.stop_gradient, (self._value,), {}, self._type)

    def detach_(self) -> "Tensor":
        self._grad_fn = None
        self._value = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is not None:
            import weakref
            fn = self._grad_fn
            if fn.retained is None:
                fn.retained = {}
            fn.retained[id(self._value)] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad and self._grad_fn is not None

    def register_hook(self, hook):
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            fn = self._grad_fn
            if fn.hooks is None:
                fn.hooks = {}
            hooks = fn.hooks.setdefault(id(self._value), [])
            hooks.append(hook)
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
            hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    # ------------------------------------------------------------ conversions

    def numpy(self) -> np.ndarray:
        if self._requires_grad and is_grad_enabled() and self._grad_fn is not None or \
                self._requires_grad and self._grad_fn is None:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._check_concrete("Tensor.numpy()")

    def __array__(self, dtype=None, copy=None):
        a = self._check_concrete("np.asarray(tensor)")
        return a if dtype is None else a.astype(dtype)

    def item(self):
        a = self._check_concrete("Tensor.item()")
        if a.size != 1:
            raise RuntimeError(f"a Tensor with {a.size} elements cannot be converted to Scalar")
        return a.item()  # any array of one element

    def tolist(self):
        return self._check_concrete("Tensor.tolist()").tolist()

    def __bool__(self) -> bool:
        a = self._check_concrete("bool(tensor) (for example `if tensor:`)")
        if a.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(a.reshape(()))

    def __float__(self) -> float:
        self._check_concrete("float(tensor)")
        return float(self.item())

    def __int__(self) -> int:
        self._check_concrete("int(tensor)")
        return int(self.item())

    def __index__(self) -> int:
        if self._type.dtype not in (dtypes.i64, dtypes.bool_):
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if self._type.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._type.shape[0]

    def __iter__(self):
        if self._type.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._type.shape[0]))

    def __hash__(self) -> int:
        return id(self)


tape.Tensor = Tensor  # see tape.Tensor


class _RemovableHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n
