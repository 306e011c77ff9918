"""Creating tensors: from Python data and numpy arrays, constants, ranges, random numbers.

Constant-valued tensors (ones, zeros, full) go through the `full` primitive, so
inside a traced function they are IR instructions, not captured arrays.
Random tensors are in random_ops (PyTorch's generator and distributions).
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..ir import dtypes
from ..ir.core import TensorType
from ..ir.primitives import MAX_BYTES
from .errors import at, user_loc
from .grad_mode import is_grad_enabled
from .ops_core import filled_tensor, tensor_type
from .ops_core import get_default_dtype, set_default_dtype  # noqa: F401  (tg.*, random_ops)
from .tape import _tls
from .out_argument import write_into
from .tensor import Tensor

# ---------------------------------------------------------------- dtypes and devices

_PY_TYPES = {builtins.float: dtypes.f64, builtins.int: dtypes.i64, builtins.bool: dtypes.bool_}


def as_dtype(dtype, default: dtypes.DType | None = None) -> dtypes.DType | None:
    """A tapegrad dtype from a dtype, a Python type (`float` means float64, as in PyTorch)
    or anything numpy understands."""
    if dtype is None:
        return default
    if isinstance(dtype, dtypes.DType):
        return dtype
    if dtype in _PY_TYPES:
        return _PY_TYPES[dtype]
    try:
        return dtypes.from_numpy(np.dtype(dtype))
    except TypeError as e:
        raise TypeError(f"unsupported dtype {dtype!r}: {e}") from None


class device:
    """`tg.device('cpu')`: the only device tapegrad runs on."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type)
        if name.split(":")[0] != "cpu":
            raise RuntimeError(f"tapegrad runs on the CPU only; device {name!r} is not "
                               "available (use 'cpu')")
        self.type, self.index = "cpu", index

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __str__(self) -> str:
        return "cpu"

    def __eq__(self, other) -> bool:
        return isinstance(other, (device, str)) and str(other).split(":")[0] == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")


def check_device(dev) -> None:
    if dev is not None:
        device(dev)


# ---------------------------------------------------------------- helpers


def size_of(size) -> tuple[int, ...]:
    """`*ints` or one sequence, checked to be non-negative integers."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for d in size:
        if isinstance(d, (builtins.bool, np.bool_)) or not isinstance(d, (builtins.int, np.integer)):
            raise TypeError(f"size must be a sequence of ints, got {type(d).__name__} in "
                            f"{tuple(size)}")
        if d < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {d}: "
                               f"{list(size)}")
    size = tuple(builtins.int(d) for d in size)
    if math.prod(size) * 8 > MAX_BYTES:  # 8: the widest dtype
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)}")
    return size


def _finish(t: Tensor, requires_grad: bool, dev=None) -> Tensor:
    check_device(dev)
    if requires_grad and not t.dtype.is_float:  # PyTorch's factory message differs from
        raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                           "gradients" + at(user_loc()))  # requires_grad_()'s
    if requires_grad:
        t.requires_grad_(True)
    return t


def _filled(value, size, dtype, requires_grad, dev) -> Tensor:
    dt = as_dtype(dtype, get_default_dtype())
    if value.__class__ is builtins.int and (value == 0 or value == 1) and dt.is_float and \
            not _tls.trace_depth:
        shape = _plain_size(size)
        if shape is not None:  # ones/zeros: bind(P.full)'s eager result, without its steps
            return _finish(Tensor._make(np.full(shape, value, dt.np), tensor_type(dt, shape)),
                           requires_grad, dev)
    return _finish(filled_tensor(value, dt, size_of(size)), requires_grad, dev)


def _plain_size(size) -> tuple[int, ...] | None:
    """size_of's result for non-negative Python ints of a size it accepts, else None."""
    if len(size) == 1 and size[0].__class__ in (tuple, list):
        size = size[0]
    for d in size:
        if d.__class__ is not builtins.int or d < 0:
            return None
    size = tuple(size)
    return size if math.prod(size) * 8 <= MAX_BYTES else None


# ---------------------------------------------------------------- from data


def _has_typed_leaf(data) -> bool:
    """Whether nested data holds numpy values or tensors (whose dtypes then count)."""
    if isinstance(data, (Tensor, np.ndarray, np.generic)):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_typed_leaf(d) for d in data)
    return False


def _to_numpy(data):
    if isinstance(data, Tensor):
        return data._check_concrete("tg.tensor(traced tensor)")
    if isinstance(data, (list, tuple)):
        return [_to_numpy(d) for d in data]
    return data


def _contains_abstract(data) -> bool:
    if isinstance(data, Tensor):
        return data._data is None
    return isinstance(data, (list, tuple)) and any(_contains_abstract(d) for d in data)


