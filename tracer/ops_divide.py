"""Floor division (`//`, torch.floor_divide) as PyTorch computes it.

Integers: the quotient rounded toward minus infinity, wrapping like the dtype; a
zero divisor raises PyTorch's `RuntimeError: ZeroDivisionError`, eagerly here and in
compiled code from the status record (codegen/indexing.zero_divisor_fault).  Floats:
floor(x / y) (NaN for an infinite dividend, x / 0 for a zero divisor).  The IR has one division, truncating for integers, so floor division
is built from it: the truncated quotient, less one where the remainder is non-zero
and of the other sign than the divisor.  No gradient flows (PyTorch defines none).
"""
from __future__ import annotations

from ..ir import dtypes
from ..ir import primitives as P
from .errors import at, user_loc
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
    """floor(x / y) through int64 where the quotient is below 2**52 in magnitude (every
    float there is exact in int64); larger, infinite and NaN quotients are their own floor."""
    q = bind(P.div, x, y)
    t = convert(convert(q, dtypes.i64), q.dtype)
    floor = bind(P.select, bind(P.gt, t, q), bind(P.sub, t, scalar_constant(1, q.dtype, q.shape)), t)
    const = lambda v: scalar_constant(v, q.dtype, q.shape)  # noqa: E731
    small = bind(P.lt, bind(P.abs, q), const(2.0 ** 52))
    out = bind(P.select, small, floor, q)
    # PyTorch's kernel works through fmod: an infinite or NaN dividend gives NaN, a zero
    # divisor gives x / 0 itself
    out = bind(P.select, bind(P.lt, bind(P.abs, x), const(float("inf"))), out, const(float("nan")))
    return bind(P.select, bind(P.eq, y, const(0.0)), q, out)


def floor_divide(input, other) -> Tensor:
    dt = result_dtype(input, other)
    if dt is dtypes.bool_:
        raise RuntimeError('"div_floor_cpu" not implemented for \'Bool\'')
    x, y = (a.detach() for a in operands("floor_divide", input, other, dtype=dt))
    if not dt.is_float:
        _check_divisor(y)
        return _floor_int(x, y)
    return _floor_float(x, y)


def div(input, other, *, rounding_mode=None) -> Tensor:
    """torch.div: true division, or rounded toward zero ('trunc') or minus infinity
    ('floor'; as floor_divide, so without a graph where PyTorch records zero gradients)."""
    from .ops_elementwise import div as true_div
    if rounding_mode is None:
        return true_div(input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode != "trunc":
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    dt = result_dtype(input, other)
    x, y = operands("div", input, other, dtype=dt)
    if not dt.is_float:
        _check_divisor(y)
        return bind(P.div, x.detach(), y.detach())  # the IR's integer division truncates
    with grad_node("DivBackward2", x, y):  # trunc's gradient: zeros, as PyTorch's
        return bind(P.trunc, bind(P.div, x, y))
