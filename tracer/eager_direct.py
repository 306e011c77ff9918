"""nn's hot operations recorded directly: `linear`, `relu` and `mse_loss` on the common
types, with the instructions, nodes and saved arrays the general path records.

The general path (grad_node, bind, the shape rules, broadcasting, operand promotion)
costs ~10 us of Python per primitive; a Linear layer is four primitives in two nodes
(TBackward0, AddmmBackward0), so an nn.Sequential step spent more in Python than in
its small gemms.  For operands whose types settle every question at once (concrete
float32/float64 tensors of matching shapes, outside another operation, no
saved-tensor hooks, not tracing) these functions compute the result with numpy and
build the same GradFns: the same primitives, attributes, types, operands, saved
arrays and version boxes, so a backward's plan, key and errors are the ones the
general path gives (tests/tracer/test_eager_direct.py compares the two tapes).
Anything else returns None and the caller takes the general path.
"""
from __future__ import annotations

import sys

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from ..ir.core import Instr, Param
from ..runtime.interpreter import errors_off as _errors_off
from ..runtime.interpreter import errors_restore as _errors_restore
from . import saved_hooks as _saved_hooks
from .dual_state import state as _duals
from .grad_mode import _state as _grad_state
from .ops_core import constant_entry, tensor_type
from .tape import NODE_CLASSES, Saved, _caller_loc, _new_instr, _tls, new_instr, node_class
from .tensor import Tensor

_FLOATS = (dtypes.f32, dtypes.f64)  # float16 runs its products in float32: general path
_matmul, _add, _sub, _mul, _divide = np.matmul, np.add, np.subtract, np.multiply, np.divide
_maximum = np.maximum
_add_reduce = np.add.reduce


def _plain() -> bool:
    """No enclosing operation, no abstract tracing, no saved-tensor hooks, no dual tensors."""
    return _tls.node is None and _tls.trace_depth == 0 and not _saved_hooks.state.stack \
        and not _duals.active


def _recording(*tensors) -> bool:
    return getattr(_grad_state, "enabled", True) and any(t._requires_grad for t in tensors)


def _node(name: str, inputs: tuple, loc):
    return (NODE_CLASSES.get(name) or node_class(name))(name, inputs, loc)


def _read(fn, t: Tensor):
    """t's IR value as an operand of fn's instructions, saved at its current version."""
    v = t._value
    if v is None:
        v = t._graph_value()
    if id(v) not in fn.saved:
        fn.saved[id(v)] = Saved(v, t._data, t._version)
    return v


def _produce(fn, prim, operands: tuple, attrs: dict, rtype, data, loc, box=None) -> Instr:
    instr = new_instr(prim, operands, attrs, rtype, loc)
    fn.instrs.append(instr)
    fn.saved[id(instr)] = Saved(instr, data, box if box is not None else [0])
    return instr


def _input(fn, rtype, data) -> Param:
    """An intermediate that records nothing, as an operand: the parameter its tensor's
    _graph_value would make, saved at the fresh tensor's version."""
    p = Param(rtype)
    fn.saved[id(p)] = Saved(p, data, [0])
    return p


def _constant(fn, value, dtype, shape):
    """A Python number's `full` instruction as ops_core.scalar_constant makes it, saved."""
    t, data, attrs = constant_entry(value, dtype, shape)
    v = Instr(P.full, (), attrs, t)
    fn.saved[id(v)] = Saved(v, data, [0])
    return v


def _user_loc(depth: int):
    try:
        return _caller_loc(sys._getframe(depth))
    except ValueError:
        return None


# ---------------------------------------------------------------- linear


