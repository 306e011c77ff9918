"""The maths-surface cases compared with PyTorch: inputs and expressions shared by the
recorder (record_math_surface.py, run with a side venv's torch) and the test
(tests/tracer/test_math_surface.py, run with `torch` bound to tapegrad).  Plain
numpy and strings only, so both sides read the same thing."""
import numpy as np

_SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, 3.7, -3.7, 1e-8, 20.0, -20.0,
            100.0, -100.0, float("nan"), float("inf"), -float("inf")]


def inputs():
    """name -> numpy array; the names are bound as tensors in the expressions."""
    rng = np.random.default_rng(15)
    s64 = np.array(_SPECIAL, np.float64)
    return {
        "s64": s64, "s32": s64.astype(np.float32),
        "r64": s64[::-1].copy(), "r32": s64[::-1].astype(np.float32),
        "u64": rng.uniform(-0.95, 0.95, (3, 4)), "u32": rng.uniform(-0.95, 0.95, (3, 4)).astype(np.float32),
        "p64": rng.uniform(0.2, 4.0, (3, 4)), "n64": rng.standard_normal((2, 3, 4)) * 3,
        "big64": np.array([1e300, -1e300, 1e-300, 5e-324, 710.0, -745.0, 1e10]),
        "i64": np.array([-7, -3, 0, 2, 5, 9], np.int64), "d64": np.array([2, -3, 4, -4, 3, 2], np.int64),
        "b": np.array([True, False, True, False]), "c": np.array([True, True, False, False]),
        "z64": np.array([[1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 1.5, -1.0], [2.0, 1.0, 1.0, 4.0]]),
        "e64": np.zeros((0, 3)),
        "x64": np.array([-5.5, 5.5, -5.5, 5.5, 7.0, -0.0, 3.0]),
        "y64": np.array([2.0, -2.0, -2.0, 2.0, 3.5, 1.0, float("inf")]),
    }


