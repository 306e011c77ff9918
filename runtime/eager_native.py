"""Big eager transcendentals (and softmax kernels) in native code.

numpy computes `x ** 3` with libm's pow per element (~200 ns here) and sin/exp
without vectors, where PyTorch's kernels multiply or vectorise.  An eager
operation of one such primitive on a big array therefore runs as a one-primitive
Function through the eager tier (`execute`: interpreted the first time,
compiled when the same primitive, attributes and types come again), with a
Python-number operand (`full`) kept a constant of the Function, so `x ** 3`
lowers to two multiplications as in compiled code.  The values differ from the
interpreter's only within the accuracy bounds the native math is tested to,
as the eager tier's native backward already does.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..ir import primitives as P
from ..ir.core import Function, Instr, Param, TensorType
from .execute import eager_mode, execute

#: the primitives worth a native call (numpy is several times slower than the vector loop)
PRIMS = P.NATIVE_WHEN_BIG
#: elements from which the call's fixed cost (~5-10 us) is small against numpy's loop
MIN_SIZE = 32768

_fns: "OrderedDict[tuple, Function]" = OrderedDict()
_lock = threading.Lock()
_CACHE_SIZE = 128


def evaluate(prim, operands: list, attrs: dict, rtype: TensorType) -> np.ndarray | None:
    """prim(operands) on the eager tier, or None when it is not one for native code.

    `operands`: per operand its array, or the `full` Instr of a Python-number
    constant (kept in the Function).  The caller checked `prim in PRIMS` and the size.
    """
    if not rtype.dtype.is_float or eager_mode() == "interpret" or (
            attrs and prim not in P.SOFTMAX_KERNELS):  # (their axis is their one attribute)
        return None
    key = [prim, rtype, tuple(sorted(attrs.items()))]
    arrays = []
    for op in operands:
        if type(op) is Instr:
            value = op.attrs["value"]
            if type(value) is not float:
                return None
            key.append((op.type, value.hex()))
        else:
            if op.dtype != rtype.dtype.np or op.shape != rtype.shape:
                return None
            key.append(None)
            arrays.append(op)
    key = tuple(key)
    with _lock:
        fn = _fns.get(key)
        if fn is not None:
            _fns.move_to_end(key)
    if fn is None:
        fn = _function(prim, operands, attrs, rtype)
        with _lock:
            fn = _fns.setdefault(key, fn)
            while len(_fns) > _CACHE_SIZE:
                _fns.popitem(last=False)
    return execute(fn, arrays)[0]


def _function(prim, operands: list, attrs: dict, rtype: TensorType) -> Function:
    params, values, body = [], [], []
    for op in operands:
        if type(op) is Instr:
            const = Instr(P.full, (), dict(op.attrs), op.type)
            body.append(const)
            values.append(const)
        else:
            p = Param(rtype)
            params.append(p)
            values.append(p)
    out = Instr(prim, values, dict(attrs), rtype)
    body.append(out)
    return Function(f"eager_{prim.name}", params, body, [out])
