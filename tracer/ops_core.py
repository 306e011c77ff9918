"""Helpers every operation uses: turning arguments into tensors, dtype promotion,
broadcasting with PyTorch's error message, and summing to a shape."""
from __future__ import annotations

import numbers

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from ..ir.builder import coerce_scalar
from ..ir.core import TensorType
from ..ir.primitives import ShapeError
from .errors import at, user_loc
from .tape import _tls, _tracing, bind, new_instr
from .tensor import Tensor


#: Python's own number types, checked by `type(x) in` before the slower ABC checks;
#: a float's entry is the default dtype (set_default_dtype changes it)
_PLAIN_SCALARS = {float: dtypes.f32, int: dtypes.i64, bool: dtypes.bool_}
_category = dtypes.category


def get_default_dtype() -> dtypes.DType:
    """The dtype Python floats and float factories (ones, rand, ...) get: float32 unless
    set_default_dtype changed it."""
    return _PLAIN_SCALARS[float]


def set_default_dtype(d) -> None:
    """PyTorch's set_default_dtype: float32 or float64 (float16 works, as in PyTorch)."""
    if not isinstance(d, dtypes.DType) or not d.is_float:
        raise TypeError(f"only floating-point types are supported as the default type, "
                        f"got {d!r}")
    _PLAIN_SCALARS[float] = d


def is_scalar(x) -> bool:
    if type(x) in _PLAIN_SCALARS:
        return True
    return isinstance(x, (numbers.Number, np.number, np.bool_)) and not isinstance(x, Tensor)


def scalar_dtype(x) -> dtypes.DType:
    """The dtype PyTorch wraps a Python number in: bool, int64, or the default float."""
    dt = _PLAIN_SCALARS.get(type(x))
    if dt is not None:
        return dt
    if isinstance(x, (bool, np.bool_)):
        return dtypes.bool_
    if isinstance(x, (numbers.Integral, np.integer)):
        return dtypes.i64
    return _PLAIN_SCALARS[float]


def _combine_categories(higher, lower):
    """PyTorch's rule for a lower-priority group (0-d tensors, then Python numbers):
    it changes the result only when its category is higher."""
    if higher is None:
        return lower
    if lower is None or higher.is_float:
        return higher
    if higher is dtypes.bool_ or lower.is_float:
        return dtypes.promote(higher, lower)
    return higher


def _promote(a, b):
    return b if a is None else a if b is None else dtypes.promote(a, b)


def result_dtype(*args) -> dtypes.DType:
    """PyTorch's result_type: tensors with dimensions decide, then 0-d tensors, then
    Python numbers, each group changing the dtype only by raising its category (bool <
    integer < floating); a Python float stands for the default dtype, an int for int64."""
    same = _common_tensor_dtype(args)
    if same is not None:
        return same
    dim = zero = wrapped = None
    for a in args:
        if isinstance(a, Tensor):
            if a._type.shape:
                dim = _promote(dim, a._type.dtype)
            else:
                zero = _promote(zero, a._type.dtype)
        elif a is not None:
            wrapped = _promote(wrapped, scalar_dtype(a))
    out = _combine_categories(dim, _combine_categories(zero, wrapped))
    if out is None:
        raise TypeError("result_type: needs at least one tensor or number")
    return out


def in_float32(x: Tensor, compute) -> Tensor:
    """compute(x) for a float16 x in float32, rounded to float16 once at the end: what
    PyTorch's CPU kernels do for reductions such as mean and softmax (a float16 sum
    of in-range values may overflow, their float32 mean not).  Other dtypes: compute(x)."""
    if x._type.dtype is not dtypes.f16:
        return compute(x)
    return convert(compute(convert(x, dtypes.f32)), dtypes.f16)


def wrap_integer(value, dtype: dtypes.DType):
    """An integer scalar as `dtype` holds it: wrapped around, as PyTorch casts a Python
    int into a narrower tensor (uint8 - 1 subtracts 255 + 1)."""
    if dtype.is_float or dtype is dtypes.bool_ or isinstance(value, (bool, np.bool_)) \
            or not isinstance(value, (int, np.integer)):
        return value
    bits = dtype.itemsize * 8
    v = int(value) & ((1 << bits) - 1)
    return v - (1 << bits) if dtype.is_signed and v >> (bits - 1) else v


def _common_tensor_dtype(args) -> dtypes.DType | None:
    """The dtype when every argument is a tensor of that one dtype (the common case:
    promotion has nothing to do), else None."""
    dt = None
    for a in args:
        if not isinstance(a, Tensor):
            return None
        if dt is None:
            dt = a._type.dtype
        elif a._type.dtype is not dt:
            return None
    return dt


def filled_tensor(value, dtype: dtypes.DType, shape=()) -> Tensor:
    """A new tensor of `shape` holding `value` everywhere: one `full` instruction, with an
    array of its own (scalar_constant's operands share a read-only view instead).  Not
    PyTorch's `full(size, fill_value)`, which creation.py builds on this.  An integer
    value wraps to the dtype's width, as PyTorch casts it."""
    return bind(P.full, type=TensorType(dtype, tuple(shape)),
                value=coerce_scalar(wrap_integer(value, dtype), dtype))


