"""Element types of the IR: PyTorch's nine real dtypes, each tied to one numpy dtype.

The IR spells them f16, f32, f64, i8, i16, i32, i64, u8 and bool.  Integer
arithmetic wraps around (two's complement, as PyTorch's CPU kernels); f16
computes each operation in float32 and rounds the result to float16.
"""
from __future__ import annotations

import numpy as np


class DType:
    """An IR element type. Instances are singletons, so `is` compares them."""

    __slots__ = ("name", "np", "is_float", "is_signed", "itemsize", "torch_name", "rank",
                 "scalar_name")

    def __init__(self, name: str, np_dtype, torch_name: str, rank: int, scalar_name: str):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_float = self.np.kind == "f"
        #: two's complement integers and floats; False for u8 and bool
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self.torch_name = torch_name
        #: position in `ALL`, which lists the dtypes in PyTorch's promotion order
        self.rank = rank
        #: PyTorch's ScalarType name (`Float`, `Long`, ...): its messages and `FloatTensor`
        self.scalar_name = scalar_name

    def __repr__(self) -> str:
        # PyTorch's spelling, so `print(x.dtype)` in a tutorial prints what it shows;
        # the IR text uses `name` (f32, f64, ...)
        return f"torch.{self.torch_name}"

    __str__ = __repr__

    @property
    def is_floating_point(self) -> bool:
        return self.is_float

    @property
    def is_complex(self) -> bool:
        return False

    def __reduce__(self):
        return (by_name, (self.name,))


bool_ = DType("bool", np.bool_, "bool", 0, "Bool")
u8 = DType("u8", np.uint8, "uint8", 1, "Byte")
i8 = DType("i8", np.int8, "int8", 2, "Char")
i16 = DType("i16", np.int16, "int16", 3, "Short")
i32 = DType("i32", np.int32, "int32", 4, "Int")
i64 = DType("i64", np.int64, "int64", 5, "Long")
f16 = DType("f16", np.float16, "float16", 6, "Half")
f32 = DType("f32", np.float32, "float32", 7, "Float")
f64 = DType("f64", np.float64, "float64", 8, "Double")

#: every dtype, in the order PyTorch's promotion table grows along
ALL = (bool_, u8, i8, i16, i32, i64, f16, f32, f64)
INTEGERS = (u8, i8, i16, i32, i64)
FLOATS = (f16, f32, f64)
_BY_NAME = {d.name: d for d in ALL}
#: the IR spellings of the dtypes (f16, ..., bool)
NAMES = frozenset(_BY_NAME)
_BY_NP = {d.np: d for d in ALL}


def by_name(name: str) -> DType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {sorted(_BY_NAME)}") from None


def from_numpy(np_dtype) -> DType:
    """The IR dtype for a numpy dtype; other float/int kinds (uint16, uint32, long
    double, byte-swapped) map to the nearest one that holds all their values."""
    d = np.dtype(np_dtype)
    got = _BY_NP.get(d)
    if got is not None:
        return got
    if d.kind == "f":
        return f64 if d.itemsize > 4 else f32 if d.itemsize > 2 else f16
    if d.kind == "u" and d.itemsize >= 8:  # values from 2**63 would wrap to negatives
        raise TypeError(f"unsupported dtype {d}: its values do not all fit int64; convert "
                        "explicitly (e.g. .astype(np.int64) or np.float64)")
    if d.kind == "u":  # uint16/uint32: the next wider signed type holds every value
        return i32 if d.itemsize == 2 else i64
    if d.kind == "i":
        return {1: i8, 2: i16, 4: i32}.get(d.itemsize, i64)
    raise TypeError(f"unsupported dtype {d}: tapegrad supports "
                    f"{', '.join(t.torch_name for t in ALL)}")


def category(d: DType) -> int:
    """0 bool, 1 integer, 2 floating: a scalar changes a tensor's dtype only from a
    higher category."""
    return 2 if d.is_float else 0 if d is bool_ else 1


def promote(a: DType, b: DType) -> DType:
    """Result dtype of a binary operation between two tensors (PyTorch's promote_types):
    the wider of the two, except that uint8 with a signed integer needs the next signed
    type holding both (int16 for int8, else the signed one)."""
    if a is b:
        return a
    if a is u8 or b is u8:
        other = b if a is u8 else a
        if other is i8:
            return i16
    return a if a.rank >= b.rank else b


def holds(d: DType, value: int) -> bool:
    """Whether the integer `value` is one of integer (or bool) dtype `d`'s values."""
    if d is bool_:
        return value in (0, 1)
    info = np.iinfo(d.np)
    return info.min <= value <= info.max
