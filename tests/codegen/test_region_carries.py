"""Native loops keep their carry in two buffers that swap roles each step
(codegen/regions.py): every trip count's parity, a carry passed through unchanged,
carries that read each other, and a while_loop's data-dependent count, against the
interpreter."""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.ir import Builder, f32, i64, tensor_type
from tapegrad.ir import primitives as P
from tapegrad.runtime import interpret
from tapegrad.runtime.compiler import compile_function

V = tensor_type(f32, (5,))


def _scan(length: int, reverse: bool):
    """Carries (a, b, c): a' = sin(a + b) + x, b' = a * 0.5 (reads the other carry),
    c' = c (passed through); ys: a * x."""
    b = Builder(f"scan_{length}_{int(reverse)}")
    a0, b0, c0 = b.param(V), b.param(V), b.param(V)
    xs = b.param(tensor_type(f32, (length, 5)))
    rb = Builder("step")
    a, bb, c, x = rb.param(V), rb.param(V), rb.param(V), rb.param(V)
    half = rb.full(V, 0.5)
    body = rb.build(rb.add(rb.sin(rb.add(a, bb)), x), rb.mul(a, half), c, rb.mul(a, x))
    s = b.emit(P.scan, a0, b0, c0, xs, body=body, num_consts=0, num_carry=3, length=length,
               reverse=reverse)
    return b.build(*[b.output(s, index=k) for k in range(4)])


@pytest.mark.parametrize("length", [0, 1, 2, 3, 6])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_carries_match_the_interpreter(length, reverse):
    fn = _scan(length, reverse)
    r = np.random.default_rng(length)
    args = [r.standard_normal(5).astype(np.float32) for _ in range(3)]
    args.append(r.standard_normal((length, 5)).astype(np.float32))
    got = compile_function(fn)(*args)
    for g, w in zip(got, interpret(fn, args)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def _while():
    """(n, x): while n < limit: (n + 1, x * 0.5 + n) -- as many steps as the data says."""
    n_t = tensor_type(i64, ())
    b = Builder("count_up")
    limit, n0, x0 = b.param(n_t), b.param(n_t), b.param(V)

    cb = Builder("cond")
    lim, n, _ = cb.param(n_t), cb.param(n_t), cb.param(V)
    cond = cb.build(cb.lt(n, lim))
    bb = Builder("body")
    _, n, x = bb.param(n_t), bb.param(n_t), bb.param(V)
    nf = bb.broadcast(bb.convert(n, dtype=f32), shape=(5,))
    body = bb.build(bb.add(n, bb.full(n_t, 1)), bb.add(bb.mul(x, bb.full(V, 0.5)), nf))
    w = b.emit(P.while_loop, limit, n0, x0, cond=cond, body=body, num_consts=1)
    return b.build(b.output(w, index=0), b.output(w, index=1))


def test_while_carries_end_in_the_output_for_odd_and_even_trip_counts():
    fn = _while()
    native = compile_function(fn)
    x = np.linspace(-1, 1, 5).astype(np.float32)
    for limit in (0, 1, 2, 5, 8):
        args = [np.array(limit, np.int64), np.array(0, np.int64), x]
        got = native(*args)
        want = interpret(fn, args)
        assert int(got[0]) == limit
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
