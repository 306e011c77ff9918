"""The elementwise maths surface of issue 15: rounding, remainders, logarithms in
other bases, the error function, (inverse) trigonometric and hyperbolic functions,
hypot, NaN/inf tests and the logical operations.

Functions with a primitive of their own (floor, expm1, erf, atan2, hypot, fmod, ...)
bind it; the rest are composites under one grad_node with PyTorch's grad_fn name,
so their gradients come from the primitives' rules (to any order).  Integer
inputs of floating-point functions become float32, as in PyTorch.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from .ops_core import convert, operands, result_dtype, scalar_constant
from .ops_elementwise import _float_unary, as_tensor, to_float
from .tape import bind, grad_node
from .tensor import Tensor

_TORCH_TYPE = {"i64": "Long", "bool": "Bool", "f32": "Float", "f64": "Double"}


def _type_name(dt) -> str:
    return _TORCH_TYPE.get(dt.name, dt.name)


def _const(value, x: Tensor) -> Tensor:
    return scalar_constant(value, x.dtype, x.shape)


# ---------------------------------------------------------------- rounding


def _rounding(prim, grad_name: str, kernel: str):
    """floor / ceil / trunc: integers come back as they are (PyTorch: a copy), bool refused."""
    def op(input):
        x = as_tensor(input)
        if x.dtype is dtypes.bool_:
            raise NotImplementedError(f'"{kernel}_vml_cpu" not implemented for \'Bool\'')
        with grad_node(grad_name, x):
            return bind(prim, x)
    op.__name__ = kernel
    return op


floor = _rounding(P.floor, "FloorBackward0", "floor")
ceil = _rounding(P.ceil, "CeilBackward0", "ceil")
trunc = _rounding(P.trunc, "TruncBackward0", "trunc")
fix = trunc
_round_half_even = _rounding(P.round, "RoundBackward0", "round")


def round(input, *, decimals=0):
    """Half to even; `decimals` scales by 10**decimals first, as PyTorch does (so
    round(2.675, decimals=2) is what 267.49999... rounds to)."""
    if decimals == 0:
        return _round_half_even(input)
    x = as_tensor(input)
    if not x.dtype.is_float:
        raise NotImplementedError(f'"round_cpu" not implemented for \'{_type_name(x.dtype)}\'')
    with grad_node("RoundBackward1", x):
        scale = _const(10.0 ** abs(decimals), x)
        if decimals > 0:
            return bind(P.div, bind(P.round, bind(P.mul, x, scale)), scale)
        return bind(P.mul, bind(P.round, bind(P.div, x, scale)), scale)


def frac(input):
    """x - trunc(x), sign of x kept."""
    x = as_tensor(input)
    if not x.dtype.is_float:
        raise NotImplementedError(f'"frac_cpu" not implemented for \'{_type_name(x.dtype)}\'')
    with grad_node("FracBackward0", x):
        return bind(P.sub, x, bind(P.trunc, x))


# ---------------------------------------------------------------- remainders


def _check_integer_divisor(name: str, dt, y: Tensor) -> None:
    if not dt.is_float and y._data is not None and np.any(np.asarray(y._data) == 0):
        raise RuntimeError("ZeroDivisionError")


def _remainder_operands(name: str, input, other):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    dt = result_dtype(input, other)
    if dt is dtypes.bool_:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    x, y = operands(name, input, other, dtype=dt)
    _check_integer_divisor(name, dt, y)
    return x, y


def fmod(input, other):
    """C's fmod: the sign of `input` (FmodBackward0 for a number, 1 for a tensor)."""
    inputs = (input, other) if isinstance(other, Tensor) else (input,)
    with grad_node("FmodBackward1" if isinstance(other, Tensor) else "FmodBackward0", *inputs):
        return bind(P.fmod, *_remainder_operands("fmod", input, other))


def remainder(input, other):
    """Python's %: the sign of `other` (fmod, plus `other` where the signs differ)."""
    if not isinstance(input, Tensor):  # remainder(number, tensor)
        input = scalar_constant(input, result_dtype(input, other), ())
    inputs = (input, other) if isinstance(other, Tensor) else (input,)
    with grad_node("RemainderBackward1" if isinstance(other, Tensor) else "RemainderBackward0",
                   *inputs):
        x, y = _remainder_operands("remainder", input, other)
        r = bind(P.fmod, x, y)
        zero = _const(0, r)
        differ = bind(P.ne, bind(P.lt, r, zero), bind(P.lt, y, zero))
        fix_it = bind(P.select, bind(P.ne, r, zero), differ,
                      scalar_constant(False, dtypes.bool_, r.shape))
        return bind(P.select, fix_it, bind(P.add, r, y), r)


# ---------------------------------------------------------------- float functions

expm1 = _float_unary(P.expm1, "Expm1Backward0")
erf = _float_unary(P.erf, "ErfBackward0")
erfc = _float_unary(P.erfc, "ErfcBackward0")
erfinv = _float_unary(P.erfinv, "ErfinvBackward0")
atan = _float_unary(P.atan, "AtanBackward0")
asin = _float_unary(P.asin, "AsinBackward0")
acos = _float_unary(P.acos, "AcosBackward0")
arctan, arcsin, arccos = atan, asin, acos


