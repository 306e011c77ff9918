"""The tensor operations, in one place: module functions (re-exported as `tg.*`) and
their attachment to `Tensor` as methods and Python operators.

The operations themselves live by job in ops_elementwise, ops_reduce,
ops_shape, ops_index and ops_inplace; this file only wires them up.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from . import creation
from . import ops_divide as D
from . import ops_elementwise as E
from . import ops_index as I
from . import ops_index_fns as IF  # noqa: F401  (attaches its methods itself)
from . import ops_index_put as IPUT
from . import ops_inplace as IP
from . import ops_math as M
from . import ops_math_reduce as MR
from . import ops_reduce as R
from . import ops_shape as S
from .dtype_api import CONVERSION_METHODS
from .ops_core import is_scalar
from .printing import tensor_repr
from .tensor import Tensor

# ---------------------------------------------------------------- tg.* functions

add, sub, mul, div, pow, neg, abs = E.add, E.sub, E.mul, E.div, E.pow, E.neg, E.abs
subtract, multiply, negative = E.sub, E.mul, E.neg
div = divide = D.div  # rounding_mode
exp, log, log1p, sqrt, sin, cos, tanh = E.exp, E.log, E.log1p, E.sqrt, E.sin, E.cos, E.tanh
sigmoid, relu, sign, reciprocal = E.sigmoid, E.relu, E.sign, E.reciprocal
clamp, clip, maximum, minimum, where = E.clamp, E.clip, E.maximum, E.minimum, E.where
eq, ne, lt, le, gt, ge = E.eq, E.ne, E.lt, E.le, E.gt, E.ge
sum, mean, max, min, norm = R.sum, R.mean, R.max, R.min, R.norm
amax, amin, argmax, argmin = R.amax, R.amin, R.argmax, R.argmin
matmul, mm, bmm, dot, t, transpose, permute = S.matmul, S.mm, S.bmm, S.dot, S.t, S.transpose, S.permute
reshape, flatten, unsqueeze, squeeze = S.reshape, S.flatten, S.unsqueeze, S.squeeze
cat, concat, stack, clone, select = S.cat, S.cat, S.stack, S.clone, I.select
swapaxes, broadcast_to = S.swapaxes, S.broadcast_to


logical_not = M.logical_not
def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


FUNCTIONS = [
    "add", "sub", "mul", "div", "pow", "neg", "abs", "subtract", "multiply", "divide",
    "negative", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "sign",
    "reciprocal", "clamp", "clip", "maximum", "minimum", "where", "eq", "ne", "lt", "le", "gt",
    "ge", "sum", "mean", "max", "min", "norm", "amax", "amin", "argmax", "argmin", "matmul",
    "mm", "bmm", "dot", "t", "transpose", "permute", "reshape", "flatten", "unsqueeze",
    "squeeze", "cat", "concat", "stack", "clone", "select", "swapaxes", "broadcast_to",
    "logical_not", "is_tensor",
]

# ---- maths surface (issue 15): ops_math and ops_math_reduce
globals().update({name: getattr(M, name) for name in M.FUNCTIONS})
globals().update({name: getattr(MR, name) for name in MR.FUNCTIONS})
FUNCTIONS += [n for n in M.FUNCTIONS + MR.FUNCTIONS if n not in FUNCTIONS]



# ---------------------------------------------------------------- operators


#: operand types taken as they are, checked before the abstract-number checks
_PLAIN_OPERANDS = frozenset([Tensor, float, int, bool, np.float32, np.float64, np.int64])


def _operand(x):
    """The other operand of a Python operator, or None when the operator does not apply."""
    if x.__class__ in _PLAIN_OPERANDS or isinstance(x, Tensor) or is_scalar(x):
        return x
    if isinstance(x, (np.ndarray, list, tuple)):
        return creation.tensor(x)
    return None


def _operator(fn, reflected: bool = False):
    if reflected:
        def method(self, other):
            other = _operand(other)
            if other is None:
                return NotImplemented
            return fn(other, self)
    else:
        def method(self, other):
            if other.__class__ not in _PLAIN_OPERANDS:  # else _operand returns it as it is
                other = _operand(other)
                if other is None:
                    return NotImplemented
            return fn(self, other)
    return method


def _inplace_operator(fn):
    def method(self, other):
        other = _operand(other)
        if other is None:
            return NotImplemented
        return fn(self, other)
    return method


def _to(self, *args, **kwargs):
    """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other_tensor)`; keywords too."""
    dtype = kwargs.get("dtype")
    creation.check_device(kwargs.get("device"))
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, creation.device)):
            creation.check_device(a)
        else:
            dtype = a
    out = S.to_dtype(self, creation.as_dtype(dtype)) if dtype is not None else self
    return S.clone(out) if kwargs.get("copy") and out is self else out


def _device(self):
    return creation.device("cpu")


def _cuda(self, *args, **kwargs):
    creation.device("cuda")


def _new(make):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        return make(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)
    return method


def _format(self, spec: str) -> str:
    if self.ndim == 0 and self._data is not None:
        return format(self.item(), spec)
    return format(repr(self), spec)


def _math_inplace(fn, grad_name: str, tensor_suffix: str | None = None):
    """`x.floor_()` etc.: fn's result written into x, recorded as fn's grad_fn name
    (a binary one ends in 1 for a tensor operand, 0 for a number, as PyTorch's)."""
    def method(self, *args, **kwargs):
        name = grad_name
        if tensor_suffix is not None:
            name += tensor_suffix if args and isinstance(args[0], Tensor) else "0"
        inputs = (self, *(a for a in args if isinstance(a, Tensor)))
        return IP._inplace(self, name, inputs, lambda: fn(self, *args, **kwargs))
    return method


_MATH_INPLACE = {
    "floor_": (M.floor, "FloorBackward0"), "ceil_": (M.ceil, "CeilBackward0"),
    "trunc_": (M.trunc, "TruncBackward0"), "fix_": (M.trunc, "TruncBackward0"),
    "frac_": (M.frac, "FracBackward0"), "expm1_": (M.expm1, "Expm1Backward0"),
    "erf_": (M.erf, "ErfBackward0"), "erfc_": (M.erfc, "ErfcBackward0"),
    "atan_": (M.atan, "AtanBackward0"), "asin_": (M.asin, "AsinBackward0"),
    "acos_": (M.acos, "AcosBackward0"), "arctan_": (M.atan, "AtanBackward0"),
    "arcsin_": (M.asin, "AsinBackward0"), "arccos_": (M.acos, "AcosBackward0"),
    "log2_": (M.log2, "Log2Backward0"), "log10_": (M.log10, "Log10Backward0"),
    "rsqrt_": (M.rsqrt, "RsqrtBackward0"), "square_": (M.square, "PowBackward0"),
    "sinh_": (M.sinh, "SinhBackward0"), "cosh_": (M.cosh, "CoshBackward0"),
    "tan_": (M.tan, "TanBackward0"), "asinh_": (M.asinh, "AsinhBackward0"),
    "acosh_": (M.acosh, "AcoshBackward0"), "atanh_": (M.atanh, "AtanhBackward0"),
    "arcsinh_": (M.asinh, "AsinhBackward0"), "arccosh_": (M.acosh, "AcoshBackward0"),
    "arctanh_": (M.atanh, "AtanhBackward0"), "atan2_": (M.atan2, "Atan2Backward0"),
    "arctan2_": (M.atan2, "Atan2Backward0"), "hypot_": (M.hypot, "HypotBackward0"),
    "nan_to_num_": (M.nan_to_num, "NanToNumBackward0"),
    "sign_": (E.sign, "SignBackward0"), "reciprocal_": (E.reciprocal, "ReciprocalBackward0"),
    "cumsum_": (MR.cumsum, "CumsumBackward0"), "cumprod_": (MR.cumprod, "CumprodBackward0"),
    "logical_not_": (M.logical_not, "LogicalNot"),
    "logical_and_": (M.logical_and, "LogicalAnd"), "logical_or_": (M.logical_or, "LogicalOr"),
    "logical_xor_": (M.logical_xor, "LogicalXor"),
}
_MATH_METHODS = {
    **{name: _math_inplace(fn, grad) for name, (fn, grad) in _MATH_INPLACE.items()},
    "round_": lambda self, *, decimals=0: IP._inplace(
        self, "RoundBackward1" if decimals else "RoundBackward0", (self,),
        lambda: M.round(self, decimals=decimals)),
    "fmod_": _math_inplace(M.fmod, "FmodBackward", "1"),
    "remainder_": _math_inplace(M.remainder, "RemainderBackward", "1"),
    **{name: globals()[name] for name in M.FUNCTIONS + MR.FUNCTIONS},
    "__mod__": _operator(M.remainder), "__rmod__": _operator(M.remainder, reflected=True),
    "__imod__": _inplace_operator(lambda self, other: _MATH_METHODS["remainder_"](self, other)),
}


METHODS = {
    # arithmetic operators
    "__add__": _operator(E.add), "__radd__": _operator(E.add),
    "__sub__": _operator(E.sub), "__rsub__": _operator(E.rsub),
    "__mul__": _operator(E.mul), "__rmul__": _operator(E.mul),
    "__truediv__": _operator(E.div), "__rtruediv__": _operator(E.rdiv),
    "__floordiv__": _operator(D.floor_divide),
    "__rfloordiv__": _operator(D.floor_divide, reflected=True),
    "floor_divide": D.floor_divide,
    "__pow__": _operator(E.power), "__rpow__": _operator(E.power, reflected=True),
    "__matmul__": _operator(S.matmul), "__rmatmul__": _operator(S.matmul, reflected=True),
    "__neg__": E.neg, "__abs__": E.abs, "__pos__": lambda self: self,
    "__eq__": _operator(E.eq), "__ne__": _operator(E.ne), "__lt__": _operator(E.lt),
    "__le__": _operator(E.le), "__gt__": _operator(E.gt), "__ge__": _operator(E.ge),
    "__iadd__": _inplace_operator(IP.add_), "__isub__": _inplace_operator(IP.sub_),
    "__imul__": _inplace_operator(IP.mul_), "__itruediv__": _inplace_operator(IP.div_),
    "__getitem__": I.getitem, "__setitem__": IPUT.setitem,
    "__repr__": tensor_repr, "__str__": tensor_repr, "__format__": _format,
    # methods named as the functions
    **{name: globals()[name] for name in (
        "add", "sub", "mul", "div", "pow", "neg", "abs", "subtract", "multiply", "divide",
        "negative", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu",
        "sign", "reciprocal", "clamp", "clip", "maximum", "minimum", "eq", "ne", "lt", "le",
        "gt", "ge", "sum", "mean", "max", "min", "norm", "amax", "amin", "argmax", "argmin",
        "matmul", "mm", "bmm", "dot", "t", "transpose", "permute", "reshape", "flatten",
        "unsqueeze", "squeeze", "clone", "select", "swapaxes", "logical_not")},
    "where": lambda self, condition, other: E.where(condition, self, other),
    "view": S.view, "view_as": lambda self, other: S.view(self, other.shape),
    "reshape_as": lambda self, other: S.reshape(self, other.shape),
    "expand": S.expand, "expand_as": S.expand_as, "contiguous": S.contiguous,
    "T": property(S.T),
    # in place
    "add_": IP.add_, "sub_": IP.sub_, "mul_": IP.mul_, "div_": IP.div_, "pow_": IP.pow_,
    "zero_": IP.zero_, "fill_": IP.fill_, "copy_": IP.copy_, "clamp_": IP.clamp_,
    "clip_": IP.clamp_, "relu_": IP.relu_,
    # dtypes and devices
    **CONVERSION_METHODS,
    "to": _to, "type_as": lambda self, other: S.to_dtype(self, other.dtype),
    "cpu": lambda self: self, "cuda": _cuda, "device": property(_device),
    "new_ones": _new(creation.ones), "new_zeros": _new(creation.zeros),
    "new_empty": _new(creation.empty),
    "new_full": lambda self, size, fill_value, dtype=None, **kw: creation.full(
        size, fill_value, dtype=dtype or self.dtype, **kw),
    "new_tensor": lambda self, data, dtype=None, **kw: creation.tensor(
        data, dtype=dtype or self.dtype, **kw),
    # numpy hands binary operators with a Tensor operand to the Tensor's reflected method
    "__array_ufunc__": None,
    **_MATH_METHODS,
}


def attach() -> None:
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)


attach()


# ---------------------------------------------------------------- the wider surface
# (shapes, values with indices, products: ops_layout, ops_sort, ops_linalg)

from . import ops_layout as L  # noqa: E402
from . import ops_linalg as LA  # noqa: E402
from . import ops_sort as SO  # noqa: E402

tile, flip, fliplr, flipud, roll, narrow = L.tile, L.flip, L.fliplr, L.flipud, L.roll, L.narrow
chunk, split, unbind, movedim, moveaxis = L.chunk, L.split, L.unbind, L.movedim, L.movedim
swapdims, unflatten, tril, triu, diagonal, diag = (L.swapdims, L.unflatten, L.tril, L.triu,
                                                    L.diagonal, L.diag)
sort, argsort, topk, kthvalue, median, mode = (SO.sort, SO.argsort, SO.topk, SO.kthvalue,
                                               SO.median, SO.mode)
vdot, mv, outer, ger, addmm, addmv = LA.vdot, LA.mv, LA.outer, LA.ger, LA.addmm, LA.addmv
baddbmm, addbmm, einsum, tensordot = LA.baddbmm, LA.addbmm, LA.einsum, LA.tensordot

SURFACE_FUNCTIONS = [
    "tile", "flip", "fliplr", "flipud", "roll", "narrow", "chunk", "split", "unbind",
    "movedim", "moveaxis", "swapdims", "unflatten", "tril", "triu", "diagonal", "diag", "sort",
    "argsort", "topk", "kthvalue", "median", "mode", "vdot", "mv", "outer", "ger", "addmm",
    "addmv", "baddbmm", "addbmm", "einsum", "tensordot",
]
FUNCTIONS += SURFACE_FUNCTIONS + ["swapaxes"]


def _tile_method(self, *dims):
    return L.tile(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list))
                  else dims)


def _flip_method(self, *dims):
    return L.flip(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list))
                  else dims)


def _sequence_operand(fn, reflected: bool = False):
    """PyTorch's operators refuse a list or tuple operand (TypeError, not a detached
    constant whose gradient would silently be zero); `==` falls back to identity."""
    base = _operator(fn, reflected)

    def method(self, other):
        if other.__class__ in (list, tuple):
            return NotImplemented
        return base(self, other)
    return method


SURFACE_METHODS = {
    **{name: globals()[name] for name in SURFACE_FUNCTIONS if name not in ("tile", "flip")},
    "repeat": L.repeat, "tile": _tile_method, "flip": _flip_method,
    "stride": L.stride, "storage_offset": L.storage_offset, "is_contiguous": L.is_contiguous,
    "swapaxes": S.transpose,
    "view_as": lambda self, other: S.view(self, other.shape),
    "reshape_as": lambda self, other: S.reshape(self, other.shape),
    "expand_as": S.expand_as,
    # operators with a list or tuple operand raise TypeError, as PyTorch's do
    **{name: _sequence_operand(fn, name.startswith("__r") and name not in (
        "__radd__", "__rsub__", "__rmul__", "__rtruediv__"))
       for name, fn in (
        ("__add__", E.add), ("__radd__", E.add), ("__sub__", E.sub), ("__rsub__", E.rsub),
        ("__mul__", E.mul), ("__rmul__", E.mul), ("__truediv__", E.div),
        ("__rtruediv__", E.rdiv), ("__pow__", E.power), ("__rpow__", E.power),
        ("__matmul__", S.matmul), ("__rmatmul__", S.matmul), ("__eq__", E.eq),
        ("__ne__", E.ne), ("__lt__", E.lt), ("__le__", E.le), ("__gt__", E.gt),
        ("__ge__", E.ge))},
}
for _name, _fn in SURFACE_METHODS.items():
    setattr(Tensor, _name, _fn)
METHODS.update(SURFACE_METHODS)


# ---------------------------------------------------------------- NumPy's keyword names
# (`A.sum(axis=1, keepdims=True)`: PyTorch's parser takes them everywhere; numpy_keywords.py)

from . import numpy_keywords as _NK  # noqa: E402
from . import ops_bitwise as _BW  # noqa: E402,F401  (attaches &, |, ^, ~ and bitwise_*)
from . import ops_inplace_surface as _IS  # noqa: E402,F401  (attaches log_, t_, eq_, ...)
from . import ops_interleave as _RI  # noqa: E402,F401  (attaches repeat_interleave)
from . import ops_index_fns as _IF  # noqa: E402
from . import ops_softmax as _SM  # noqa: E402
softmax, log_softmax = _SM.softmax, _SM.log_softmax
FUNCTIONS += _SM.FUNCTIONS
import sys as _sys  # noqa: E402

#: the functions without `out=` in PyTorch (views, shapes, predicates, softmax's `dtype=`)
_NO_OUT = {"is_tensor", "t", "transpose", "permute", "reshape", "flatten", "unsqueeze",
           "squeeze", "select", "broadcast_to", "swapaxes", "chunk", "split", "unbind",
           "movedim", "moveaxis", "swapdims", "unflatten", "diagonal", "narrow", "allclose",
           "equal", "clone", "softmax", "log_softmax", "std_mean", "var_mean", "aminmax",
           "sort", "topk", "kthvalue", "median", "mode", "isclose", "max", "min"}
_NK.install(FUNCTIONS + _IF.FUNCTIONS,
            [_sys.modules[__name__], E, R, S, I, M, MR, L, LA, SO, _IF, _SM], Tensor,
            with_out=frozenset(FUNCTIONS + _IF.FUNCTIONS) - _NO_OUT)

from . import eager_operators as _EO  # noqa: E402
_EO.install(Tensor)  # +, -, *, /, ** in one frame for their common case (eager_operators.py)