#: (dtype, shape, value's exact text) -> (type, read-only array, attributes) of eager scalar
#: operands: `x + 1` in a loop makes the same constant every step.  The arrays are
#: broadcast views (no memory of their own) and read-only, so sharing them is safe; the
#: one attribute dict lets backward_plan find the constant's key without recomputing it.
_CONSTANTS: dict[tuple, tuple[TensorType, np.ndarray, dict]] = {}
_MAX_CONSTANTS = 512
#: (class, value, dtype, shape) -> the same entries, for values that are their own key
_BY_VALUE: dict[tuple, tuple[TensorType, np.ndarray, dict]] = {}
_HASHABLE_NUMBERS = frozenset([float, int, bool, np.float32, np.float64, np.int64])


def scalar_constant(value, dtype: dtypes.DType, shape: tuple) -> Tensor:
    """A Python number as an operand: on the tape it is a `full` instruction (so the IR
    says `x + 2.0`, not a parameter), and eagerly a read-only broadcast view (no copy)."""
    shape = tuple(shape)
    if not dtype.is_float and value.__class__ is not bool:
        value = wrap_integer(value, dtype)
    if _tls.trace_depth > 0:  # _tracing(), inlined
        return bind(P.full, type=TensorType(dtype, shape), value=coerce_scalar(value, dtype))
    # constant_entry's lookup by value, inlined for the common hit: zeros and NaN are
    # never stored by value, so they miss here and constant_entry finds them by text
    entry = _BY_VALUE.get((value.__class__, value, dtype, shape)) \
        if value.__class__ in _HASHABLE_NUMBERS else None
    t, data, attrs = entry if entry is not None else constant_entry(value, dtype, shape)
    return Tensor._make(data, t, value=new_instr(P.full, (), attrs, t, None))


def constant_entry(value, dtype: dtypes.DType, shape: tuple) -> tuple:
    """(type, read-only broadcast array, attributes) of the eager constant `value` (see
    scalar_constant; an operation that records nothing needs only the array)."""
    # A value that is neither zero (0.0 and -0.0 are equal, of equal hash) nor NaN (unequal
    # to itself) is found by itself and its class, without coercing and printing it
    by_value = (value.__class__, value, dtype, shape) \
        if value.__class__ in _HASHABLE_NUMBERS and value and value == value else None
    entry = _BY_VALUE.get(by_value) if by_value is not None else None
    if entry is None:
        attrs = {"value": coerce_scalar(wrap_integer(value, dtype), dtype)}
        # repr tells -0.0 from 0.0 (which == and hash do not)
        key = (dtype, shape, repr(attrs["value"]))
        entry = _CONSTANTS.get(key)
        if entry is None:
            t = TensorType(dtype, shape)
            entry = (t, np.broadcast_to(np.array(attrs["value"], dtype.np), t.shape), attrs)
            if len(_CONSTANTS) >= _MAX_CONSTANTS:
                _CONSTANTS.clear()
                _BY_VALUE.clear()
            _CONSTANTS[key] = entry
        if by_value is not None:
            if len(_BY_VALUE) >= _MAX_CONSTANTS:
                _BY_VALUE.clear()
            _BY_VALUE[by_value] = entry
    return entry


_TYPES: dict[tuple, TensorType] = {}


def tensor_type(dtype: dtypes.DType, shape: tuple) -> TensorType:
    """TensorType(dtype, shape), one object per type (they are immutable): the fast paths
    make the same result types every step, and the dataclass checks every dimension."""
    t = _TYPES.get((dtype, shape))
    if t is None:
        if len(_TYPES) >= 1024:
            _TYPES.clear()
        t = _TYPES[(dtype, shape)] = TensorType(dtype, shape)
    return t


def convert(x: Tensor, dtype: dtypes.DType) -> Tensor:
    return x if x._type.dtype is dtype else bind(P.convert, x, dtype=dtype)


def broadcast_shapes(op: str, *shapes: tuple) -> tuple:
    """numpy's broadcast of `shapes`, or PyTorch's message naming the op, shapes and line."""
    first = tuple(shapes[0])
    if all(s == first for s in shapes):
        return first
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
    shape = tuple(shape)
    return x if x._type.shape == shape else bind(P.broadcast, x, shape=shape)


def operands(op: str, *args, dtype: dtypes.DType | None = None) -> list[Tensor]:
    """Tensors of one dtype and one (broadcast) shape, ready for an elementwise primitive."""
    dt = dtype or result_dtype(*args)
    shapes = [a._type.shape for a in args if isinstance(a, Tensor)]
    shape = broadcast_shapes(op, *shapes) if len(shapes) > 1 else (shapes[0] if shapes else ())
    return [cast_to(a, dt, shape) for a in args]


def cast_to(x, dtype: dtypes.DType, shape: tuple) -> Tensor:
    """A tensor or Python scalar as a tensor of `dtype` broadcast to `shape`."""
    if isinstance(x, Tensor):
        if x._type.dtype is dtype and x._type.shape == shape:
            return x
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
