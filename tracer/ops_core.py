"""Helpers every operation uses: turning arguments into tensors, dtype promotion,
broadcasting with PyTorch's error message, and summing to a shape."""
from __future__ import annotations

import numbers

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from ..ir.core import Instr, TensorType
from ..ir.primitives import ShapeError
from .errors import at, user_loc
from .tape import _tracing, bind
from .tensor import Tensor


def is_scalar(x) -> bool:
    return isinstance(x, (numbers.Number, np.number, np.bool_)) and not isinstance(x, Tensor)


def scalar_dtype(x) -> dtypes.DType:
    if isinstance(x, (bool, np.bool_)):
        return dtypes.bool_
    if isinstance(x, (numbers.Integral, np.integer)):
        return dtypes.i64
    return dtypes.f32


def result_dtype(*args) -> dtypes.DType:
    """PyTorch's promotion: tensors decide within a category; scalars only lift the category."""
    order = (dtypes.bool_, dtypes.i64, dtypes.f32, dtypes.f64)
    tensor_dt = None
    scalar_dt = None
    for a in args:
        if isinstance(a, Tensor):
            dt = a.dtype
            if a.ndim == 0 and any(isinstance(b, Tensor) and b.ndim > 0 for b in args):
                # 0-d tensors act like scalars next to dimensioned tensors
                scalar_dt = dt if scalar_dt is None else dtypes.promote(scalar_dt, dt)
                continue
            tensor_dt = dt if tensor_dt is None else dtypes.promote(tensor_dt, dt)
        elif a is not None:
            dt = scalar_dtype(a)
            scalar_dt = dt if scalar_dt is None else dtypes.promote(scalar_dt, dt)
    if tensor_dt is None:
        return scalar_dt
    if scalar_dt is None:
        return tensor_dt
    cat = lambda d: 0 if d is dtypes.bool_ else 1 if d is dtypes.i64 else 2
    if cat(scalar_dt) > cat(tensor_dt):
        return dtypes.f32 if cat(scalar_dt) == 2 and scalar_dt is dtypes.f32 else scalar_dt
    return tensor_dt


def full(value, dtype: dtypes.DType, shape=()) -> Tensor:
    from ..ir.builder import coerce_scalar
    return bind(P.full, type=TensorType(dtype, tuple(shape)), value=coerce_scalar(value, dtype))


def scalar_constant(value, dtype: dtypes.DType, shape: tuple) -> Tensor:
    """A Python number as an operand: on the tape it is a `full` instruction (so the IR
    says `x + 2.0`, not a parameter), and eagerly a read-only broadcast view (no copy)."""
    from ..ir.builder import coerce_scalar
    t = TensorType(dtype, tuple(shape))
    attrs = {"value": coerce_scalar(value, dtype)}
    if _tracing():
        return bind(P.full, type=t, **attrs)
    data = np.broadcast_to(np.array(attrs["value"], dtype.np), t.shape)
    return Tensor._make(data, t, value=Instr(P.full, (), attrs, t))


def convert(x: Tensor, dtype: dtypes.DType) -> Tensor:
    return x if x.dtype is dtype else bind(P.convert, x, dtype=dtype)


def broadcast_shapes(op: str, *shapes: tuple) -> tuple:
    """numpy's broadcast of `shapes`, or PyTorch's message naming the op, shapes and line."""
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out = []
    for i, dims in enumerate(zip(*padded)):
        big = [d for d in dims if d != 1]
        if any(d != big[0] for d in big):
            a, b = big[0], next(d for d in big if d != big[0])
            raise RuntimeError(
                f"{op}: the size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {i}; shapes "
                f"{' and '.join(str(list(s)) for s in shapes)} do not broadcast"
                f"{at(user_loc())}")
        out.append(big[0] if big else 1)
    return tuple(out)


def broadcast_to(x: Tensor, shape: tuple) -> Tensor:
    return x if x.shape == tuple(shape) else bind(P.broadcast, x, shape=tuple(shape))


def operands(op: str, *args, dtype: dtypes.DType | None = None) -> list[Tensor]:
    """Tensors of one dtype and one (broadcast) shape, ready for an elementwise primitive."""
    dt = dtype or result_dtype(*args)
    shapes = [a.shape for a in args if isinstance(a, Tensor)]
    shape = broadcast_shapes(op, *shapes) if len(shapes) > 1 else (shapes[0] if shapes else ())
    return [cast_to(a, dt, shape) for a in args]


def cast_to(x, dtype: dtypes.DType, shape: tuple) -> Tensor:
    """A tensor or Python scalar as a tensor of `dtype` broadcast to `shape`."""
    if isinstance(x, Tensor):
        return broadcast_to(convert(x, dtype), shape)
    return scalar_constant(x, dtype, shape)


def sum_to_shape(x: Tensor, shape: tuple) -> Tensor:
    """Undo a broadcast: sum the axes that broadcasting added or stretched."""
    if x.shape == tuple(shape):
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1)
    s = bind(P.reduce_sum, x, axes=axes) if axes else x
    return bind(P.reshape, s, shape=tuple(shape)) if s.shape != tuple(shape) else s
