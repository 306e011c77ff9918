"""Region programs (cond, scan, while_loop) built with the Builder, for the IR tests."""
from __future__ import annotations

from tapegrad.ir import Builder, bool_, tensor_type
from tapegrad.ir import primitives as P


def _sub(name, types, body):
    b = Builder(name)
    params = [b.param(t, f"a{i}") for i, t in enumerate(types)]
    return b.build(*body(b, *params))


def scan_tanh_rnn(b: Builder, w, h, xs, reverse=False):
    """carry' = tanh(carry @ w + x), y = sum(carry' * carry'); returns (final, ys)."""
    step = _sub("step", [w.type, h.type, xs.type.with_shape(xs.shape[1:])],
                lambda s, w_, c, x: (lambda n: (n, s.reduce_sum(s.mul(n, n), axes=(0, 1))))(
                    s.tanh(s.add(s.matmul(c, w_), x))))
    t = b.scan(w, h, xs, body=step, num_consts=1, num_carry=1, length=xs.shape[0],
               reverse=reverse)
    return b.output(t, index=0), b.output(t, index=1)


def cond_sin_or_square(b: Builder, x, y):
    """sum(x) > 0 ? sin(x) * y : x * x - y."""
    s = b.reduce_sum(x, axes=tuple(range(len(x.shape))))
    pred = b.gt(s, b.full(s.type, 0))
    true = _sub("true", [x.type, y.type], lambda c, a, bb: (c.mul(c.sin(a), bb),))
    false = _sub("false", [x.type, y.type], lambda c, a, bb: (c.sub(c.mul(a, a), bb),))
    t = b.cond(pred, x, y, true=true, false=false)
    return b.output(t, index=0)


def while_doubling(b: Builder, x, limit: float = 100.0):
    """x * 2 while sum(x) < limit (a carry-only loop)."""
    scalar = tensor_type(x.dtype, ())
    cond = _sub("cond", [x.type], lambda c, a: (
        c.lt(c.reduce_sum(a, axes=tuple(range(len(x.shape)))), c.full(scalar, limit)),))
    body = _sub("body", [x.type], lambda c, a: (c.mul(a, c.full(x.type, 2)),))
    t = b.while_loop(x, cond=cond, body=body, num_consts=0)
    return b.output(t, index=0)


BOOL = tensor_type(bool_, ())
