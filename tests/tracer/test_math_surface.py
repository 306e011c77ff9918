"""The maths surface of issue 15 against PyTorch 2.13's recorded results (values,
dtypes, shapes, NaN and inf, gradients and grad_fn names), and compiled
(tg.compile / tg.grad) against eager for the new primitives.

Expectations: data/math_surface_expected.npz, written by
data/record_math_surface.py from data/math_surface_torch_cases.py.
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

import tapegrad as tg

from .data.math_surface_torch_cases import GRADS, VALUES, inputs

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = np.load(os.path.join(HERE, "data", "math_surface_expected.npz"))
META = json.loads(str(EXPECTED["meta"]))
#: composites (log2 = log * 1/ln2, sinh from expm1, var in two passes, ...) round
#: differently from PyTorch's kernels by a few ulp
RTOL = {np.dtype(np.float64): 2e-13, np.dtype(np.float32): 2e-6}


def _tensors(requires=()):
    return {k: tg.tensor(a, requires_grad=k in requires) for k, a in inputs().items()}


def _close(got: np.ndarray, want: np.ndarray, what: str, zero_signs: bool = True):
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, PyTorch {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, PyTorch {want.shape}"
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=RTOL[want.dtype], atol=1e-300,
                                   equal_nan=True, err_msg=what)
        if not zero_signs:  # gradients: PyTorch's formulas and ours may sum zeros differently
            return
        both_zero = (got == 0) & (want == 0)
        assert np.array_equal(np.signbit(got[both_zero]), np.signbit(want[both_zero])), what
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("case_id,expr", VALUES, ids=[v[0] for v in VALUES])
def test_value_as_pytorch(case_id, expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = eval(expr, {"torch": tg, **_tensors()})
    meta = META[case_id]
    outs = tuple(out) if isinstance(out, tuple) else (out,)
    assert len(outs) == meta["n"], case_id
    if meta["kind"] == "bool":
        assert isinstance(out, bool), f"{case_id}: {type(out).__name__}, PyTorch a bool"
    for k, o in enumerate(outs):
        got = o.numpy() if isinstance(o, tg.Tensor) else np.asarray(o)
        _close(got, EXPECTED[f"value/{case_id}/{k}"], f"{case_id}[{k}]: {expr}")


@pytest.mark.parametrize("case_id,expr,names", GRADS, ids=[g[0] for g in GRADS])
def test_gradient_as_pytorch(case_id, expr, names):
    env = {"torch": tg, **_tensors(names)}
    out = eval(expr, env)
    assert out.grad_fn.name() == META[f"grad/{case_id}"]["grad_fn"] or "+" in expr, \
        f"{case_id}: grad_fn {out.grad_fn.name()}, PyTorch {META[f'grad/{case_id}']['grad_fn']}"
    w = tg.tensor(np.random.default_rng(7).uniform(0.5, 1.5, tuple(out.shape)))
    grads = tg.autograd.grad((out * w).sum(), [env[n] for n in names])
    for n, g in zip(names, grads):
        _close(g.numpy(), EXPECTED[f"grad/{case_id}/{n}"], f"d {case_id} / d {n}", False)


# ---------------------------------------------------------------- compiled against eager

_COMPILED = {
    "rounding": lambda x: tg.floor(x) + tg.ceil(x) * 2 + tg.round(x) * 3 + tg.trunc(x) * 5,
    "special": lambda x: tg.expm1(x) + tg.erf(x) - tg.erfc(x) + tg.atan(x) + tg.sinh(x),
    "inverse": lambda x: tg.asin(x / 9) + tg.acos(x / 9) + tg.atan2(x, x * x + 1),
    "remainders": lambda x: tg.fmod(x, 0.7) + tg.remainder(x, -0.7) + tg.hypot(x, x * 3),
    "reductions": lambda x: tg.prod(x / 4 + 1, 1) + tg.cumsum(x, 1)[:, -1]
    + tg.cumprod(x / 4, 1)[:, 2] + tg.std(x, 1) + tg.logsumexp(x, 1),
}


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
@pytest.mark.parametrize("name", sorted(_COMPILED))
def test_compiled_matches_eager(name, dtype):
    fn = _COMPILED[name]
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.uniform(-4, 4, (5, 37)), dtype=dtype)
    x_special = tg.tensor(np.array([[0.5, -0.5, 2.5, -0.0, 1e-8] * 7 + [3.0, 4.0]] * 5), dtype=dtype)
    loss = lambda t: fn(t).sum()  # noqa: E731
    rtol = 1e-5 if dtype is tg.float32 else 1e-12
    for arg in (x, x_special):
        np.testing.assert_allclose(tg.compile(fn)(arg).numpy(), fn(arg).numpy(), rtol=rtol,
                                   atol=rtol)
        xe = arg.detach().requires_grad_()
        loss(xe).backward()
        np.testing.assert_allclose(tg.grad(loss)(arg).numpy(), xe.grad.numpy(), rtol=rtol,
                                   atol=rtol)


# ---------------------------------------------------------------- edge cases and errors


def test_integer_division_by_zero_refused():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        tg.fmod(tg.tensor([3, 4]), 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        tg.tensor([3, 4]) % tg.tensor([1, 0])


def test_unsupported_dtypes_refused_as_pytorch():
    """PyTorch's NotImplementedError (a RuntimeError) and its words."""
    with pytest.raises(NotImplementedError, match="\"floor_vml_cpu\" not implemented for 'Bool'"):
        tg.floor(tg.tensor([True]))
    with pytest.raises(NotImplementedError, match="\"frac_cpu\" not implemented for 'Long'"):
        tg.frac(tg.tensor([1]))
    with pytest.raises(NotImplementedError, match="\"hypot_cpu\" not implemented for 'Long'"):
        tg.hypot(tg.tensor([1]), tg.tensor([1]))
    with pytest.raises(NotImplementedError, match="\"round_cpu\" not implemented for 'Long'"):
        tg.round(tg.tensor([15]), decimals=-1)


def test_std_of_integers_refused():
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        tg.std(tg.tensor([1, 2, 3]))


def test_in_place_variants_write_into_the_tensor():
    x = tg.tensor([1.7, -1.2, 2.5])
    y = x.floor_()
    assert y is x and x.tolist() == [1.0, -2.0, 2.0]
    x.round_(decimals=0)
    z = tg.tensor([5.0, -5.0])
    z %= 3
    assert z.tolist() == [2.0, 1.0]
    c = tg.tensor([1.0, 2.0, 3.0])
    c.cumsum_(0)
    assert c.tolist() == [1.0, 3.0, 6.0]


def test_prod_gradient_with_zeros_second_order():
    """d2/dx2 of prod with one zero: PyTorch's formula gives the product of the others."""
    x = tg.tensor([2.0, 0.0, 3.0], dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad(x.prod(), x, create_graph=True)
    assert g.tolist() == [0.0, 6.0, 0.0]
    (h,) = tg.autograd.grad(g[1], x)
    assert h.tolist() == [3.0, 0.0, 2.0]
