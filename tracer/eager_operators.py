"""The arithmetic operators' common case in one frame: `x * y`, `1 + x`, `x / y`, `x ** 2`.

An operator used to pass through five Python frames before anything was computed
(the operator's sequence check, its operand check, the operation, the operand fast
path, `bind_op`): ~2 us of the ~5-6 us each of W3's nine operations cost
(benchmarks/eager_floor.py puts the floor of a Python tape near 1 us per operation).
For the case that settles every question at once, the operator checks, computes and
records in its own frame:

- `self` a float32/float64 tensor, `other` a tensor of the same type or a plain number
  (a `full` constant of that type, as `_float_operands` makes it);
- something requires grad and grad mode is on, outside another operation, with no
  forward-mode duals and no saved-tensor hooks;
- concrete arrays (not tracing), below the eager tier's native size.

The primitive, node class and name, node inputs, instruction, saved arrays and
versions, and the user's line are the ones `bind_op` records, through the same
`_on_tape` (tests/tracer/test_eager_operators.py builds both tapes and compares
them).  `x ** 2` is the product pow's rule computes for it (float32 as compiled code,
float64 where numpy's power was verified to square): 6.3 -> 4.5 us.  Any other call
runs the operator it replaced.  `__radd__` and `__rmul__` are `add` and `mul` with the
operands as given, as before.
"""
from __future__ import annotations

import sys

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from ..runtime import eager_native
from ..runtime.interpreter import (ARITHMETIC_UFUNCS, errors_off, errors_restore, eval_prim,
                                   pow_is_square)
from . import ops_elementwise, saved_hooks
from .dual_state import state as _duals
from .grad_mode import _state as _grad_state
from .ops_core import scalar_constant
from .ops_elementwise import _PLAIN_NUMBERS
from .tape import NODE_CLASSES, _caller_loc, _on_tape, _tls, node_class
from .tensor import Tensor

_FLOATS = (dtypes.f32, dtypes.f64)
_getframe = sys._getframe


def one_frame(prim, name: str, general, pow_by_number: bool = False):
    """`general` (the operator as installed) with its common case done in its own frame.

    `pow_by_number`: `x ** number` only (PowBackward0, whose node input is x alone;
    a tensor exponent is PowBackward1, left to `general`), where arithmetic takes both
    operands as node inputs, a number too (as `bind_op(name, (input, other), ...)`)."""
    ufunc = ARITHMETIC_UFUNCS.get(prim)
    cls = NODE_CLASSES.get(name) or node_class(name)
    native = prim in eager_native.PRIMS
    native_min = eager_native.MIN_SIZE
    stack = saved_hooks.state
    f32, f64 = _FLOATS
    # `x ** 2` as pow's rule computes it, a product, without the rule's exponent checks
    # (where numpy's ufuncs take out=..., as ARITHMETIC_UFUNCS is filled: 0-d results stay arrays)
    squares = {dt: pow_by_number and bool(ARITHMETIC_UFUNCS) and pow_is_square(dt.np)
               for dt in _FLOATS}
    multiply = np.multiply

    def operator(self, other):
        if self.__class__ is not Tensor:
            return general(self, other)
        t = self._type
        kind = other.__class__
        if kind is Tensor and not pow_by_number:
            u = other._type
            if not (u is t or (u.dtype is t.dtype and u.shape == t.shape)) or \
                    not (self._requires_grad or other._requires_grad):
                return general(self, other)
        elif kind not in _PLAIN_NUMBERS or not self._requires_grad:
            return general(self, other)
        dt = t.dtype
        a = self._data
        if (dt is not f32 and dt is not f64) or a is None or \
                getattr(_tls, "node", None) is not None or \
                not getattr(_grad_state, "enabled", True) or _duals.active or stack.stack or \
                (native and a.size >= native_min):
            return general(self, other)
        if kind is Tensor:
            b = other._data
            if b is None:
                return general(self, other)
            args = inputs = (self, other)
        else:
            constant = scalar_constant(other, dt, t.shape)
            b = constant._data
            if b is None:  # tracing: the constant is abstract
                return general(self, other)
            args = (self, constant)
            inputs = (self,) if pow_by_number else (self, other)
        # bind_op's inlined ufunc case (through eval_prim: +0.5 us of a ~3.6 us `x * x`)
        square = pow_by_number and other == 2 and squares[dt]
        if ufunc is not None or square:
            token = errors_off()
            try:
                data = multiply(a, a, out=...) if square else ufunc(a, b, out=...)
            except MemoryError:
                return general(self, other)  # which raises the allocation error
            finally:
                errors_restore(token)
        else:
            try:
                data = eval_prim(prim, [a, b], {}, t)
            except MemoryError:
                return general(self, other)
        if data.dtype is not dt.np and data.dtype != dt.np:
            data = data.astype(dt.np)
        loc = _caller_loc(_getframe(1))
        return _on_tape(cls(name, inputs, loc), prim, args, {}, t, data, loc)

    operator.__name__ = getattr(general, "__name__", "operator")
    operator.__doc__ = getattr(general, "__doc__", None)
    operator.general = general
    return operator


#: operator -> (primitive, node name, whether it is `x ** number` only)
OPERATORS = {
    "__add__": (P.add, "AddBackward0", False), "__radd__": (P.add, "AddBackward0", False),
    "__sub__": (P.sub, "SubBackward0", False),
    "__mul__": (P.mul, "MulBackward0", False), "__rmul__": (P.mul, "MulBackward0", False),
    "__truediv__": (P.div, "DivBackward0", False),
    "__pow__": (P.pow, "PowBackward0", True),
}


def install(cls=Tensor) -> None:
    """Put the one-frame operators on `cls` in front of the operators it has; `pow(x, 2)`
    and `x.pow(2)` of a tensor and a number are `x ** 2` (ops_elementwise.number_power)."""
    for attr, (prim, name, pow_by_number) in OPERATORS.items():
        general = cls.__dict__[attr]
        setattr(cls, attr, one_frame(prim, name, general, pow_by_number))
    ops_elementwise.number_power = cls.__pow__
