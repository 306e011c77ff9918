"""Floor division (`//`, torch.floor_divide) as PyTorch computes it.

Integers: the quotient rounded toward minus infinity, wrapping like the dtype; a
zero divisor raises PyTorch's `RuntimeError: ZeroDivisionError`, eagerly here and in
compiled code from the status record (codegen/indexing.zero_divisor_fault).  The IR
has one division, truncating for integers, so integer floor division is built from
it: the truncated quotient, less one where the remainder is non-zero and of the other
sign than the divisor.  Floats follow PyTorch's kernel (and Python's `//`): the exact
quotient (x - fmod(x, y)) / y, less one where the remainder's sign differs from the
divisor's, then floored and rounded to the nearer integer (so 1.0 // 0.1 is 9, not
floor(1.0 / 0.1) = 10); float16 computes in float32.  `//` on a float operand that
requires grad records PyTorch's `NotImplemented` node, whose backward raises;
`div(rounding_mode=)` records DivBackward2, whose gradients are zeros as PyTorch's.
"""
from __future__ import annotations

from ..ir import dtypes
from ..ir import primitives as P
from .custom_function import Function
from .errors import at, user_loc
from .grad_mode import is_grad_enabled
from .ops_core import convert, operands, result_dtype, scalar_constant
from .tape import bind, grad_node
from .tensor import Tensor


def _check_divisor(y: Tensor) -> None:
    data = y._data
    if data is not None and not y.dtype.is_float and (data == 0).any():
        raise RuntimeError("ZeroDivisionError" + at(user_loc()))


def _floor_int(x: Tensor, y: Tensor) -> Tensor:
    q = bind(P.div, x, y)
    if not x.dtype.is_signed:
        return q
    zero = scalar_constant(0, x.dtype, x.shape)
    r = bind(P.sub, x, bind(P.mul, q, y))
    other_sign = bind(P.ne, bind(P.lt, r, zero), bind(P.lt, y, zero))
    adjust = bind(P.select, bind(P.ne, r, zero), other_sign,
                  scalar_constant(False, dtypes.bool_, x.shape))
    return bind(P.select, adjust, bind(P.sub, q, scalar_constant(1, x.dtype, x.shape)), q)


def _floor_float(x: Tensor, y: Tensor) -> Tensor:
    """PyTorch's div_floor_floating (float16 through float32, rounded once)."""
    if x.dtype is dtypes.f16:
        return convert(_floor_float(convert(x, dtypes.f32), convert(y, dtypes.f32)), dtypes.f16)
    const = lambda v: scalar_constant(v, x.dtype, x.shape)  # noqa: E731
    q = bind(P.div, x, y)
    mod = bind(P.fmod, x, y)
    # a quotient that overflows keeps x itself as the dividend (the vector kernel's fixup)
    overflow = bind(P.select, bind(P.eq, bind(P.abs, q), const(float("inf"))),
                    bind(P.lt, bind(P.abs, x), const(float("inf"))), const_bool(False, x.shape))
    exact = bind(P.div, bind(P.select, overflow, x, bind(P.sub, x, mod)), y)
    other_sign = bind(P.ne, bind(P.lt, y, const(0.0)), bind(P.lt, mod, const(0.0)))
    less = bind(P.select, bind(P.ne, mod, const(0.0)), other_sign, const_bool(False, x.shape))
    exact = bind(P.select, less, bind(P.sub, exact, const(1.0)), exact)
    low = bind(P.floor, exact)
    up = bind(P.gt, bind(P.sub, exact, low), const(0.5))
    out = bind(P.select, up, bind(P.add, low, const(1.0)), low)
    # a zero quotient takes the sign of x / y (finite there); a zero divisor gives x / y
    out = bind(P.select, bind(P.eq, exact, const(0.0)), bind(P.mul, q, const(0.0)), out)
    return bind(P.select, bind(P.eq, y, const(0.0)), q, out)


def const_bool(value: bool, shape: tuple) -> Tensor:
    return scalar_constant(value, dtypes.bool_, shape)


class _FloorDivideNode(Function):
    """PyTorch's node for an operation without a derivative formula: the forward runs,
    a backward through it raises."""

    _node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def forward(ctx, input, other):
        return _floor_float(*operands("floor_divide", input, other,
                                      dtype=result_dtype(input, other)))

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


def floor_divide(input, other) -> Tensor:
    dt = result_dtype(input, other)
    if dt is dtypes.bool_:
        raise RuntimeError('"div_floor_cpu" not implemented for \'Bool\'')
    if dt.is_float and is_grad_enabled() and any(
            isinstance(a, Tensor) and a._requires_grad for a in (input, other)):
        return _FloorDivideNode.apply(input, other)
    x, y = (a.detach() for a in operands("floor_divide", input, other, dtype=dt))
    if not dt.is_float:
        _check_divisor(y)
        return _floor_int(x, y)
    return _floor_float(x, y)


def div(input, other, *, rounding_mode=None) -> Tensor:
    """torch.div: true division, or rounded toward zero ('trunc') or minus infinity
    ('floor'); a rounded float division records DivBackward2, its gradients zeros as
    PyTorch's: the rounded quotient goes through `trunc` (no VJP), and x and y enter
    through selects that never choose them, so their zeros are real tensors that a
    create_graph backward carries on (PyTorch's `zeros_like(grad)`)."""
    from .ops_elementwise import div as true_div
    if rounding_mode is None:
        return true_div(input, other)
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    if rounding_mode == "floor" and result_dtype(input, other) is dtypes.bool_:
        raise RuntimeError('"div_floor_cpu" not implemented for \'Bool\'')
    dt = result_dtype(input, other)
    x, y = operands("div", input, other, dtype=dt)
    if not dt.is_float:
        x, y = x.detach(), y.detach()
        _check_divisor(y)
        # the IR's integer division truncates
        return _floor_int(x, y) if rounding_mode == "floor" else bind(P.div, x, y)
    with grad_node("DivBackward2", x, y):
        rounded = _floor_float(x, y) if rounding_mode == "floor" else bind(P.div, x, y)
        out = bind(P.trunc, rounded)
        never = const_bool(False, out.shape)
        for operand in (y, x):
            if operand._requires_grad:
                out = bind(P.select, never, operand, out)
        return out