#: (id, expression); the value is compared (dtype, shape, numbers, NaN where NaN)
VALUES = [
    *[(f"{fn}-{t}", f"torch.{fn}({t})") for t in ("s64", "s32") for fn in (
        "floor", "ceil", "round", "trunc", "fix", "frac", "expm1", "erf", "erfc", "atan", "log2",
        "log10", "rsqrt", "square", "sinh", "cosh", "tan", "asinh", "acosh", "atanh", "isnan",
        "isinf", "isfinite", "isposinf", "isneginf", "nan_to_num", "sign", "reciprocal",
        "logical_not", "asin", "acos", "arctan", "log1p")],
    *[(f"{fn}-i64", f"torch.{fn}(i64)") for fn in (
        "floor", "ceil", "round", "trunc", "square", "erf", "log2", "isnan", "isfinite",
        "nan_to_num", "expm1", "atan", "sinh", "logical_not")],
    ("round-dec2", "torch.round(s64 * 1.237, decimals=2)"),
    ("round-dec-1", "torch.round(n64 * 10, decimals=-1)"),
    ("round-half", "torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 3.5]))"),
    ("fmod-scalar", "torch.fmod(x64, 2.0)"), ("fmod-tensor", "torch.fmod(x64, y64)"),
    ("remainder-scalar", "torch.remainder(x64, 2.0)"), ("remainder-tensor", "torch.remainder(x64, y64)"),
    ("remainder-op", "x64 % -2"), ("rmod", "5.0 % y64"),
    ("fmod-int", "torch.fmod(i64, d64)"), ("remainder-int", "torch.remainder(i64, d64)"),
    ("remainder-int-scalar", "i64 % 4"), ("fmod-int-neg-scalar", "torch.fmod(i64, -4)"),
    ("atan2", "torch.atan2(s64, r64)"), ("atan2-int", "torch.atan2(i64, d64)"),
    ("atan2-zeros", "torch.atan2(torch.tensor([0.0, -0.0, 0.0, -0.0]), torch.tensor([0.0, 0.0, -0.0, -0.0]))"),
    ("hypot", "torch.hypot(s64, r64)"), ("hypot-big", "torch.hypot(big64, big64)"),
    ("hypot-f32", "torch.hypot(s32, r32)"),
    ("expm1-big", "torch.expm1(big64)"), ("sinh-big", "torch.sinh(big64)"),
    ("cosh-big", "torch.cosh(big64)"), ("asinh-big", "torch.asinh(big64)"), ("acosh-big", "torch.acosh(big64)"),
    ("nan_to_num-args", "torch.nan_to_num(s64, nan=7.0, posinf=1e3, neginf=-2.0)"),
    ("logical_and", "torch.logical_and(b, c)"), ("logical_or", "torch.logical_or(b, c)"),
    ("logical_xor", "torch.logical_xor(b, c)"), ("logical_and-float", "torch.logical_and(s64, r64)"),
    ("prod", "torch.prod(u64)"), ("prod-dim", "u64.prod(1)"), ("prod-keepdim", "z64.prod(0, keepdim=True)"),
    ("prod-int", "torch.prod(i64)"), ("prod-bool", "torch.prod(b)"), ("prod-empty", "torch.prod(e64, 0)"),
    ("prod-empty-all", "torch.prod(e64)"), ("prod-nan", "torch.prod(s64)"), ("prod-neg-dim", "n64.prod(-2)"),
    ("prod-f32", "u32.prod(0)"),
    ("cumsum", "torch.cumsum(n64, 2)"), ("cumsum-neg", "n64.cumsum(-3)"), ("cumsum-int", "torch.cumsum(i64, 0)"),
    ("cumsum-bool", "torch.cumsum(b, 0)"), ("cumsum-empty", "torch.cumsum(e64, 0)"),
    ("cumsum-nan", "torch.cumsum(s64, 0)"), ("cumsum-dtype", "torch.cumsum(i64, 0, dtype=torch.float64)"),
    ("cumprod", "torch.cumprod(u64, 1)"), ("cumprod-zeros", "z64.cumprod(1)"), ("cumprod-int", "torch.cumprod(d64, 0)"),
    ("var", "torch.var(n64)"), ("var-dim", "n64.var(1)"), ("var-dims-keep", "n64.var((0, 2), keepdim=True)"),
    ("var-unbiased-false", "torch.var(n64, 1, False)"), ("var-correction", "torch.var(n64, dim=2, correction=0)"),
    ("var-one", "torch.var(torch.tensor([3.0]))"), ("var-pos-unbiased", "torch.var(u64, False)"),
    ("std", "torch.std(n64)"), ("std-dim", "n64.std(-1, keepdim=True)"), ("std-correction2", "torch.std(p64, 1, correction=2)"),
    ("std_mean", "torch.std_mean(n64, 1)"), ("var_mean", "torch.var_mean(n64, dim=(0, 1))"),
    ("std-f32", "u32.std(0)"),
    ("logsumexp", "torch.logsumexp(n64, 1)"), ("logsumexp-big", "torch.logsumexp(n64 * 300, (0, 2))"),
    ("logsumexp-inf", "torch.logsumexp(torch.tensor([[-float('inf'), -float('inf')], [float('inf'), 1.0]]), 1)"),
    ("logsumexp-keep", "n64.logsumexp(-1, keepdim=True)"), ("logsumexp-int", "torch.logsumexp(i64, 0)"),
    ("all", "torch.all(b)"), ("any", "torch.any(b)"), ("all-dim", "torch.all(z64, 1)"),
    ("any-dim-keep", "z64.any(0, keepdim=True)"), ("all-empty", "torch.all(e64)"), ("any-empty", "torch.any(e64)"),
    ("all-float", "s64.all()"), ("any-int", "i64.any()"),
    ("count_nonzero", "torch.count_nonzero(z64)"), ("count_nonzero-dim", "torch.count_nonzero(z64, dim=0)"),
    ("count_nonzero-dims", "z64.count_nonzero((0, 1))"),
    ("aminmax", "torch.aminmax(n64)"), ("aminmax-dim", "torch.aminmax(n64, dim=1, keepdim=True)"),
    ("amin-nan", "torch.amin(s64)"),
    ("isclose", "torch.isclose(s64, s64 + 1e-9)"), ("isclose-nan", "torch.isclose(s64, s64, equal_nan=True)"),
    ("isclose-tol", "torch.isclose(u64, u64 * 1.01, rtol=0.02, atol=0.0)"),
    ("isclose-int", "torch.isclose(i64, d64)"),
    ("allclose", "torch.allclose(u64, u64 + 1e-9)"), ("allclose-no", "torch.allclose(u64, u64 + 1e-3)"),
    ("allclose-nan", "torch.allclose(s64, s64)"), ("allclose-nan-eq", "s64.allclose(s64, equal_nan=True)"),
    ("equal", "torch.equal(u64, u64 * 1)"), ("equal-no", "torch.equal(u64, u64 + 1)"),
    ("equal-shape", "torch.equal(u64, u64[:2])"), ("equal-nan", "torch.equal(s64, s64)"),
]

