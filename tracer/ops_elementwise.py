"""Elementwise operations: math functions, arithmetic, comparisons, where and clamp.

Each public function is one PyTorch operation: it groups the primitives it
binds under one `grad_node` carrying PyTorch's grad_fn name.  Binary operations
promote dtypes and broadcast through `operands`, so the primitives always see
equal types.  The `inputs` given to `grad_node` are the operation's
differentiable arguments (PyTorch's `next_functions`).
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from ..runtime.interpreter import eval_prim
from .errors import allocation_error, user_loc
from .dual_state import state as _duals
from .grad_mode import _state as _grad_state
from .grad_mode import is_grad_enabled
from .ops_core import (broadcast_shapes, cast_to, constant_entry, convert, filled_tensor,
                       get_default_dtype, is_scalar, operands, result_dtype, scalar_constant,
                       scalar_dtype, tensor_type)
from .eager_direct import relu as _direct_relu
from .tape import _tracing, bind, bind_op, bind_typed, grad_node
from .tensor import Tensor

#: scalar operands that never change a float tensor's dtype (PyTorch's promotion: a
#: scalar only lifts the category, and float is the top one); bool is not among them
_PLAIN_NUMBERS = frozenset([float, int, np.float32, np.float64, np.int64])


def as_tensor(x) -> Tensor:
    """A Python scalar as a 0-d tensor of its natural dtype; tensors pass through."""
    if isinstance(x, Tensor):
        return x
    if is_scalar(x):
        return filled_tensor(x, scalar_dtype(x))
    raise TypeError(f"expected a Tensor or a number, got {type(x).__name__}")


def to_float(x: Tensor) -> Tensor:
    """Integer and bool tensors become the default float dtype (float32) for
    floating-point functions, as in PyTorch."""
    return x if x.dtype.is_float else convert(x, get_default_dtype())


# ---------------------------------------------------------------- unary


def _float_unary(prim, grad_name: str):
    """exp, log, ...: defined on floats; integer inputs are promoted to float32."""
    def op(input):
        if type(input) is Tensor and input._type.dtype.is_float:  # the shape rule's own type
            return bind_op(grad_name, (input,), prim, (input,), {}, input._type)
        x = as_tensor(input)
        with grad_node(grad_name, x):
            return bind(prim, to_float(x))
    return op


exp = _float_unary(P.exp, "ExpBackward0")
log = _float_unary(P.log, "LogBackward0")
log1p = _float_unary(P.log1p, "Log1PBackward0")
sqrt = _float_unary(P.sqrt, "SqrtBackward0")
sin = _float_unary(P.sin, "SinBackward0")
cos = _float_unary(P.cos, "CosBackward0")
tanh = _float_unary(P.tanh, "TanhBackward0")
sigmoid = _float_unary(P.logistic, "SigmoidBackward0")


def neg(input):
    x = as_tensor(input)
    if x.dtype is dtypes.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")
    with grad_node("NegBackward0", x):
        return bind(P.neg, x)


def abs(input):
    x = as_tensor(input)
    if x.dtype is dtypes.bool_:
        raise RuntimeError("abs: not implemented for 'Bool'")
    with grad_node("AbsBackward0", x):
        return bind(P.abs, x)


def sign(input):
    """-1, 0 or 1; PyTorch's sign of NaN is 0 (the sign primitive keeps NaN, as numpy)."""
    x = as_tensor(input)
    with grad_node("SignBackward0", x):
        s = bind(P.sign, x)
        if not x.dtype.is_float:
            return s
        return bind(P.select, bind(P.ne, x, x), scalar_constant(0, x.dtype, x.shape), s)


def relu(input):
    """max(x, 0): the max primitive propagates NaN, as PyTorch's relu does."""
    if isinstance(input, Tensor):  # a float tensor: recorded directly (eager_direct)
        out = _direct_relu(input)
        if out is not None:
            return out
    x = as_tensor(input)
    with grad_node("ReluBackward0", x):
        return bind(P.max, x, scalar_constant(0, x.dtype, x.shape))


def reciprocal(input):
    x = as_tensor(input)
    with grad_node("ReciprocalBackward0", x):
        x = to_float(x)
        return bind(P.div, scalar_constant(1.0, x.dtype, x.shape), x)


# ---------------------------------------------------------------- binary


_F16 = dtypes.f16


def _half_by_number(prim, grad_name: str, input, other) -> Tensor | None:
    """A float16 tensor times (or divided by) a Python number as PyTorch's CPU kernels
    compute it: in float32 with the number as a float32 (not first rounded to float16),
    the product rounded once.  None for other operands."""
    x, number = (input, other) if isinstance(input, Tensor) else (other, input)
    if not isinstance(x, Tensor) or x._type.dtype is not dtypes.f16 or \
            isinstance(number, Tensor) or not is_scalar(number):
        return None
    with grad_node(grad_name, input, other):
        wide = convert(x, dtypes.f32)
        c = scalar_constant(number, dtypes.f32, wide.shape)
        return convert(bind(prim, *((wide, c) if x is input else (c, wide))), dtypes.f16)


