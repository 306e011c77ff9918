"""The in-place forms PyTorch's Tensor has of operations tapegrad has out of place:
`x.log_()`, `x.sigmoid_()`, `x.addmm_(a, b)`, `x.eq_(y)`, `x.t_()`, ...

Each computes the out-of-place operation and commits it into x (ops_inplace._inplace:
PyTorch's leaf and view errors, the grad_fn named as the out-of-place one's, x's dtype
kept).  The shape changers (t_, transpose_, unsqueeze_, ...) instead make x the view
they compute: same memory, new shape and strides, the view's node on the tape.
tests/tracer/test_inplace_surface.py lists PyTorch's in-place methods and checks that
each one whose out-of-place form exists here exists too.
"""
from __future__ import annotations

from . import ops_divide as D
from . import ops_elementwise as E
from . import ops_layout as L
from . import ops_linalg as LA
from . import ops_math as M
from . import ops_shape as S
from .ops_core import cast_to
from .ops_inplace import _inplace, _overwrite, check_inplace
from .tensor import Tensor


def _into(fn, grad_name: str):
    def method(self, *args, **kwargs):
        inputs = (self, *(a for a in args if isinstance(a, Tensor)))
        return _inplace(self, grad_name, inputs, lambda: fn(self, *args, **kwargs))
    return method


def _constant_into(fn, grad_name: str):
    """A result without a gradient (a comparison, floor division) written into x: on the
    tape it is still a function of x, with zero gradient, as PyTorch's node."""
    def method(self, *args):
        inputs = (self, *(a for a in args if isinstance(a, Tensor)))
        return _inplace(self, grad_name, inputs, lambda: _overwrite(
            self, cast_to(fn(self, *args), self.dtype, self.shape)))
    return method


def _compare(fn, name: str):
    """eq_ and the other comparisons: 1 or 0 in x's dtype (Backward1 for a tensor
    operand, 0 for a number, as PyTorch names them), zero gradients."""
    def method(self, other):
        grad = f"{name}Backward{1 if isinstance(other, Tensor) else 0}"
        return _constant_into(fn, grad)(self, other)
    return method


def _reshaped(fn):
    """x becomes fn(x), a view of its own memory: PyTorch's metadata-only in-place ops."""
    def method(self, *args):
        check_inplace(self)
        view = fn(self, *args)
        self._data, self._type = view._data, view._type
        self._value, self._grad_fn = view._value, view._grad_fn
        return self
    return method


METHODS = {
    # unary maths
    "abs_": _into(E.abs, "AbsBackward0"), "neg_": _into(E.neg, "NegBackward0"),
    "negative_": _into(E.neg, "NegBackward0"), "exp_": _into(E.exp, "ExpBackward0"),
    "log_": _into(E.log, "LogBackward0"), "log1p_": _into(E.log1p, "Log1PBackward0"),
    "sqrt_": _into(E.sqrt, "SqrtBackward0"), "sin_": _into(E.sin, "SinBackward0"),
    "cos_": _into(E.cos, "CosBackward0"), "tanh_": _into(E.tanh, "TanhBackward0"),
    "sigmoid_": _into(E.sigmoid, "SigmoidBackward0"),
    "erfinv_": _into(M.erfinv, "ErfinvBackward0"),
    # arithmetic under its other names
    "subtract_": lambda self, other, *, alpha=1: _inplace(
        self, "SubBackward0", (self, other), lambda: E.sub(self, other, alpha=alpha)),
    "multiply_": _into(E.mul, "MulBackward0"),
    "divide_": lambda self, other, *, rounding_mode=None: self.div_(
        other, rounding_mode=rounding_mode),
    "floor_divide_": lambda self, other: _inplace(
        self, "FloorDivideBackward0", (self,), lambda: D.floor_divide(self, other)),
    # products added into x
    "addmm_": _into(LA.addmm, "AddmmBackward0"), "addmv_": _into(LA.addmv, "AddmvBackward0"),
    "addbmm_": _into(LA.addbmm, "AddbmmBackward0"),
    "baddbmm_": _into(LA.baddbmm, "BaddbmmBackward0"),
    # comparisons
    **{f"{n}_": _compare(getattr(E, n), n.capitalize()) for n in ("eq", "ne", "lt", "le",
                                                                   "gt", "ge")},
    # triangles
    "tril_": _into(L.tril, "TrilBackward0"), "triu_": _into(L.triu, "TriuBackward0"),
    # shapes (views of x's own memory)
    "t_": _reshaped(S.t), "transpose_": _reshaped(S.transpose),
    "swapaxes_": _reshaped(S.transpose), "swapdims_": _reshaped(S.transpose),
    "unsqueeze_": _reshaped(S.unsqueeze), "squeeze_": _reshaped(S.squeeze),
}


def attach() -> None:
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)


attach()
