"""call_checked's cheaper path still fixes every layout it does not trust."""
from __future__ import annotations

import numpy as np

from tapegrad.ir import Builder, dtypes, tensor_type
from tapegrad.runtime import interpret
from tapegrad.runtime.compiler import compile_function


def _two_results(n, name):
    b = Builder(name)
    x = b.param(tensor_type(dtypes.f64, (n,)), "x")
    y = b.param(tensor_type(dtypes.f64, (n,)), "y")
    return b.build(b.mul(x, y), b.tanh(x))


def _unaligned(values):
    raw = np.zeros(values.size * 8 + 1, np.uint8)
    a = raw[1:].view(np.float64)
    a[:] = values
    assert not a.flags.aligned
    return a


def test_layouts_fixed_results_fresh():
    fn = _two_results(6, "fastpath_two")
    cf = compile_function(fn)
    x = np.linspace(-1, 1, 6)
    y = np.arange(6.0)
    want = interpret(fn, [x, y])
    cases = [
        [x, y],
        [np.arange(12.0)[::2] / 11 * 0 + x, y],       # contiguous copy made by arithmetic
        [np.stack([x, x])[:, 0:6][0], y[::-1][::-1]],  # views
        [np.linspace(-1, 1, 12)[::2], y],             # not contiguous
        [_unaligned(x), _unaligned(y)],                # not aligned
        [x.tolist(), y],                               # not an ndarray at all
    ]
    for args in cases:
        ref = interpret(fn, [np.asarray(a, np.float64) for a in args])
        outs = cf.call_checked(args)
        for o, r in zip(outs, ref):
            assert o.dtype == np.float64 and o.shape == (6,) and o.flags.c_contiguous
            np.testing.assert_allclose(o, r, rtol=1e-12)
        assert not np.may_share_memory(outs[0], outs[1])
        for a in args:
            if isinstance(a, np.ndarray):
                assert not any(np.may_share_memory(o, a) for o in outs)
    outs1, outs2 = cf(x, y), cf(x, y)
    assert not any(np.may_share_memory(a, b) for a in outs1 for b in outs2)
    for o, w in zip(outs1, want):
        np.testing.assert_allclose(o, w, rtol=1e-12)