def _binary(prim, grad_name: str, op_name: str, true_division: bool = False):
    opmath_scalar = prim is P.mul or prim is P.div

    def op(input, other):
        if opmath_scalar and input.__class__ is not other.__class__ and (
                (input.__class__ is Tensor and input._type.dtype is _F16)
                or (other.__class__ is Tensor and other._type.dtype is _F16)):
            out = _half_by_number(prim, grad_name, input, other)
            if out is not None:
                return out
        if other.__class__ in _PLAIN_NUMBERS and type(input) is Tensor and \
                not (input._requires_grad and _grad_state.enabled):  # else it records
            out = _unrecorded_with_number(prim, input, other)
            if out is not None:
                return out
        fast = _float_operands(input, other)
        if fast is not None:
            return bind_op(grad_name, (input, other), prim, fast, {}, input._type)
        with grad_node(grad_name, input, other):
            dt = result_dtype(input, other)
            if true_division and not dt.is_float:
                dt = get_default_dtype()
            if dt is dtypes.bool_:  # bool + bool is `or`, bool * bool is `and`: via int64
                out = bind(prim, *operands(op_name, input, other, dtype=dtypes.i64))
                return convert(out, dtypes.bool_)
            return bind(prim, *operands(op_name, input, other, dtype=dt))
    return op


def _float_operands(input, other) -> tuple | None:
    """The operands of a binary primitive when neither promotion nor broadcasting has
    anything to do (what `operands` gives then): a float tensor and a tensor of its
    type, or a float tensor and a plain number (a constant of the tensor's type).
    None for every other case, which the general path handles."""
    if type(input) is not Tensor:
        return None
    t = input._type
    if not t.dtype.is_float:
        return None
    kind = type(other)
    if kind is Tensor:
        u = other._type
        if u is t or (u.dtype is t.dtype and u.shape == t.shape):
            return (input, other)
        return None
    if kind in _PLAIN_NUMBERS:
        return (input, scalar_constant(other, t.dtype, t.shape))
    return None


def _unrecorded_with_number(prim, input: Tensor, number) -> Tensor | None:
    """`input op number` when nothing records it (grad mode off or no grad needed: the
    SGD step's `lr * w.grad`): the interpreter's rule on input's array and the cached
    constant's, without the constant's tensor and instruction.  None when it would be
    recorded or traced, or input is not a concrete float tensor: the general path."""
    data = input._data
    t = input._type
    if data is None or not t.dtype.is_float or _tracing() or _duals.active or \
            (input._requires_grad and is_grad_enabled()):
        return None
    constant = constant_entry(number, t.dtype, t.shape)[1]
    try:
        return Tensor._make(eval_prim(prim, [data, constant], {}, t), t)
    except MemoryError:
        raise allocation_error(prim.name, [t], user_loc(2)) from None


_mul = _binary(P.mul, "MulBackward0", "mul")
_add = _binary(P.add, "AddBackward0", "add")
_sub = _binary(P.sub, "SubBackward0", "sub")
div = _binary(P.div, "DivBackward0", "div", true_division=True)
maximum = _binary(P.max, "MaximumBackward0", "maximum")
minimum = _binary(P.min, "MinimumBackward0", "minimum")
mul = _mul


def _scaled(other, alpha):
    """`alpha * other` for add/sub's `alpha=` keyword (no node of its own)."""
    if alpha == 1:
        return other
    return _mul(other, alpha) if isinstance(other, Tensor) else other * alpha


def add(input, other, *, alpha=1):
    if alpha == 1:
        return _add(input, other)
    with grad_node("AddBackward0", input, other):
        return _add(input, _scaled(other, alpha))


def sub(input, other, *, alpha=1):
    if alpha == 1 and type(input) is Tensor and input._type.dtype.is_float and \
            (type(other) is not Tensor or other._type.dtype.is_float):
        return _sub(input, other)  # no bool operand: nothing to refuse
    bools = sum(isinstance(t, Tensor) and t.dtype is dtypes.bool_ for t in (input, other))
    if bools:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead." if bools == 2 else
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha == 1:
        return _sub(input, other)
    with grad_node("SubBackward0", input, other):
        return _sub(input, _scaled(other, alpha))


def rsub(input, other):
    """`other - input` for a scalar `other` (PyTorch's RsubBackward1)."""
    with grad_node("RsubBackward1", input):
        return _sub(other, input)


def pow(input, exponent):
    """PowBackward0 for a scalar exponent, PowBackward1 for a tensor, PowBackward2 for a
    scalar base.  A tensor to a plain number is `input ** exponent`, whose common case
    eager_operators does in one frame (installed as `number_power`)."""
    if input.__class__ is Tensor and exponent.__class__ in _PLAIN_NUMBERS:
        return number_power(input, exponent)
    return power(input, exponent)


