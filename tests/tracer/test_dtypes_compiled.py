"""tg.compile and tg.grad take every dtype: compiled results equal eager ones (the
interpreter, the oracle) bit for bit, and so PyTorch's recorded float16 results."""
import json
import os
import sys

import numpy as np
import pytest

import tapegrad as tg

HERE = os.path.join(os.path.dirname(__file__), "data")
sys.path.insert(0, HERE)
from dtype_cases import F16_A, F16_B  # noqa: E402

RECORDED = json.load(open(os.path.join(HERE, "dtypes_torch.json")))["cases"]

NUMERIC = ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _values(name, rng, shape=(3, 17)):
    dt = getattr(tg, name)
    if dt.is_floating_point:
        return tg.tensor((rng.standard_normal(shape) * 4).astype(dt.np))
    info = np.iinfo(dt.np)
    return tg.tensor(rng.integers(info.min, info.max, shape, dtype=dt.np, endpoint=True))


def _program(x, y):
    out = [x + y, x * y, x - y, x * 3, x > y, tg.maximum(x, y), -x, (x + y).sum(1),
           x.max(1).values, x.argmax(1)]
    if x.dtype.is_floating_point:
        out += [x / y, (x * 0.1 + 1.5).exp().sum(), tg.tanh(x) @ y.t(), x.double(), x.half()]
    else:
        out += [x // tg.where(y == 0, tg.ones_like(y), y), x.float() / 3, x.to(tg.int8),
                x.to(tg.uint8), x.half()]
    return out


@pytest.mark.parametrize("name", NUMERIC)
def test_compiled_equals_eager_in_every_dtype(name):
    rng = np.random.default_rng(5)
    x, y = _values(name, rng), _values(name, rng)
    eager = _program(x, y)
    compiled = tg.compile(_program)(x, y)
    for k, (e, c) in enumerate(zip(eager, compiled)):
        assert c.dtype is e.dtype and c.shape == e.shape, (name, k)
        if e.dtype in (tg.float32, tg.float64):  # sums and matmuls may add in another order
            np.testing.assert_allclose(c.numpy(), e.numpy(), rtol=2e-5, atol=1e-5, err_msg=f"{k}")
        else:
            assert np.array_equal(c.numpy(), e.numpy(), equal_nan=e.dtype.is_floating_point), (
                name, k, c.numpy(), e.numpy())


def _recorded(expr):
    r = RECORDED[expr]
    return np.frombuffer(bytes.fromhex(r["bytes"]), np.float16).reshape(r["shape"])


@pytest.mark.parametrize("expr, fn", [
    ("A * B", lambda A, B: A * B), ("A * 0.1", lambda A, B: A * 0.1),
    ("A / 3.0", lambda A, B: A / 3.0), ("B.exp()", lambda A, B: B.exp()),
    ("A.tanh()", lambda A, B: A.tanh()), ("A.mean()", lambda A, B: A.mean()),
    ("A.sum()", lambda A, B: A.sum()), ("(A * B).sum()", lambda A, B: (A * B).sum()),
    ("A.reshape(2, 5) @ B.reshape(5, 2)", lambda A, B: A.reshape(2, 5) @ B.reshape(5, 2)),
    ("torch.nn.functional.softmax(A.reshape(2, 5) / 50, 1)",
     lambda A, B: tg.nn.functional.softmax(A.reshape(2, 5) / 50, 1)),
])
def test_compiled_float16_equals_pytorch(expr, fn):
    A, B = tg.tensor(F16_A, dtype=tg.float16), tg.tensor(F16_B, dtype=tg.float16)
    got = tg.compile(fn)(A, B).numpy()
    assert got.dtype == np.float16
    assert np.array_equal(got, _recorded(expr)), (expr, got, _recorded(expr))


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_grad_in_float_dtypes_equals_eager_backward(name):
    dt = getattr(tg, name)
    x0 = tg.tensor([0.1, -1.7, 3.3, 0.5], dtype=dt)

    def loss(x):
        return (x * x.sin() + x / 3.0).sum()

    g = tg.grad(loss)(x0)
    x = x0.clone().requires_grad_()
    loss(x).backward()
    assert g.dtype is dt
    np.testing.assert_array_equal(g.numpy(), x.grad.numpy())


def test_grad_through_conversions_compiled():
    def loss(x):
        return (x.half().float() * x.double().float()).sum()

    x0 = tg.tensor([0.1, 2.5, -3.3])
    g = tg.grad(loss)(x0)
    x = x0.clone().requires_grad_()
    loss(x).backward()
    np.testing.assert_array_equal(g.numpy(), x.grad.numpy())


def test_integer_division_by_zero_never_kills_the_process():
    """PyTorch's RuntimeError, eagerly and from compiled code, which does not trap (x86's
    idiv would) but reports the zero divisor through its status record."""
    x = tg.tensor([5, -6, 7], dtype=tg.int32)
    y = tg.tensor([0, 0, 2], dtype=tg.int32)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        x // y
    for dt in (tg.int8, tg.int32, tg.int64, tg.uint8):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            tg.compile(lambda a, b: a // b)(x.to(dt), y.to(dt))
        got = tg.compile(lambda a, b: a // b)(x.to(dt), (y + 2).to(dt))
        assert got.dtype is dt and got.numpy()[2] == (7 // 4)


def test_float16_matmul_then_add_rounds_the_product_first():
    """a @ b + c in float16 is two rounded operations (PyTorch's), never one fused gemm
    with the sum inside its float32 accumulator."""
    rng = np.random.default_rng(6)
    a, b = (tg.tensor(rng.standard_normal(s).astype(np.float16)) for s in ((4, 30), (30, 5)))
    c = tg.tensor((rng.standard_normal((4, 5)) * 0.37).astype(np.float16))
    f = lambda a, b, c: a @ b + c  # noqa: E731
    got = tg.compile(f)(a, b, c).numpy()
    product = (a.numpy().astype(np.float64) @ b.numpy()).astype(np.float32).astype(np.float16)
    want = (product.astype(np.float32) + c.numpy()).astype(np.float16)
    assert np.array_equal(got, want) and np.array_equal(f(a, b, c).numpy(), want)


def test_narrow_dtypes_through_the_maths_surface():
    """float16 cumsum keeps a float32 running sum and rounds each output (PyTorch's CPU
    kernel; checked against torch 2.13 when this was written); integer fmod/remainder in
    every width, unsigned included, compiled as eagerly."""
    rng = np.random.default_rng(7)
    x = tg.tensor((rng.standard_normal(300) * 10).astype(np.float16))
    y = tg.tensor(np.arange(-5, 6, dtype=np.int16))
    f = lambda x, y: (x.cumsum(0), x.floor(), tg.fmod(x, 1.5), y % 3,  # noqa: E731
                      tg.fmod(y.to(tg.uint8), 7), tg.fmod(y.to(tg.int8), -3))
    eager, compiled = f(x, y), tg.compile(f)(x, y)
    for e, c in zip(eager, compiled):
        assert e.dtype is c.dtype and np.array_equal(e.numpy(), c.numpy())
    running = np.cumsum(x.numpy().astype(np.float32)).astype(np.float16)
    assert np.array_equal(eager[0].numpy(), running)