def linear(x, w, b):
    """`x @ w.T + b` for a 2-d x, 2-d w and 1-d b (or None with no bias) of one float
    dtype, as TBackward0 on w then AddmmBackward0 (MmBackward0 without a bias)."""
    if not (x.__class__ is Tensor or isinstance(x, Tensor)) or not isinstance(w, Tensor):
        return None
    xt, wt = x._type, w._type
    if len(xt.shape) != 2 or len(wt.shape) != 2 or xt.dtype is not wt.dtype or \
            xt.dtype not in _FLOATS or xt.shape[1] != wt.shape[1] or \
            x._data is None or w._data is None or not _plain():
        return None
    if b is not None:
        if not isinstance(b, Tensor):
            return None
        bt = b._type
        if len(bt.shape) != 1 or bt.dtype is not xt.dtype or bt.shape[0] != wt.shape[0] or \
                b._data is None:
            return None
    out_type = tensor_type(xt.dtype, (xt.shape[0], wt.shape[0]))
    token = _errors_off()
    try:
        w_t = w._data.T
        prod = _matmul(x._data, w_t)
        data = prod if b is None else _add(prod, b._data)
    finally:
        _errors_restore(token)
    if not ((x._requires_grad or w._requires_grad or b is not None and b._requires_grad)
            and getattr(_grad_state, "enabled", True)):
        return Tensor._make(data, out_type)
    loc = _user_loc(2)
    # w.t(): a view sharing w's buffer and version counter (ops_shape._shared_view); as
    # bind does, an instruction is recorded only where an operand requires grad
    t_type = tensor_type(wt.dtype, (wt.shape[1], wt.shape[0]))
    if w._requires_grad:
        t_fn = _node("TBackward0", (w,), loc)
        t_instr = _produce(t_fn, P.transpose, (_read(t_fn, w),), {"perm": (1, 0)}, t_type,
                           w_t, loc, w._version)
        w_view = Tensor._make(w_t, t_type, True, t_fn, t_instr)
    else:
        w_view = Tensor._make(w_t, t_type)
    w_view._version = w._version
    w_view._base = w._base if w._base is not None else w
    if b is None:
        fn = _node("MmBackward0", (x, w_view), loc)
        mm = _produce(fn, P.matmul, (_read(fn, x), _read(fn, w_view)), {}, out_type, data, loc)
        return Tensor._make(data, out_type, True, fn, mm)
    fn = _node("AddmmBackward0", (b, x, w_view), loc)
    if x._requires_grad or w._requires_grad:
        mm = _produce(fn, P.matmul, (_read(fn, x), _read(fn, w_view)), {}, out_type, prod, loc)
    else:  # a product that records nothing is read by the add as an input (after b)
        mm = None
    bias_data = np.broadcast_to(b._data, out_type.shape)
    if b._requires_grad:
        bias = _produce(fn, P.broadcast, (_read(fn, b),), {"shape": out_type.shape}, out_type,
                        bias_data, loc)
    else:
        bias = _input(fn, out_type, bias_data)
    if mm is None:
        mm = _input(fn, out_type, prod)
    out = Tensor._make(data, out_type, True, fn, None)
    out._value = _produce(fn, P.add, (mm, bias), {}, out_type, data, loc, out._version)
    return out


# ---------------------------------------------------------------- relu


def relu(x):
    """max(x, 0) as ReluBackward0 (ops_elementwise.relu's instruction)."""
    t = x._type
    if t.dtype not in _FLOATS or x._data is None or not _plain():
        return None
    token = _errors_off()
    try:
        data = _maximum(x._data, t.dtype.np.type(0))
        if data.__class__ is not np.ndarray:  # a 0-d operand gives a numpy scalar
            data = np.asarray(data)
    finally:
        _errors_restore(token)
    if not (x._requires_grad and getattr(_grad_state, "enabled", True)):
        return Tensor._make(data, t)
    loc = _user_loc(2)
    fn = _node("ReluBackward0", (x,), loc)
    operands = (_read(fn, x), _constant(fn, 0, t.dtype, t.shape))
    out = Tensor._make(data, t, True, fn, None)
    out._value = _produce(fn, P.max, operands, {}, t, data, loc, out._version)
    return out


# ---------------------------------------------------------------- mse_loss


def mse_loss(input, target, reduction: str):
    """sum((input - target)**2) (then / n for "mean") as MseLossBackward0, for operands
    of one float dtype and shape."""
    if reduction not in ("sum", "mean") or not isinstance(input, Tensor) or \
            not isinstance(target, Tensor):
        return None
    t = input._type
    if target._type != t or t.dtype not in _FLOATS or not t.shape or \
            input._data is None or target._data is None or not _plain():
        return None
    axes = tuple(range(len(t.shape)))
    out_type = tensor_type(t.dtype, ())
    n = 1
    for d in t.shape:
        n *= d
    token = _errors_off()
    try:
        d = _sub(input._data, target._data)
        sq = _mul(d, d)
        total = _add_reduce(sq, axis=axes, dtype=sq.dtype)
        if total.__class__ is not np.ndarray:
            total = np.asarray(total)
        if reduction == "sum":
            data = total
        else:  # ops_reduce.mean: the sum divided by the count's constant
            count_type, count_data, count_attrs = constant_entry(float(n), t.dtype, ())
            data = np.asarray(_divide(total, count_data))
    finally:
        _errors_restore(token)
    if not _recording(input, target):
        return Tensor._make(data, out_type)
    loc = _user_loc(2)
    fn = _node("MseLossBackward0", (input, target), loc)
    diff = _produce(fn, P.sub, (_read(fn, input), _read(fn, target)), {}, t, d, loc)
    square = _produce(fn, P.mul, (diff, diff), {}, t, sq, loc)
    out = Tensor._make(data, out_type, True, fn, None)
    if reduction == "sum":
        out._value = _produce(fn, P.reduce_sum, (square,), {"axes": axes}, out_type, data,
                              loc, out._version)
        return out
    summed = _produce(fn, P.reduce_sum, (square,), {"axes": axes}, out_type, total, loc)
    count = Instr(P.full, (), count_attrs, count_type)
    fn.saved[id(count)] = Saved(count, count_data, [0])
    out._value = _produce(fn, P.div, (summed, count), {}, out_type, data, loc, out._version)
    return out


