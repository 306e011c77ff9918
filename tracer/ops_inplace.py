"""In-place operations (`add_`, `+=`, `zero_`, `x[i] = v`, ...).

An in-place operation is the out-of-place one followed by `_commit`: the
result is written into the tensor's own buffer (which `.data`, `detach()` and
`from_numpy` share), the version counter goes up, and when the operation was
recorded the tensor takes over the result's place on the tape.  The backward
engine compares saved versions with the counter to catch stale values.

When nothing is recorded, the arithmetic ones on a float tensor (the SGD update
`w -= lr * w.grad` and `w.grad.zero_()` of every training loop) write the
buffer directly with one numpy call instead: same values, no temporary array,
no second pass to copy it in.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from ..runtime.interpreter import _errors_off, _errors_restore
from . import mutation_on_saved as _mutation
from . import ops_elementwise as E
from .dual_state import state as _duals
from .errors import TracerError, at, user_loc
from .grad_mode import is_grad_enabled
from .ops_core import broadcast_shapes, cast_to, filled_tensor, scalar_constant
from .tape import Saved, bind, grad_node
from .tensor import Tensor

_LEAF_ERROR = ("a leaf Variable that requires grad is being used in an in-place operation.")
_category = dtypes.category


_VIEW_ERROR = ("tapegrad does not record in-place operations on a view (the base's history "
               "would not see them); assign through the base instead (base[index] = value) "
               "or use the out-of-place operation")


def check_inplace(x: Tensor) -> None:
    if _mutation.active is not None:  # allow_mutation_on_saved_tensors: clone what was saved
        _mutation.active.before_write(x)
    if not is_grad_enabled():
        return
    if x._grad_fn is None and x._requires_grad:
        raise RuntimeError(_LEAF_ERROR + at(user_loc()))
    base = x._base
    if base is not None and base._requires_grad:
        # PyTorch rewrites the base's history here (CopySlices); tapegrad does not, and
        # would silently drop the update from gradients through the base: refuse instead.
        if base._grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used "
                               "in an in-place operation." + at(user_loc()))
        raise RuntimeError(_VIEW_ERROR + at(user_loc()))


def _records(x: Tensor) -> bool:
    """Whether an in-place change to `x` must stay differentiable."""
    return x._requires_grad and is_grad_enabled()


def _commit(x: Tensor, result: Tensor, old_value=None) -> Tensor:
    """Make `x` hold `result`: same buffer, new version, and result's node on the tape.
    `old_value` is x's IR value before the operation, whose array the node may need."""
    if result.shape != x.shape:
        raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the broadcast "
                           f"shape {list(result.shape)}{at(user_loc())}")
    if _category(result.dtype) > _category(x.dtype):
        raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the "
                           f"desired output type {x.dtype.scalar_name}")
    if x._data is None:  # tracing: an in-place update is a new SSA value for the same tensor
        x._value = cast_to(result, x.dtype, x.shape)._value
        return x
    if result._data is None:
        raise TracerError("a concrete tensor captured by a traced function cannot be updated "
                          f"in place with a traced value{at(user_loc())}")
    if not x._data.flags.writeable:
        raise RuntimeError("unsupported operation: this tensor's memory is read-only (an "
                           "expanded view or a constant); clone() it before writing to it")
    fn = result._grad_fn
    if fn is not None and x._base is not None:
        raise RuntimeError(_VIEW_ERROR)
    if fn is not None:
        _keep_old_value(fn, old_value, x)
    np.copyto(x._data, result._data, casting="unsafe")
    x._version[0] += 1
    if fn is not None:
        x._grad_fn, x._value, x._requires_grad = fn, result._value, True
        fn.saved[id(result._value)] = Saved(result._value, x._data, x._version)
    if _duals.active:
        _duals.commit_tangent(x, result)
    return x


def _keep_old_value(fn, old_value, x: Tensor) -> None:
    """The node read x before overwriting it (mul_ needs the old x for the other operand's
    gradient): its record gets a copy of that array, as PyTorch saves `original_self`.
    Earlier records (the producer's, other readers') keep the buffer, so a backward that
    needs them still reports the in-place change."""
    saved = fn.saved.get(id(old_value))
    if saved is not None and np.shares_memory(saved.array, x._data):
        fn.saved[id(old_value)] = Saved(old_value, saved.array.copy(), [saved.version])


def _inplace(x: Tensor, name: str, inputs: tuple, compute) -> Tensor:
    """Run `compute()` as the operation `name` and commit its result into `x`."""
    check_inplace(x)
    old_value = x._value
    with grad_node(name, *inputs):
        result = compute()
        if result.dtype is not x.dtype and _category(result.dtype) <= _category(x.dtype):
            result = cast_to(result, x.dtype, result.shape)
        return _commit(x, result, old_value)


def _direct(x: Tensor, other) -> bool:
    """Whether `x op= other` can be one numpy call into x's buffer: nothing records,
    x is a concrete, writable float tensor, and `other` a Python float or a concrete
    tensor of x's dtype with x's shape (or 0-d), so promotion and broadcasting cannot
    change the result's type or shape (the general path's errors cannot arise)."""
    data = x._data
    if data is None or not x._type.dtype.is_float or not data.flags.writeable or _duals.active:
        return False
    if isinstance(other, Tensor):
        t = other._type
        if other._data is None or t.dtype is not x._type.dtype or \
                (t.shape != x._type.shape and t.shape != ()):
            return False
        requires_grad = other._requires_grad
    elif type(other) is float:
        requires_grad = False
    else:
        return False
    return not ((x._requires_grad or requires_grad) and is_grad_enabled())