_F32_SCALAR = TensorType(dtypes.f32, ())


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of `data` (Python floats become float32)."""
    if data.__class__ is float and dtype is None and device is None and \
            get_default_dtype() is dtypes.f32:
        # what the general path below gives a Python float: a float32 0-d array
        return _finish(Tensor._make(np.array(data, np.float32), _F32_SCALAR), requires_grad)
    if data.__class__ is list and dtype is None and device is None and data and \
            all(e.__class__ is float for e in data) and get_default_dtype() is dtypes.f32:
        # a list of Python floats (seed 002's tensor([3.])): the general path's float32 copy
        arr = np.array(data, np.float32)
        return _finish(Tensor._make(arr, tensor_type(dtypes.f32, arr.shape)), requires_grad)
    check_device(device)
    if _contains_abstract(data):  # a list of traced tensors: stack them
        from .ops_shape import stack
        t = stack([d if isinstance(d, Tensor) else tensor(d) for d in data]) \
            if isinstance(data, (list, tuple)) else data
        t = t.detach()
        return t if dtype is None else t.to(as_dtype(dtype))
    arr = np.array(_to_numpy(data))
    if arr.dtype.kind == "f" and dtype is None and not _has_typed_leaf(data):
        arr = arr.astype(get_default_dtype().np)  # dtype=float64 keeps Python's doubles
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise TypeError(f"tg.tensor: cannot make a tensor from {type(data).__name__} data "
                        f"(numpy infers {arr.dtype})")
    dt = as_dtype(dtype, dtypes.from_numpy(arr.dtype))
    arr = np.array(arr, dtype=dt.np, order="C")
    return _finish(Tensor._make(arr, TensorType(dt, arr.shape)), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype) is data.dtype):
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (writes through either are seen by both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dt = dtypes.from_numpy(array.dtype)
    if array.dtype != dt.np:
        raise TypeError(f"can't share memory with a numpy array of dtype {array.dtype}: "
                        "tapegrad tensors are "
                        f"{', '.join(d.torch_name for d in dtypes.ALL)}; convert with "
                        "tg.tensor(array) (a copy)")
    return Tensor._make(array, TensorType(dt, array.shape))


# ---------------------------------------------------------------- constants


def _into_out(api: str, out, dtype, requires_grad, dev, make) -> Tensor:
    """PyTorch's `out=` of a factory: the dtype defaults to out's and must equal it, out
    is resized without a warning (unlike other operations' out=) and filled in place, and
    while grad mode records, an out that requires grad is an error.  The view case of
    PyTorch (a view resized within its base's memory stays a view) is not followed: a
    resized out owns new memory.  make(dtype) builds
    the values."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{api}(): argument 'out' must be Tensor, not {type(out).__name__}")
    check_device(dev)
    dt = as_dtype(dtype)
    if dt is not None and dt != out.dtype:
        raise RuntimeError(f"dtype {dt.scalar_name} does not match dtype of out parameter "
                           f"({out.dtype.scalar_name})" + at(user_loc()))
    if is_grad_enabled() and out._requires_grad:
        raise RuntimeError(f"aten::{api}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad."
                           + at(user_loc()))
    write_into(out, make(out.dtype))
    if not requires_grad and out.is_leaf:  # out takes the factory's requires_grad, as in
        out.requires_grad_(False)  # PyTorch (which also clears it)
    return _finish(out, requires_grad)


def ones(*size, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    if out is not None:
        return _into_out("ones", out, dtype, requires_grad, device,
                         lambda dt: _filled(1, size, dt, False, None))
    return _filled(1, size, dtype, requires_grad, device)


def zeros(*size, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    if out is not None:
        return _into_out("zeros", out, dtype, requires_grad, device,
                         lambda dt: _filled(0, size, dt, False, None))
    return _filled(0, size, dtype, requires_grad, device)


def empty(*size, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Like PyTorch's empty, but the memory is zeroed (numpy has no cheaper safe choice)."""
    if out is not None:
        return _into_out("empty", out, dtype, requires_grad, device,
                         lambda dt: _filled(0, size, dt, False, None))
    return _filled(0, size, dtype, requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad=False, *,
         out=None) -> Tensor:
    """The dtype follows `fill_value` (bool, int64 or float32) unless given."""
    if out is not None:
        return _into_out("full", out, dtype, requires_grad, device,
                         lambda dt: full(size, fill_value, dtype=dt))
    if dtype is None:
        from .ops_core import scalar_dtype
        dtype = scalar_dtype(fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled(fill_value, (size,) if isinstance(size, builtins.int) else (tuple(size),),
                   dtype, requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False, *, out=None) -> Tensor:
    if out is not None:
        return _into_out("eye", out, dtype, requires_grad, device, lambda dt: eye(n, m, dtype=dt))
    dt = as_dtype(dtype, get_default_dtype())
    a = np.eye(n, n if m is None else m, dtype=dt.np)
    return _finish(Tensor._make(a, TensorType(dt, a.shape)), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False, *,
           out=None) -> Tensor:
    """int64 when start, end and step are all integers, else float32."""
    if out is not None:
        return _into_out("arange", out, dtype, requires_grad, device,
                         lambda dt: arange(start, end, step, dtype=dt))
    if end is None:
        start, end = 0, start
    bounds = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    is_int = all(isinstance(v, (builtins.int, np.integer)) for v in bounds)
    dt = as_dtype(dtype, dtypes.i64 if is_int else get_default_dtype())
    start, end, step = bounds
    n = math.ceil((end - start) / step)
    if n < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    a = (start + np.arange(n, dtype=np.float64 if not is_int else np.int64) * step).astype(dt.np)
    return _finish(Tensor._make(a, TensorType(dt, a.shape)), requires_grad, device)


def linspace(start, end, steps, *, out=None, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """`steps` evenly spaced values from start to end, computed in float64 and then cast
    (integer dtypes truncate toward zero, as PyTorch's do)."""
    if out is not None:
        return _into_out("linspace", out, dtype, requires_grad, device,
                         lambda dt: linspace(start, end, steps, dtype=dt))
    return _finish(_spaced(start, end, steps, dtype, "linspace"), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    if out is not None:
        return _into_out("logspace", out, dtype, requires_grad, device,
                         lambda dt: logspace(start, end, steps, base, dtype=dt))
    exps = _spaced(start, end, steps, dtypes.f64, "logspace")._data
    dt = as_dtype(dtype, get_default_dtype())
    a = np.power(np.float64(base), exps)
    a = (np.trunc(a) if not dt.is_float else a).astype(dt.np)
    return _finish(Tensor._make(a, TensorType(dt, a.shape)), requires_grad, device)


def _spaced(start, end, steps, dtype, name: str) -> Tensor:
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    if isinstance(steps, Tensor):
        steps = steps.item()
    if steps < 0:
        raise RuntimeError(f"{name}(): number of steps must be non-negative")
    dt = as_dtype(dtype, get_default_dtype())
    if steps == 1:
        a = np.array([start], np.float64)
    else:
        # PyTorch's kernel: the first half counts up from start, the second down from end
        # in the output's float type (float64 for integer outputs), as PyTorch's kernel
        ct = np.dtype(dt.np).type if dt.is_float else np.float64
        lo, hi = ct(start), ct(end)
        step = (hi - lo) / ct(max(steps - 1, 1))
        i = np.arange(steps, dtype=ct)
        half = steps // 2
        a = np.where(i < half, lo + step * i, hi - step * (ct(steps - 1) - i))
    a = (np.trunc(a) if not dt.is_float else a).astype(dt.np)
    return Tensor._make(a, TensorType(dt, a.shape))


# ---------------------------------------------------------------- default device

_DEFAULT_DEVICE = ["cpu"]


def set_default_device(dev) -> None:
    """Only the CPU exists here: None and 'cpu' are accepted, others raise."""
    if dev is not None:
        name = str(dev.type if isinstance(dev, device) else dev)
        if name.split(":")[0] != "cpu":
            raise RuntimeError(f"tg.set_default_device({name!r}): tapegrad runs on the CPU "
                               "only (see docs/torch-coverage.md)")
    _DEFAULT_DEVICE[0] = "cpu"


def get_default_device() -> device:
    return device(_DEFAULT_DEVICE[0])


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    """Shares memory with a tensor or a numpy array of a tapegrad dtype unless a copy or
    another dtype is asked for, as PyTorch's asarray does."""
    check_device(device)
    if isinstance(obj, Tensor) and (dtype is None or as_dtype(dtype) is obj.dtype) and not copy:
        return _finish(obj, requires_grad) if requires_grad else obj
    if isinstance(obj, np.ndarray) and not copy and dtype is None:
        try:
            return _finish(from_numpy(obj), requires_grad)
        except TypeError:
            pass
    if copy is False:
        raise ValueError("asarray(): copy=False but the data cannot be shared without a copy")
    if isinstance(obj, Tensor):
        from .ops_shape import clone, to_dtype
        out = to_dtype(obj.detach(), as_dtype(dtype)) if dtype is not None else obj.detach()
        return _finish(clone(out) if out is obj.detach() or copy else out, requires_grad)
    return tensor(obj, dtype=dtype, requires_grad=requires_grad)


# ---------------------------------------------------------------- *_like


def _like(make):
    def op(input: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
        return make(*input.shape, dtype=dtype or input.dtype, device=device,
                    requires_grad=requires_grad)
    return op


ones_like = _like(ones)
zeros_like = _like(zeros)
empty_like = _like(empty)


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)
