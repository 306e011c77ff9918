"""Helpers shared by the IR pass tests: short types, instruction lists, bit-for-bit
comparison of interpreter results, and random straight-line programs (hypothesis)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tapegrad.ir import Builder, Function, f64, parse, tensor_type, verify
from tapegrad.ir.primitives import OpGroup
from tapegrad.runtime import interpret

from helpers.op_tables import ARITHMETIC


def T(*shape, dtype=f64):
    return tensor_type(dtype, shape)


def prims(fn: Function) -> list[str]:
    return [i.prim.name for i in fn.body]


def assert_identical(a: np.ndarray, b: np.ndarray) -> None:
    """Same dtype, shape and values, NaN in the same places, zeros of the same sign.

    The sign bit of a NaN carries no meaning (the text form does not even spell it).
    """
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    if a.dtype.kind == "f":
        numbers = ~np.isnan(a)
        np.testing.assert_array_equal(np.signbit(a[numbers]), np.signbit(b[numbers]))


def same_results(before: Function, after: Function, args) -> None:
    verify(after)
    text = str(after)
    assert str(parse(text)) == text
    for x, y in zip(interpret(before, args), interpret(after, args)):
        assert_identical(x, y)


SHAPE = (2, 3)
UNARY = ["neg", "abs", "exp", "sin", "tanh", "stop_gradient", "sqrt", "log"]
BINARY = ARITHMETIC
CONSTANTS = [0.0, -0.0, 1.0, 2.0, np.nan, np.inf]


@st.composite
def programs(draw):
    """A random straight-line program over f64[2,3] with duplicates and constants."""
    b = Builder("random")
    pool = [b.param(T(*SHAPE)) for _ in range(2)]
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["unary", "binary", "const", "shape", "dup"]))
        pick = st.sampled_from(pool)
        if kind == "unary":
            pool.append(b.emit(draw(st.sampled_from(UNARY)), draw(pick)))
        elif kind == "binary":
            pool.append(b.emit(draw(st.sampled_from(BINARY)), draw(pick), draw(pick)))
        elif kind == "const":
            value = draw(st.sampled_from(CONSTANTS))
            if draw(st.booleans()):
                pool.append(b.broadcast(b.full(T(), value), shape=SHAPE))
            else:
                pool.append(b.full(T(*SHAPE), value))
        elif kind == "shape":
            x = draw(pick)
            there = draw(st.sampled_from([
                lambda v: b.transpose(v, perm=(1, 0)), lambda v: b.reshape(v, shape=(6,)),
                lambda v: b.reshape(v, shape=(3, 2)), lambda v: b.broadcast(v, shape=(1, 2, 3))]))
            back = {(3, 2): lambda v: b.reshape(v, shape=SHAPE) if draw(st.booleans())
                    else b.transpose(v, perm=(1, 0)),
                    (6,): lambda v: b.reshape(v, shape=SHAPE),
                    (1, 2, 3): lambda v: b.reshape(v, shape=SHAPE)}
            y = there(x)
            pool.append(back[y.shape](y))
        else:
            last = b.body[-1] if b.body else None
            if last is not None and last.prim.group in (OpGroup.UNARY, OpGroup.BINARY):
                pool.append(b.emit(last.prim, *last.operands, **last.attrs))
    n_results = draw(st.integers(1, 3))
    return b.build(*pool[-n_results:])


ARGS = [np.array([[-0.0, 0.5, np.nan], [np.inf, -2.5, 3.0]]),
        np.array([[0.0, -1.0, 2.0], [-np.inf, 0.25, -0.0]])]