#: (id, expression of a float64 tensor computed from the named inputs, input names):
#: the gradient of (out * w).sum() for fixed weights w is compared
GRADS = [
    ("prod-zero", "z64.prod()", ("z64",)), ("prod-dim-zero", "z64.prod(1)", ("z64",)),
    ("prod-zeros-dim0", "z64.prod(0)", ("z64",)),
    ("cumprod-zero", "z64.cumprod(1)", ("z64",)), ("cumprod-zero0", "z64.cumprod(0)", ("z64",)),
    ("cumsum", "n64.cumsum(1)", ("n64",)),
    ("std", "n64.std(1)", ("n64",)), ("var", "n64.var()", ("n64",)),
    ("logsumexp", "torch.logsumexp(n64, 2)", ("n64",)),
    ("remainder", "torch.remainder(x64, 2.5)", ("x64",)),
    ("fmod", "torch.fmod(u64 * 5, p64)", ("u64", "p64")),
    ("remainder-t", "torch.remainder(u64 * 5, -p64)", ("u64", "p64")),
    ("atan2", "torch.atan2(u64, p64)", ("u64", "p64")), ("hypot", "torch.hypot(u64, p64)", ("u64", "p64")),
    ("erf", "torch.erf(n64)", ("n64",)), ("erfc", "torch.erfc(n64)", ("n64",)),
    ("asin", "torch.asin(u64)", ("u64",)), ("acos", "torch.acos(u64)", ("u64",)),
    ("atan", "torch.atan(n64)", ("n64",)), ("expm1", "torch.expm1(n64)", ("n64",)),
    ("sinh", "n64.sinh()", ("n64",)), ("cosh", "n64.cosh()", ("n64",)), ("tan", "u64.tan()", ("u64",)),
    ("asinh", "n64.asinh()", ("n64",)), ("acosh", "p64.acosh()", ("p64",)), ("atanh", "u64.atanh()", ("u64",)),
    ("log2", "p64.log2()", ("p64",)), ("log10", "p64.log10()", ("p64",)), ("rsqrt", "p64.rsqrt()", ("p64",)),
    ("floor", "n64.floor()", ("n64",)), ("round-dec", "n64.round(decimals=1)", ("n64",)),
    ("frac", "n64.frac()", ("n64",)), ("square", "n64.square()", ("n64",)),
    ("nan_to_num", "torch.nan_to_num(s64)", ("s64",)),
    ("aminmax", "torch.aminmax(z64, dim=0)[0] + torch.aminmax(z64, dim=0)[1]", ("z64",)),
]