def _float_composite(grad_name: str, body):
    def op(input):
        x = as_tensor(input)
        with grad_node(grad_name, x):
            return body(to_float(x))
    op.__doc__ = body.__doc__
    return op


def _log_base(inv_ln_base: float):
    def body(x):
        """log(x) / log(base): a product with the constant."""
        return bind(P.mul, bind(P.log, x), _const(inv_ln_base, x))
    return body


log2 = _float_composite("Log2Backward0", _log_base(1 / math.log(2)))
log10 = _float_composite("Log10Backward0", _log_base(1 / math.log(10)))


def _rsqrt(x):
    """1 / sqrt(x)."""
    return bind(P.div, _const(1.0, x), bind(P.sqrt, x))


#: above this |x| (float64's; float32 uses it too), exp(-|x|) is below an ulp of exp(|x|)
_EXP_ONLY = 40.0


def _large_and_small(x: Tensor):
    """(large mask, |x| where large else 0, x where not large else 0): each branch is fed
    only arguments where it is finite, so its gradient is never 0 * inf."""
    a = bind(P.abs, x)
    large = bind(P.gt, a, _const(_EXP_ONLY, x))
    zero = _const(0.0, x)
    return large, bind(P.select, large, a, zero), bind(P.select, large, zero, x)


def _half_exp_squared(a: Tensor) -> Tensor:
    """exp(a) / 2 as (exp(a/2) / 2) exp(a/2): finite up to a = 2 log(max), as sinh/cosh."""
    h = bind(P.exp, bind(P.mul, a, _const(0.5, a)))
    return bind(P.mul, bind(P.mul, h, _const(0.5, a)), h)


def _sinh(x):
    """(expm1(x) - expm1(-x)) / 2 (no cancellation near 0); sign(x) e^|x| / 2 for large |x|."""
    large, a, small = _large_and_small(x)
    d = bind(P.sub, bind(P.expm1, small), bind(P.expm1, bind(P.neg, small)))
    big = _half_exp_squared(a)
    big = bind(P.select, bind(P.lt, x, _const(0.0, x)), bind(P.neg, big), big)
    return bind(P.select, large, big, bind(P.mul, d, _const(0.5, x)))


def _cosh(x):
    """(exp(x) + exp(-x)) / 2; e^|x| / 2 for large |x|."""
    large, a, small = _large_and_small(x)
    both = bind(P.add, bind(P.exp, small), bind(P.exp, bind(P.neg, small)))
    return bind(P.select, large, _half_exp_squared(a), bind(P.mul, both, _const(0.5, x)))


def _tan(x):
    """sin(x) / cos(x)."""
    return bind(P.div, bind(P.sin, x), bind(P.cos, x))


#: above this |x|, asinh/acosh are log(2|x|) (x^2 would overflow; the rest is below an ulp)
_HUGE = 2.0 ** 28


def _split_huge(a: Tensor):
    """(huge mask, a where not huge else 1, a where huge else HUGE): each branch sees only
    arguments it is defined for, so neither makes a NaN gradient the select would keep."""
    huge = bind(P.gt, a, _const(_HUGE, a))
    return huge, bind(P.select, huge, _const(1.0, a), a), bind(P.select, huge, a, _const(_HUGE, a))


def _log_twice(a: Tensor) -> Tensor:
    return bind(P.add, bind(P.log, a), _const(math.log(2), a))


def _asinh(x):
    """sign(x) log1p(a + a^2 / (1 + sqrt(1 + a^2))), a = |x|; log(2a) for huge a."""
    a = bind(P.abs, x)
    huge, small, big = _split_huge(a)
    s2 = bind(P.mul, small, small)
    one = _const(1.0, x)
    r = bind(P.log1p, bind(P.add, small, bind(P.div, s2, bind(P.add, one, bind(
        P.sqrt, bind(P.add, one, s2))))))
    r = bind(P.select, huge, _log_twice(big), r)
    r = bind(P.select, bind(P.lt, x, _const(0.0, x)), bind(P.neg, r), r)
    return bind(P.select, bind(P.eq, x, _const(0.0, x)), x, r)  # -0.0 stays -0.0


def _acosh(x):
    """log1p(t + sqrt(t (x + 1))), t = x - 1 (exact near 1); log(2x) for huge x."""
    huge, small, big = _split_huge(x)
    t = bind(P.sub, small, _const(1.0, x))
    r = bind(P.log1p, bind(P.add, t, bind(P.sqrt, bind(P.mul, t, bind(
        P.add, small, _const(1.0, x))))))
    r = bind(P.select, huge, _log_twice(big), r)
    return bind(P.select, bind(P.lt, x, _const(1.0, x)), _const(float("nan"), x), r)


def _atanh(x):
    """log1p(2x / (1 - x)) / 2."""
    q = bind(P.div, bind(P.add, x, x), bind(P.sub, _const(1.0, x), x))
    return bind(P.mul, bind(P.log1p, q), _const(0.5, x))