def power(input, exponent):
    """pow itself: the operators' general path."""
    fast = _float_operands(input, exponent)
    if fast is not None:
        if type(exponent) is Tensor:
            return bind_op("PowBackward1", (input, exponent), P.pow, fast, {}, input._type)
        return bind_op("PowBackward0", (input,), P.pow, fast, {}, input._type)
    if not isinstance(exponent, Tensor):
        name, inputs = "PowBackward0", (input,)
    elif not isinstance(input, Tensor):
        name, inputs = "PowBackward2", (exponent,)
    else:
        name, inputs = "PowBackward1", (input, exponent)
    with grad_node(name, *inputs):
        return bind(P.pow, *operands("pow", input, exponent))


number_power = power  # until eager_operators installs Tensor.__pow__'s one frame


def rdiv(input, other):
    """`other / input` for a scalar `other`: PyTorch computes reciprocal(input) * other."""
    return _mul(reciprocal(input), other)


# ---------------------------------------------------------------- comparisons


def _compare(prim, op_name: str):
    """Comparisons promote like arithmetic and give bool tensors, never recorded."""
    def op(input, other):
        return bind(prim, *operands(op_name, input, other))
    return op


eq = _compare(P.eq, "eq")
ne = _compare(P.ne, "ne")
lt = _compare(P.lt, "lt")
le = _compare(P.le, "le")
gt = _compare(P.gt, "gt")
ge = _compare(P.ge, "ge")


# ---------------------------------------------------------------- select-based


def where(condition, input, other):
    """`input` where `condition` holds, else `other`; all three broadcast together."""
    if not isinstance(condition, Tensor) or condition.dtype is not dtypes.bool_:
        raise RuntimeError("where expected condition to be a boolean tensor")
    with grad_node("WhereBackward0", input, other):
        dt = result_dtype(input, other)
        shape = broadcast_shapes("where", *(t.shape for t in (condition, input, other)
                                            if isinstance(t, Tensor)))
        return bind(P.select, cast_to(condition, dtypes.bool_, shape),
                    cast_to(input, dt, shape), cast_to(other, dt, shape))


def clamp(input, min=None, max=None):
    """x limited to [min, max]; NaN stays NaN (ClampBackward1, or 0 with tensor bounds)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if type(input) is Tensor and input._type.dtype.is_float and \
            (min is None or type(min) in _PLAIN_NUMBERS) and \
            (max is None or type(max) in _PLAIN_NUMBERS):
        return _clamp_by_numbers(input, min, max)
    x = as_tensor(input)
    bounds = [b for b in (min, max) if b is not None]
    inputs = (x, *(b for b in bounds if isinstance(b, Tensor)))
    name = "ClampBackward0" if len(inputs) > 1 else "ClampBackward1"
    with grad_node(name, *inputs):
        dt = result_dtype(x, *bounds)
        shape = broadcast_shapes("clamp", *(t.shape for t in (x, *bounds) if isinstance(t, Tensor)))
        out = cast_to(x, dt, shape)
        # select, not max/min: a value equal to a bound keeps its gradient (PyTorch's
        # clamp passes it; max/min split or drop it at ties), and NaN compares false
        # so it passes through. Lower bound first: when min > max the result is max.
        if min is not None:
            lo = cast_to(min, dt, shape)
            out = bind(P.select, bind(P.lt, out, lo), lo, out)
        if max is not None:
            hi = cast_to(max, dt, shape)
            out = bind(P.select, bind(P.gt, out, hi), hi, out)
        return out


def _clamp_by_numbers(x: Tensor, min, max) -> Tensor:
    """clamp of a float tensor by plain numbers (relu written `clamp(min=0)`): the same
    primitives as the general path, without promotion or broadcasting (the bounds
    are constants of x's type) and with the result types known."""
    t = x._type
    mask = tensor_type(dtypes.bool_, t.shape)
    if min is None or max is None:  # one recorded primitive (the comparison is not): bind_op
        if min is not None:
            bound = scalar_constant(min, t.dtype, t.shape)
            outside = bind_typed(P.lt, (x, bound), mask)
        else:
            bound = scalar_constant(max, t.dtype, t.shape)
            outside = bind_typed(P.gt, (x, bound), mask)
        return bind_op("ClampBackward1", (x,), P.select, (outside, bound, x), {}, t)
    with grad_node("ClampBackward1", x):
        out = x
        if min is not None:
            lo = scalar_constant(min, t.dtype, t.shape)
            out = bind_typed(P.select, (bind_typed(P.lt, (out, lo), mask), lo, out), t)
        if max is not None:
            hi = scalar_constant(max, t.dtype, t.shape)
            out = bind_typed(P.select, (bind_typed(P.gt, (out, hi), mask), hi, out), t)
        return out


clip = clamp
