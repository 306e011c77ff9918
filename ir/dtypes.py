"""Element types of the IR: four dtypes, each tied to one numpy dtype."""
from __future__ import annotations

import numpy as np


class DType:
    """An IR element type. Instances are singletons, so `is` compares them."""

    __slots__ = ("name", "np", "is_float", "itemsize", "torch_name")

    def __init__(self, name: str, np_dtype, is_float: bool, torch_name: str):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_float = is_float
        self.itemsize = self.np.itemsize
        self.torch_name = torch_name

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


f32 = DType("f32", np.float32, True, "float32")
f64 = DType("f64", np.float64, True, "float64")
i64 = DType("i64", np.int64, False, "int64")
bool_ = DType("bool", np.bool_, False, "bool")

ALL = (f32, f64, i64, bool_)
_BY_NAME = {d.name: d for d in ALL}
_BY_NP = {d.np: d for d in ALL}


def by_name(name: str) -> DType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {sorted(_BY_NAME)}") from None


def from_numpy(np_dtype) -> DType:
    """The IR dtype for a numpy dtype; other float/int kinds map to the nearest one."""
    d = np.dtype(np_dtype)
    if d in _BY_NP:
        return _BY_NP[d]
    if d.kind == "f":
        return f64 if d.itemsize > 4 else f32
    if d.kind == "u" and d.itemsize >= 8:  # values from 2**63 would wrap to negatives
        raise TypeError(f"unsupported dtype {d}: its values do not all fit int64; convert "
                        "explicitly (e.g. .astype(np.int64) or np.float64)")
    if d.kind in "iu":
        return i64
    raise TypeError(f"unsupported dtype {d}: tapegrad supports float32, float64, int64 and bool")


def promote(a: DType, b: DType) -> DType:
    """Result dtype of a binary operation between two tensors (PyTorch's lattice)."""
    order = (bool_, i64, f32, f64)
    return a if order.index(a) >= order.index(b) else b