# ---------------------------------------------------------------- matmul with 1-d operands


class _Operand:
    """A value of a sequence recorded directly: its array, whether it requires grad, its
    IR value (None until read: an unrecorded one becomes a parameter then, as
    Tensor._graph_value does) and its version box."""

    __slots__ = ("data", "grad", "value", "box", "tensor")

    def __init__(self, data, grad, value, box, tensor=None):
        self.data, self.grad, self.value, self.box = data, grad, value, box
        self.tensor = tensor  # an operation's argument: its own parameter, made once


def _of(t: Tensor) -> _Operand:
    return _Operand(t._data, t._requires_grad, t._value, t._version, t)


def _step(fn, prim, ins: tuple, attrs: dict, rtype, data, loc) -> _Operand:
    """bind's rule for one primitive of a sequence: recorded when an operand requires
    grad, its operands (and their arrays) saved in order on first read."""
    for o in ins:  # any(o.grad for o in ins), without a generator per step
        if o.grad:
            break
    else:
        return _Operand(data, False, None, [0])
    saved = fn.saved
    operands = []
    for o in ins:
        v = o.value
        if v is None:
            v = o.value = o.tensor._graph_value() if o.tensor is not None else \
                Param(tensor_type(rtype.dtype, o.data.shape))
        if id(v) not in saved:
            saved[id(v)] = Saved(v, o.data, o.box)
        operands.append(v)
    box = [0]
    instr = _new_instr(Instr)  # tape.new_instr, inlined
    instr.type, instr.prim, instr.operands, instr.attrs, instr.loc = \
        rtype, prim, tuple(operands), attrs, loc
    fn.instrs.append(instr)
    saved[id(instr)] = Saved(instr, data, box)
    return _Operand(data, True, instr, box)


_VECTOR_NODES = {(1, 2): "SqueezeBackward4", (2, 1): "MvBackward0", (1, 1): "DotBackward0"}


def matmul_vector(a, b):
    """`a @ b` with a 1-d operand (vector-matrix, matrix-vector, dot) of one float dtype:
    ops_shape._matmul_nd's reshapes around one matmul, under PyTorch's node name."""
    if a.__class__ is not Tensor or b.__class__ is not Tensor:
        return None
    at, bt = a._type, b._type
    ranks = (len(at.shape), len(bt.shape))
    name = _VECTOR_NODES.get(ranks)
    if name is None or at.dtype is not bt.dtype or at.dtype not in _FLOATS or \
            at.shape[-1] != bt.shape[0] or a._data is None or b._data is None or not _plain():
        return None
    a2_shape = (1,) + at.shape if ranks[0] == 1 else at.shape
    b2_shape = bt.shape + (1,) if ranks[1] == 1 else bt.shape
    dt = at.dtype
    out_shape = (at.shape[:1] if ranks[0] == 2 else ()) + (bt.shape[1:] if ranks[1] == 2 else ())
    token = _errors_off()
    try:
        a2 = a._data.reshape(a2_shape)
        b2 = b._data.reshape(b2_shape)
        prod = _matmul(a2, b2)
        data = prod.reshape(out_shape)
    finally:
        _errors_restore(token)
    out_type = tensor_type(dt, out_shape)
    if not ((a._requires_grad or b._requires_grad) and getattr(_grad_state, "enabled", True)):
        return Tensor._make(data, out_type)
    loc = _user_loc(2)
    fn = _node(name, (a, b), loc)
    oa, ob = _of(a), _of(b)
    if ranks[0] == 1:
        oa = _step(fn, P.reshape, (oa,), {"shape": a2_shape}, tensor_type(dt, a2_shape), a2, loc)
    if ranks[1] == 1:
        ob = _step(fn, P.reshape, (ob,), {"shape": b2_shape}, tensor_type(dt, b2_shape), b2, loc)
    om = _step(fn, P.matmul, (oa, ob), {}, tensor_type(dt, prod.shape), prod, loc)
    res = _step(fn, P.reshape, (om,), {"shape": out_shape}, out_type, data, loc)
    out = Tensor._make(data, out_type, True, fn, res.value)
    out._version = res.box
    return out