rsqrt = _float_composite("RsqrtBackward0", _rsqrt)
sinh = _float_composite("SinhBackward0", _sinh)
cosh = _float_composite("CoshBackward0", _cosh)
tan = _float_composite("TanBackward0", _tan)
asinh = _float_composite("AsinhBackward0", _asinh)
acosh = _float_composite("AcoshBackward0", _acosh)
atanh = _float_composite("AtanhBackward0", _atanh)
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def square(input):
    """x * x as PyTorch's pow(x, 2) (PowBackward0); bool and integers give int64."""
    x = as_tensor(input)
    if x.dtype is dtypes.bool_:
        x = convert(x, dtypes.i64)
    with grad_node("PowBackward0", x):
        return bind(P.mul, x, x)


def _float_binary(prim, grad_name: str, name: str, int_ok: bool = True):
    def op(input, other):
        dt = result_dtype(input, other)
        if not dt.is_float:
            if not int_ok:
                raise NotImplementedError(
                    f'"{name}_cpu" not implemented for \'{_type_name(dt)}\'')
            dt = dtypes.f32
        inputs = [a for a in (input, other) if isinstance(a, Tensor)]
        with grad_node(grad_name, *inputs):
            return bind(prim, *operands(name, input, other, dtype=dt))
    op.__name__ = name
    return op


atan2 = _float_binary(P.atan2, "Atan2Backward0", "atan2")
arctan2 = atan2
hypot = _float_binary(P.hypot, "HypotBackward0", "hypot", int_ok=False)


# ---------------------------------------------------------------- tests for NaN and inf


def _bool_like(x: Tensor, value: bool) -> Tensor:
    return scalar_constant(value, dtypes.bool_, x.shape)


def isnan(input):
    x = as_tensor(input)
    return bind(P.ne, x, x) if x.dtype.is_float else _bool_like(x, False)


def isinf(input):
    x = as_tensor(input)
    return bind(P.eq, bind(P.abs, x), _const(math.inf, x)) if x.dtype.is_float \
        else _bool_like(x, False)


def isposinf(input):
    x = as_tensor(input)
    return bind(P.eq, x, _const(math.inf, x)) if x.dtype.is_float else _bool_like(x, False)


def isneginf(input):
    x = as_tensor(input)
    return bind(P.eq, x, _const(-math.inf, x)) if x.dtype.is_float else _bool_like(x, False)


def isfinite(input):
    """x - x is 0 exactly for finite x, NaN for NaN and infinities."""
    x = as_tensor(input)
    return bind(P.eq, bind(P.sub, x, x), _const(0, x)) if x.dtype.is_float \
        else _bool_like(x, True)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced (by 0 and the dtype's extremes by default); the
    gradient flows where x is finite only (NanToNumBackward0)."""
    x = as_tensor(input)
    if not x.dtype.is_float:
        return _copy(x)  # nothing to replace; a new tensor, as PyTorch's
    info = np.finfo(x.dtype.np)
    with grad_node("NanToNumBackward0", x):
        out = bind(P.select, bind(P.ne, x, x), _const(nan, x), x)
        out = bind(P.select, bind(P.eq, x, _const(math.inf, x)),
                   _const(float(info.max) if posinf is None else posinf, x), out)
        return bind(P.select, bind(P.eq, x, _const(-math.inf, x)),
                    _const(float(info.min) if neginf is None else neginf, x), out)


def _copy(x: Tensor) -> Tensor:
    """A new tensor equal to x (never x itself, so in-place changes stay apart)."""
    return bind(P.select, _bool_like(x, True), x, x)


# ---------------------------------------------------------------- logical


def _as_bool(x) -> Tensor:
    x = as_tensor(x)
    return convert(x, dtypes.bool_)


def logical_not(input):
    return bind(P.eq, _as_bool(input), _bool_like(as_tensor(input), False))


def _logical(name: str, combine):
    def op(input, other):
        a, b = operands(name, _as_bool(input), _as_bool(other), dtype=dtypes.bool_)
        return combine(a, b)
    op.__name__ = name
    return op


logical_and = _logical("logical_and", lambda a, b: bind(P.select, a, b, _bool_like(a, False)))
logical_or = _logical("logical_or", lambda a, b: bind(P.select, a, _bool_like(a, True), b))
logical_xor = _logical("logical_xor", lambda a, b: bind(P.ne, a, b))


FUNCTIONS = [
    "floor", "ceil", "trunc", "fix", "round", "frac", "fmod", "remainder", "expm1", "erf",
    "erfc", "erfinv", "atan", "asin", "acos", "arctan", "arcsin", "arccos", "log2", "log10",
    "rsqrt",
    "sinh", "cosh", "tan", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh",
    "square", "atan2", "arctan2", "hypot", "isnan", "isinf", "isposinf", "isneginf",
    "isfinite", "nan_to_num", "logical_not", "logical_and", "logical_or", "logical_xor",
]
