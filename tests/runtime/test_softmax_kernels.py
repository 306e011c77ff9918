"""softmax, log_softmax and their backward kernels against PyTorch's recorded bits, and
native code against the interpreter.

data/softmax_torch.npz holds PyTorch 2.13's values and gradients (AVX-512 kernels),
written by record_softmax_torch.py.  Along the last axis in float32 and float16 the
interpreter, the eager API and native code give PyTorch's bits exactly; along an inner
axis PyTorch's scalar tails call libm's expf (how many depends on its thread split),
and float64 uses numpy's exp/log rather than SLEEF's, so those compare within an ulp
or two.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import Builder, f16, f32, f64, tensor_type
from tapegrad.runtime import interpret
from tapegrad.runtime import softmax_kernels as K
from tapegrad.runtime.compiler import compile_function

DATA = np.load(Path(__file__).resolve().parent / "data" / "softmax_torch.npz")
KEYS = sorted({k.rsplit("-", 1)[0] for k in DATA.files}, key=lambda k: (int(k.split("-")[0]), k))
BACKWARD = {"softmax": K.softmax_backward_data, "log_softmax": K.log_softmax_backward_data}


def case(key):
    get = lambda what: DATA[f"{key}-{what}"]  # noqa: E731
    x = get("x")
    dim = int(get("dim")) % x.ndim
    return x, get("g"), get("y"), get("grad"), dim, key.split("-", 1)[1]


def exact(x, dim) -> bool:
    return dim == x.ndim - 1 and x.dtype != np.float64


def assert_matches(got, want, x, dim, what):
    if exact(x, dim):
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    # within two ulps of the result's scale (log_softmax's values reach |x - max| ~ 100)
    ulp = np.finfo(want.dtype).eps * np.maximum(1, np.abs(np.nan_to_num(want)))
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    both_nan = np.isnan(got) & np.isnan(want)
    assert np.all(both_nan | (diff <= 2 * ulp)), (what, np.nanmax(diff / ulp))


def test_the_recording_covers_both_kernels_and_paths():
    kinds = {(case(k)[5], exact(case(k)[0], case(k)[4])) for k in KEYS}
    assert kinds == {(n, e) for n in ("softmax", "log_softmax") for e in (True, False)}


@pytest.mark.parametrize("key", KEYS)
def test_interpreter_rules_give_pytorchs_values(key):
    x, g, y, grad, dim, name = case(key)
    assert_matches(getattr(K, name)(x, axis=dim), y, x, dim, "forward")
    assert_matches(BACKWARD[name](g, y, axis=dim), grad, x, dim, "backward")


@pytest.mark.parametrize("key", [k for k in KEYS if exact(case(k)[0], case(k)[4])])
def test_eager_api_gives_pytorchs_bits_and_nodes(key):
    x, g, y, grad, dim, name = case(key)
    t = tg.tensor(x, requires_grad=True)
    out = getattr(tg, name)(t, dim)
    assert type(out.grad_fn).__name__ == str(DATA[f"{key}-node"])
    out.backward(tg.tensor(g))
    np.testing.assert_array_equal(out.detach().numpy(), y)
    np.testing.assert_array_equal(t.grad.numpy(), grad)
    (gx,) = tg.autograd.grad(getattr(t, name)(dim), t, tg.tensor(g), create_graph=True)
    assert type(gx.grad_fn).__name__ == str(DATA[f"{key}-node2"])
    np.testing.assert_array_equal(gx.detach().numpy(), grad)


def test_functional_and_cross_entropy_use_the_kernel():
    x, g, y, grad, dim, _ = case(KEYS[0])
    t = tg.tensor(x, requires_grad=True)
    out = tg.nn.functional.log_softmax(t, dim)
    assert type(out.grad_fn).__name__ == "LogSoftmaxBackward0"
    loss = tg.nn.functional.cross_entropy(t, tg.tensor([0, 3, 1]))
    assert "log_softmax" in str(tg.autograd.tape(loss))


def _program(dt, shape, axis):
    """All four kernels, with an elementwise producer fused into one of them."""
    b = Builder("softmaxes")
    x, g = b.param(tensor_type(dt, shape)), b.param(tensor_type(dt, shape))
    y = b.softmax(x, axis=axis)
    ly = b.log_softmax(b.mul(x, x), axis=axis)
    return b.build(y, ly, b.softmax_backward_data(g, y, axis=axis),
                   b.log_softmax_backward_data(g, ly, axis=axis))


SHAPES = [((3, 4), 1), ((5, 33), 1), ((2, 3, 40), 2), ((3, 16), 1), ((4, 17), 0),
          ((2, 5, 3), 1), ((7,), 0), ((1, 1), 1), ((2, 0), 1), ((0, 3), 1)]


@pytest.mark.parametrize("dt", [f32, f16, f64], ids=lambda d: d.name)
def test_native_code_gives_the_interpreters_bits(dt):
    rng = np.random.default_rng(3)
    for shape, axis in SHAPES:
        fn = _program(dt, shape, axis)
        x = rng.uniform(-6, 6, shape)
        if x.size > 4:
            x.flat[1], x.flat[3] = 60.0, -np.inf  # a large row entry, a vanishing one
        args = [x.astype(dt.np), rng.uniform(-1, 1, shape).astype(dt.np)]
        want = interpret(fn, args)
        got = compile_function(fn)(*args)
        for w, o in zip(want, got):
            o = np.asarray(o)
            assert o.dtype == w.dtype and o.shape == w.shape
            if dt is f64:  # mathlib's exp/log against numpy's: within a few ulps
                np.testing.assert_allclose(o, w, rtol=4e-15, atol=1e-300, equal_nan=True)
            else:
                np.testing.assert_array_equal(o, w, err_msg=f"{shape} axis {axis}")


def test_native_sleef_exp_and_log_over_their_range():
    """The kernels' float32 exp and log, element by element, native against numpy: every
    argument a softmax can give exp (x - max <= 0, down to the underflow) and log (sums)."""
    rng = np.random.default_rng(4)
    x = np.concatenate([-rng.exponential(8, 40_000), np.linspace(-110, 0, 20_001),
                        [-0.0, -87.33, -103.97, -104.0, -104.01, -np.inf, np.nan]])
    x = x.astype(np.float32)
    # exp through log_softmax_backward_data on rows (g, y) = ([1, 0], [0, x]): the sum of
    # g is 1, so the second output is -exp(x) rounded once
    b = Builder("exp")
    g, y = b.param(tensor_type(f32, (x.size, 2))), b.param(tensor_type(f32, (x.size, 2)))
    fn = b.build(b.log_softmax_backward_data(g, y, axis=1))
    gs = np.tile(np.array([1, 0], np.float32), (x.size, 1))
    ys = np.stack([np.zeros_like(x), x], 1)
    (got,) = compile_function(fn)(gs, ys)
    np.testing.assert_array_equal(np.asarray(got)[:, 1], -K.sleef_expf(x))
    # the reference itself: SLEEF's expf stays within an ulp of the true exp
    e, true = K.sleef_expf(x), np.exp(x.astype(np.float64))
    finite = np.isfinite(true) & (true > 1e-37)
    assert np.all(np.abs(e[finite] - true[finite]) <= np.spacing(e[finite]))
    s = rng.uniform(1, 5000, 100_000).astype(np.float32)
    ls = K.sleef_logf(s)
    assert np.all(np.abs(ls - np.log(s.astype(np.float64))) <= np.spacing(ls))
