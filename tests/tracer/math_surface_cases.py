"""Gradient rows for the maths surface of issue 15 (tracer/ops_math*.py), joined to
test_op_gradients.py's table (which gradchecks each to `order` and checks that every
public op has a row).  Specs are that file's tuples: (kind, shape, lo, hi)."""
from __future__ import annotations

import numpy as np

import tapegrad as tg


def U(*shape, lo=-1.0, hi=1.0):
    return ("uniform", shape, lo, hi)


def Pos(*shape, lo=0.4, hi=1.6):
    return ("uniform", shape, lo, hi)


def K(*shape, lo=0.2, hi=1.0):
    return ("kinked", shape, lo, hi)


def _inplace(op):
    def f(x, *rest):
        y = x * 1.0
        op(y, *rest)
        return y * x
    return f


_ZERO_AT_1 = tg.tensor(np.array([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0],
                                 [0.0, 1.0, 0.0, 1.0]]))  # one zero, and two in a column

#: (name, fn, specs, order, tag)
ROWS = [
    # rounding: derivative 0, so each is multiplied by x to leave something to check
    ("floor", lambda x: tg.floor(x * 3) * x, (K(2, 3),), 2, ""),
    ("ceil", lambda x: x.ceil() * x, (K(2, 3),), 2, "method"),
    ("round", lambda x: tg.round(x * 3) * x, (K(2, 3),), 2, ""),
    ("round", lambda x: tg.round(x, decimals=1) * x, (K(4),), 2, "decimals"),
    ("trunc", lambda x: tg.trunc(x * 3) * x, (K(2, 3),), 2, ""),
    ("fix", lambda x: x.fix() * x, (K(3),), 2, ""),
    ("frac", lambda x: tg.frac(x * 3), (K(2, 3),), 3, ""),
    ("fmod", lambda x: tg.fmod(x * 3, 0.7), (U(2, 3),), 2, "scalar"),
    ("fmod", lambda x, y: tg.fmod(x * 3, y), (U(2, 3), Pos(3)), 2, "tensor"),
    ("remainder", lambda x: tg.remainder(x * 3, -0.7), (U(2, 3),), 2, "scalar"),
    ("remainder", lambda x, y: x.remainder(y), (U(2, 3), K(2, 3)), 2, "tensor"),
    ("remainder", lambda x, y: (x * 3) % y, (U(2, 3), Pos(1, 3)), 2, "operator"),
    # float functions
    ("expm1", tg.expm1, (U(2, 3),), 3, ""),
    ("erf", tg.erf, (U(2, 3, hi=2.0),), 3, ""),
    ("erfc", lambda x: x.erfc(), (U(2, 3, hi=2.0),), 3, ""),
    ("atan", tg.atan, (U(2, 3, lo=-3.0, hi=3.0),), 3, ""),
    ("arctan", tg.arctan, (U(3),), 2, ""),
    ("asin", tg.asin, (U(2, 3, lo=-0.8, hi=0.8),), 3, ""),
    ("arcsin", tg.arcsin, (U(3, lo=-0.8, hi=0.8),), 2, ""),
    ("acos", tg.acos, (U(2, 3, lo=-0.8, hi=0.8),), 3, ""),
    ("arccos", lambda x: x.arccos(), (U(3, lo=-0.8, hi=0.8),), 2, ""),
    ("log2", tg.log2, (Pos(2, 3),), 3, ""),
    ("log10", lambda x: x.log10(), (Pos(2, 3),), 3, ""),
    ("rsqrt", tg.rsqrt, (Pos(2, 3),), 3, ""),
    ("square", tg.square, (U(2, 3),), 3, ""),
    ("sinh", tg.sinh, (U(2, 3, lo=-2.0, hi=2.0),), 3, ""),
    ("cosh", lambda x: x.cosh(), (U(2, 3, lo=-2.0, hi=2.0),), 3, ""),
    ("tan", tg.tan, (U(2, 3),), 3, ""),
    ("asinh", tg.asinh, (U(2, 3, lo=-3.0, hi=3.0),), 3, ""),
    ("arcsinh", tg.arcsinh, (U(3),), 2, ""),
    ("acosh", tg.acosh, (Pos(2, 3, lo=1.2, hi=3.0),), 3, ""),
    ("arccosh", tg.arccosh, (Pos(3, lo=1.2, hi=3.0),), 2, ""),
    ("atanh", tg.atanh, (U(2, 3, lo=-0.8, hi=0.8),), 3, ""),
    ("arctanh", tg.arctanh, (U(3, lo=-0.8, hi=0.8),), 2, ""),
    ("atan2", tg.atan2, (U(2, 3), K(2, 3)), 2, ""),
    ("arctan2", lambda x, y: x.arctan2(y), (K(3), U(2, 3)), 2, "broadcast"),
    ("hypot", tg.hypot, (K(2, 3), U(3)), 2, ""),
    ("nan_to_num", lambda x: tg.nan_to_num(x * 2, posinf=1.0), (U(2, 3),), 2, ""),
    # reductions and scans
    ("prod", tg.prod, (U(2, 3),), 2, "all"),
    ("prod", lambda x: x.prod(1, keepdim=True), (U(3, 5),), 2, "dim"),
    ("prod", lambda x: (x * _ZERO_AT_1).prod(0), (U(3, 4),), 2, "zeros-dim"),
    ("prod", lambda x: (x * _ZERO_AT_1).prod(), (U(3, 4),), 2, "zeros-all"),
    ("prod", lambda x: tg.prod(x, -1), (U(7),), 2, "odd"),
    ("cumsum", lambda x: tg.cumsum(x, 1), (U(2, 5),), 2, ""),
    ("cumsum", lambda x: x.cumsum(-2), (U(7, 2),), 2, "neg-dim"),
    ("cumprod", lambda x: tg.cumprod(x, 1), (U(2, 5),), 2, ""),
    ("cumprod", lambda x: (x * _ZERO_AT_1).cumprod(1), (U(3, 4),), 2, "zeros"),
    ("var", tg.var, (U(3, 4),), 2, "all"),
    ("var", lambda x: x.var(1, keepdim=True), (U(3, 4),), 2, "dim"),
    ("var", lambda x: tg.var(x, (0, 1), correction=0), (U(3, 4, 2),), 2, "correction"),
    ("std", tg.std, (U(3, 4),), 2, "all"),
    ("std", lambda x: x.std(0, unbiased=False), (U(3, 4),), 2, "dim"),
    ("var_mean", lambda x: tg.var_mean(x, 1), (U(3, 4),), 2, ""),
    ("std_mean", lambda x: tg.std_mean(x, dim=0, keepdim=True), (U(3, 4),), 2, ""),
    ("logsumexp", lambda x: tg.logsumexp(x * 3, 1), (U(3, 4),), 2, ""),
    ("logsumexp", lambda x: x.logsumexp((0, 1), keepdim=True), (U(3, 4),), 2, "dims"),
    ("aminmax", lambda x: tg.aminmax(x, dim=1), (U(3, 4),), 2, ""),
    # in place
    *[(name, _inplace(lambda y, n=name: getattr(y, n)()), (spec,), 2, "")
      for name, spec in [("floor_", K(2, 3)), ("ceil_", K(2, 3)), ("round_", K(2, 3)),
                         ("trunc_", K(2, 3)), ("fix_", K(2, 3)), ("frac_", K(2, 3)),
                         ("expm1_", U(2, 3)), ("erf_", U(2, 3)), ("erfc_", U(2, 3)),
                         ("atan_", U(2, 3)), ("arctan_", U(2, 3)),
                         ("asin_", U(2, 3, lo=-0.8, hi=0.8)),
                         ("arcsin_", U(2, 3, lo=-0.8, hi=0.8)),
                         ("acos_", U(2, 3, lo=-0.8, hi=0.8)),
                         ("arccos_", U(2, 3, lo=-0.8, hi=0.8)),
                         ("log2_", Pos(2, 3)), ("log10_", Pos(2, 3)), ("rsqrt_", Pos(2, 3)),
                         ("square_", U(2, 3)), ("sinh_", U(2, 3)), ("cosh_", U(2, 3)),
                         ("tan_", U(2, 3)), ("asinh_", U(2, 3)), ("arcsinh_", U(2, 3)),
                         ("acosh_", Pos(2, 3, lo=1.2, hi=3.0)),
                         ("arccosh_", Pos(2, 3, lo=1.2, hi=3.0)),
                         ("atanh_", U(2, 3, lo=-0.8, hi=0.8)),
                         ("arctanh_", U(2, 3, lo=-0.8, hi=0.8)),
                         ("nan_to_num_", U(2, 3)), ("sign_", K(2, 3)),
                         ("reciprocal_", Pos(2, 3))]],
    ("cumsum_", _inplace(lambda y: y.cumsum_(1)), (U(2, 3),), 2, ""),
    ("cumprod_", _inplace(lambda y: y.cumprod_(0)), (U(2, 3),), 2, ""),
    ("fmod_", _inplace(lambda y, z: y.fmod_(z)), (U(2, 3), Pos(3)), 2, ""),
    ("remainder_", _inplace(lambda y: y.remainder_(0.3)), (U(2, 3),), 2, ""),
    ("atan2_", _inplace(lambda y, z: y.atan2_(z)), (U(2, 3), K(3)), 2, ""),
    ("arctan2_", _inplace(lambda y, z: y.arctan2_(z)), (U(2, 3), K(3)), 2, ""),
    ("hypot_", _inplace(lambda y, z: y.hypot_(z)), (K(2, 3), U(3)), 2, ""),
]

#: public names of the surface that give no gradient (bool or integer results)
NON_DIFFERENTIABLE = {
    "isnan", "isinf", "isposinf", "isneginf", "isfinite", "logical_and", "logical_or",
    "logical_xor", "logical_not_", "logical_and_", "logical_or_", "logical_xor_", "all", "any",
    "count_nonzero", "isclose", "allclose", "equal",
}
