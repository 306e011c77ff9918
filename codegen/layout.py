"""How IR values sit in memory: LLVM scalar types and strided views of buffers.

Every materialised value lives in a buffer (a parameter, a result, a slot of
the scratch area, or a global constant) as a C-contiguous array.  Structural
primitives (transpose, broadcast, slice, contiguous reshape) become different
strides over the same buffer instead of copies: stride 0 is a broadcast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from llvmlite import ir

from ..ir.dtypes import DType, bool_, f16, f32, f64, i8, i16, i32, i64, u8

I1, I8, I16, I32, I64 = (ir.IntType(n) for n in (1, 8, 16, 32, 64))
PTR = ir.PointerType()
F32, HALF = ir.FloatType(), ir.HalfType()
#: float16 computes in float32 registers (each result rounded to a float16 value: see
#: Emitter.compute), as PyTorch's CPU kernels do; u8 is i8 with unsigned operations
_SCALAR = {f16: ir.FloatType(), f32: ir.FloatType(), f64: ir.DoubleType(), i8: I8, u8: I8,
           i16: I16, i32: I32, i64: I64, bool_: I1}
_STORAGE = {**_SCALAR, f16: ir.HalfType(), bool_: I8}


def scalar_type(dtype: DType) -> ir.Type:
    """The type an element has in registers (bool is i1, float16 is float)."""
    return _SCALAR[dtype]


def storage_type(dtype: DType) -> ir.Type:
    """The type an element has in memory (bool is one byte, as in numpy; half)."""
    return _STORAGE[dtype]


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True)
class Strided:
    """`shape` elements at `offset + sum(i * s)` (in elements) of buffer `storage`.

    `storage` is a hashable key: ('param', k), ('result', k), ('scratch', slot)
    or ('const', id).  All offsets and strides are compile-time integers.
    """

    storage: tuple
    dtype: DType
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int = 0

    @classmethod
    def contiguous(cls, storage: tuple, dtype: DType, shape) -> "Strided":
        shape = tuple(shape)
        return cls(storage, dtype, shape, contiguous_strides(shape))

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def is_contiguous(self) -> bool:
        """C-contiguous, ignoring the strides of size-1 dimensions."""
        want = contiguous_strides(self.shape)
        return all(d == 1 or s == w for d, s, w in zip(self.shape, self.strides, want))

    def extent(self) -> tuple[int, int]:
        """The lowest and one past the highest element index this view touches."""
        if self.size == 0:
            return self.offset, self.offset
        lo = self.offset + sum(min(0, (d - 1) * s) for d, s in zip(self.shape, self.strides))
        hi = self.offset + sum(max(0, (d - 1) * s) for d, s in zip(self.shape, self.strides))
        return lo, hi + 1
