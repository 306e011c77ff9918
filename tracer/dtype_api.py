"""PyTorch's dtype surface: finfo/iinfo, promote_types/result_type/can_cast, the
conversion methods (`.int()`, `.half()`, `.type()`, ...), and the legacy typed
constructors (`torch.FloatTensor([...])`, `torch.Tensor(2, 3)`).

The dtypes themselves are the IR's (ir/dtypes.py); promotion is ops_core's; tracer/ops.py
attaches CONVERSION_METHODS to Tensor with the other methods.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..ir import dtypes
from . import creation
from .ops_core import get_default_dtype, result_dtype
from .ops_shape import to_dtype
from .tensor import Tensor, register_legacy_constructor

# ---------------------------------------------------------------- finfo / iinfo


class finfo:
    """Machine limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, type=None):
        dt = get_default_dtype() if type is None else type
        if not isinstance(dt, dtypes.DType) or not dt.is_float:
            raise TypeError(f"torch.finfo() requires a floating point input type, got {dt!r}")
        info = np.finfo(dt.np)
        self.bits = dt.itemsize * 8
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = dt.torch_name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer (or bool) dtype."""

    def __init__(self, type):
        if not isinstance(type, dtypes.DType) or type.is_float:
            raise TypeError(f"torch.iinfo() requires an integer input type, got {type!r}")
        info = np.iinfo(np.uint8 if type is dtypes.bool_ else type.np)
        self.bits = type.itemsize * 8
        self.min, self.max = (0, 1) if type is dtypes.bool_ else (int(info.min), int(info.max))
        self.dtype = type.torch_name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


# ---------------------------------------------------------------- promotion


def _dtype_arg(name: str, d) -> dtypes.DType:
    if not isinstance(d, dtypes.DType):
        raise TypeError(f"{name}(): argument must be torch.dtype, not {type(d).__name__}")
    return d


def promote_types(type1, type2) -> dtypes.DType:
    return dtypes.promote(_dtype_arg("promote_types", type1), _dtype_arg("promote_types", type2))


def result_type(tensor1, tensor2) -> dtypes.DType:
    """The dtype `tensor1 + tensor2` would have (tensors or Python numbers)."""
    return result_dtype(tensor1, tensor2)


def can_cast(from_, to) -> bool:
    """PyTorch's casting rule: no cast down a category (float to integer, non-bool to bool);
    within a category any width is allowed."""
    a, b = _dtype_arg("can_cast", from_), _dtype_arg("can_cast", to)
    return dtypes.category(a) <= dtypes.category(b)


# ---------------------------------------------------------------- conversions

#: 'torch.FloatTensor' -> float32, ...: what `.type()` returns and accepts
TENSOR_TYPE_NAMES = {f"torch.{d.scalar_name}Tensor": d for d in dtypes.ALL}


def type_method(self: Tensor, dtype=None, non_blocking=False, **kwargs):
    """`t.type()` is the legacy type name ('torch.FloatTensor'); `t.type(dtype)` converts
    (a dtype, or one of those names)."""
    if dtype is None:
        return f"torch.{self.dtype.scalar_name}Tensor"
    if isinstance(dtype, str):
        if dtype not in TENSOR_TYPE_NAMES:
            raise ValueError(f"invalid type: {dtype!r}")
        dtype = TENSOR_TYPE_NAMES[dtype]
    elif isinstance(dtype, builtins.type) and issubclass(dtype, _LegacyTensor):
        dtype = dtype._dtype
    return to_dtype(self, creation.as_dtype(dtype))


def _converter(dt: dtypes.DType):
    def method(self: Tensor, memory_format=None) -> Tensor:
        return to_dtype(self, dt)
    method.__name__ = dt.scalar_name.lower()
    method.__doc__ = f"This tensor as {dt} (itself when it is one already)."
    return method


CONVERSION_METHODS = {
    "float": _converter(dtypes.f32), "double": _converter(dtypes.f64),
    "half": _converter(dtypes.f16), "long": _converter(dtypes.i64),
    "int": _converter(dtypes.i32), "short": _converter(dtypes.i16),
    "char": _converter(dtypes.i8), "byte": _converter(dtypes.u8),
    "bool": _converter(dtypes.bool_), "type": type_method,
    "is_floating_point": lambda self: self.dtype.is_float,
    "element_size": lambda self: self.dtype.itemsize,
}

# ---------------------------------------------------------------- legacy constructors


def legacy_new(dtype: dtypes.DType | None, args: tuple, kwargs: dict) -> Tensor:
    """`torch.Tensor(data)` copies data (a tensor's values too) into the dtype;
    `torch.Tensor(*sizes)` makes an (zero-filled) tensor of that size; no arguments,
    an empty one.  `torch.Tensor` uses the default dtype."""
    dt = dtype or get_default_dtype()
    device = kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"{_legacy_name(dt)}(): unexpected keyword arguments {sorted(kwargs)}")
    if len(args) == 1 and not isinstance(args[0], (builtins.int, np.integer)):
        data = args[0]
        if isinstance(data, Tensor):
            return to_dtype(data.detach(), dt)
        return creation.tensor(data, dtype=dt, device=device)
    if not args:
        return creation.empty(0, dtype=dt, device=device)
    if not _is_size(args):
        raise TypeError(f"{_legacy_name(dt)}(): expected data or a size of ints, got {args!r}")
    return creation.zeros(*args, dtype=dt, device=device)


def _is_size(args) -> bool:
    return all(isinstance(a, (builtins.int, np.integer)) and not isinstance(a, builtins.bool)
               for a in args)


def _legacy_name(dt: dtypes.DType) -> str:
    return f"torch.{dt.scalar_name}Tensor"


class _LegacyMeta(builtins.type):
    def __instancecheck__(cls, obj) -> bool:  # isinstance(t, torch.FloatTensor)
        return isinstance(obj, Tensor) and obj.dtype is cls._dtype

    def __call__(cls, *args, **kwargs):
        return legacy_new(cls._dtype, args, kwargs)


class _LegacyTensor(metaclass=_LegacyMeta):
    _dtype: dtypes.DType


def _legacy_class(dt: dtypes.DType):
    return _LegacyMeta(f"{dt.scalar_name}Tensor", (_LegacyTensor,),
                       {"_dtype": dt, "__doc__": f"{_legacy_name(dt)}(data) or (*sizes)"})


LEGACY_CONSTRUCTORS = {f"{d.scalar_name}Tensor": _legacy_class(d) for d in dtypes.ALL}
(BoolTensor, ByteTensor, CharTensor, ShortTensor, IntTensor, LongTensor, HalfTensor,
 FloatTensor, DoubleTensor) = LEGACY_CONSTRUCTORS.values()


register_legacy_constructor(lambda *args, **kwargs: legacy_new(None, args, kwargs))