def _apply_direct(x: Tensor, ufunc, other) -> Tensor:
    """x = ufunc(x, other) in x's buffer (errors ignored, as the interpreter's rules do,
    and with their cheap switch: np.errstate costs more than a small update)."""
    check_inplace(x)
    operand = other._data if isinstance(other, Tensor) else other
    token = _errors_off()
    try:
        ufunc(x._data, operand, out=x._data)
    finally:
        _errors_restore(token)
    x._version[0] += 1
    return x


def add_(self, other, *, alpha=1):
    if alpha == 1 and _direct(self, other):
        return _apply_direct(self, np.add, other)
    return _inplace(self, "AddBackward0", (self, other), lambda: E.add(self, other, alpha=alpha))


def sub_(self, other, *, alpha=1):
    if alpha == 1 and _direct(self, other):
        return _apply_direct(self, np.subtract, other)
    return _inplace(self, "SubBackward0", (self, other), lambda: E.sub(self, other, alpha=alpha))


def mul_(self, other):
    if _direct(self, other):
        return _apply_direct(self, np.multiply, other)
    return _inplace(self, "MulBackward0", (self, other), lambda: E.mul(self, other))


def div_(self, other, *, rounding_mode=None):
    if rounding_mode is not None:
        from .ops_divide import div
        return _inplace(self, "DivBackward2", (self, other),
                        lambda: div(self, other, rounding_mode=rounding_mode))
    if _direct(self, other):
        return _apply_direct(self, np.divide, other)
    return _inplace(self, "DivBackward0", (self, other), lambda: E.div(self, other))


def pow_(self, exponent):
    return _inplace(self, "PowBackward0", (self, exponent), lambda: E.pow(self, exponent))


def clamp_(self, min=None, max=None):
    return _inplace(self, "ClampBackward1", (self,), lambda: E.clamp(self, min, max))


def relu_(self):
    return _inplace(self, "ReluBackward0", (self,), lambda: E.relu(self))


def _overwrite(x: Tensor, new: Tensor) -> Tensor:
    """`new` in x's place; kept a function of x (with zero gradient) when x is on the tape,
    so x stays a non-leaf that requires grad, as in PyTorch."""
    if not _records(x):
        return new
    return bind(P.select, scalar_constant(True, dtypes.bool_, x.shape), new, x)


def fill_(self, value):
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.ndim} dimensions.")
    return _inplace(self, "FillBackward0", (self,),
                    lambda: _overwrite(self, cast_to(value, self.dtype, self.shape)))


def zero_(self):
    data = self._data
    if data is not None and not _records(self) and data.flags.writeable and not _duals.active:
        check_inplace(self)
        data.fill(0)
        self._version[0] += 1
        self._zeroed = self._version[0]  # lets backward replace, not add to, a zeroed .grad
        return self
    return _inplace(self, "ZeroBackward0", (self,),
                    lambda: _overwrite(self, filled_tensor(0, self.dtype, self.shape)))


def copy_(self, src):
    def compute():
        shape = broadcast_shapes("copy_", self.shape, src.shape)
        if shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(shape)}{at(user_loc())}")
        return _overwrite(self, cast_to(src, self.dtype, self.shape))
    return _inplace(self, "CopyBackwards", (self, src), compute)


# ---------------------------------------------------------------- x[index] = value


def check_value_fits(op: str, value_shape: tuple, target_shape: tuple) -> None:
    """An indexed write takes a value that broadcasts to what the index selects, no more:
    PyTorch's message, at the user's line."""
    try:
        fits = broadcast_shapes(op, value_shape, target_shape) == target_shape
    except RuntimeError:
        fits = False
    if not fits:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(value_shape)} cannot be "
                           f"broadcast to indexing result of shape {list(target_shape)}"
                           f"{at(user_loc())}")


def region_setitem(x: Tensor, index, value) -> None:
    """Write `value` into the region a basic `index` (ints, slices, None, ...) selects: a
    numpy write when nothing records, else select(mask, pad(value), x) so the update is
    differentiable (CopySlices).  Indices with tensor items go to ops_index_put."""
    from .ops_index import region
    starts, counts, steps, view_shape = region(x, index)
    val = value if isinstance(value, Tensor) else E.as_tensor(value)
    check_value_fits("setitem", val.shape, view_shape)
    if 0 in counts:
        return
    records = is_grad_enabled() and (x._requires_grad or val._requires_grad)
    if not records and x._data is not None and val._data is not None:
        check_inplace(x)
        if not x._data.flags.writeable:
            raise RuntimeError("unsupported operation: this tensor's memory is read-only")
        np_index = tuple(slice(a, a + (n - 1) * s + 1, s) for a, n, s in zip(starts, counts, steps))
        x._data[np_index] = np.broadcast_to(val._data, view_shape).reshape(counts)
        x._version[0] += 1
        return

    def compute():
        v = bind(P.reshape, cast_to(val, x.dtype, view_shape), shape=tuple(counts))
        interior = tuple(s - 1 for s in steps)
        high = tuple(d - (a + (n - 1) * s + 1) for d, a, n, s in zip(x.shape, starts, counts, steps))
        pads = dict(low=tuple(starts), high=high, interior=interior)
        mask = bind(P.pad, scalar_constant(True, dtypes.bool_, counts), **pads)
        return bind(P.select, mask, bind(P.pad, v, **pads), x)
    _inplace(x, "CopySlices", (x, val), compute)
