"""PyTorch's bitwise operations: `&`, `|`, `^`, `~`, their in-place forms, and
bitwise_and / bitwise_or / bitwise_xor / bitwise_not (functions, methods, in place).

Integers go through the bitwise_* primitives, and `~x` is `-x - 1` (two's complement,
wrapping as the dtype: ~250 is 5 in uint8).  Bools are the logical operations (select
and ne).  Operands promote as PyTorch's (bool & int64 is int64; a Python bool is 1);
a float operand is PyTorch's NotImplementedError, and `~` of a float its TypeError.
Nothing here has a gradient: integer and bool tensors never require grad.
"""
from __future__ import annotations

from ..ir import dtypes
from ..ir import primitives as P
from . import ops_math as M
from .ops_core import operands, result_dtype, scalar_constant
from .ops_elementwise import as_tensor
from .ops_inplace import _inplace
from .tape import bind
from .tensor import Tensor


def _binary(name: str, prim, logical):
    def op(input, other):
        dt = result_dtype(input, other)
        if dt.is_float:
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                      f"'{dt.scalar_name}'")
        if dt is dtypes.bool_:
            return logical(input, other)
        a, b = operands(name, input, other, dtype=dt)
        return bind(prim, a.detach(), b.detach())
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"torch.{name}: integers bit by bit, bools as the logical operation."
    return op


bitwise_and = _binary("bitwise_and", P.bitwise_and, M.logical_and)
bitwise_or = _binary("bitwise_or", P.bitwise_or, M.logical_or)
bitwise_xor = _binary("bitwise_xor", P.bitwise_xor, M.logical_xor)


def bitwise_not(input) -> Tensor:
    """~x: logical not of bools, -x - 1 of integers (every bit flipped)."""
    x = as_tensor(input)
    if x.dtype.is_float:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    if x.dtype is dtypes.bool_:
        return M.logical_not(x)
    x = x.detach()
    return bind(P.sub, bind(P.neg, x), scalar_constant(1, x.dtype, x.shape))


def _reflected(fn):
    def method(self, other):
        if isinstance(other, (list, tuple)):
            return NotImplemented
        return fn(other, self)
    return method


def _forward(fn):
    def method(self, other):
        if isinstance(other, (list, tuple)):
            return NotImplemented
        return fn(self, other)
    return method


def _in_place(fn, name: str):
    def method(self, *args):
        return _inplace(self, name, (self, *(a for a in args if isinstance(a, Tensor))),
                        lambda: fn(self, *args))
    method.__name__ = name
    return method


FUNCTIONS = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"]
_IN_PLACE = {"bitwise_and_": bitwise_and, "bitwise_or_": bitwise_or,
             "bitwise_xor_": bitwise_xor, "bitwise_not_": bitwise_not}
METHODS = {
    **{name: globals()[name] for name in FUNCTIONS},
    **{name: _in_place(fn, name) for name, fn in _IN_PLACE.items()},
    "__and__": _forward(bitwise_and), "__rand__": _reflected(bitwise_and),
    "__or__": _forward(bitwise_or), "__ror__": _reflected(bitwise_or),
    "__xor__": _forward(bitwise_xor), "__rxor__": _reflected(bitwise_xor),
    "__invert__": bitwise_not,
    "__iand__": _in_place(bitwise_and, "bitwise_and_"),
    "__ior__": _in_place(bitwise_or, "bitwise_or_"),
    "__ixor__": _in_place(bitwise_xor, "bitwise_xor_"),
}


def attach() -> None:
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)


attach()
