"""tg.compile(f, donate_argnums=...): a result written into a donated argument's array.

Only when it is safe (codegen.plan.donations: the result is a gemm epilogue accumulating
into that very parameter, read by no later loop nest, not a gemm factor) and the array
allows it (writable, contiguous, aligned, sharing memory with no other argument);
otherwise the result gets a fresh array.  Either way the values are the same.
"""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.codegen.plan import donations
from tapegrad.tracer.transforms_lower import MISS


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _loss(w1, w2, x, y):
    return (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()


def _sgd(w1, w2, x, y):
    loss, (g1, g2) = tg.value_and_grad(_loss, argnums=(0, 1))(w1, w2, x, y)
    return loss, w1 - 1e-3 * g1, w2 - 1e-3 * g2


def _data():
    return f32(6, 4, seed=1), f32(4, 3, seed=2), f32(5, 6, seed=3), f32(5, 3, seed=4)


def test_the_sgd_step_updates_both_weights_in_place_with_the_same_values():
    plain, donating = tg.compile(_sgd), tg.compile(_sgd, donate_argnums=(0, 1))
    w1, w2, x, y = _data()
    a, b = [w1.copy(), w2.copy()], [w1.copy(), w2.copy()]
    for _ in range(4):  # the first call traces; the later ones take the cached path
        want = [t.numpy() for t in plain(a[0], a[1], x, y)]
        given = b[:]
        got = [t.numpy() for t in donating(b[0], b[1], x, y)]
        assert got[1] is given[0] and got[2] is given[1]  # written into the donated arrays
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        a, b = want[1:], got[1:]
    np.testing.assert_array_equal(x, _data()[2])  # undonated arguments untouched


def test_donations_only_where_the_parameter_is_not_read_afterwards():
    w1, w2, x, y = _data()
    fn = tg.compile(_sgd).lower(w1, w2, x, y).optimized
    assert donations(fn) == {1: 0, 2: 1}

    def read_after(w, x, g):  # the update, then a result that reads w again
        new = w - 0.5 * (x.t().mm(g))
        return new, (new * w).sum()

    fn = tg.compile(read_after).lower(f32(5, 4), f32(3, 5), f32(3, 4)).optimized
    assert donations(fn) == {}

    def factor_is_w(w, g):  # gemm would read the array it writes
        return w - 0.5 * w.t().mm(g)

    fn = tg.compile(factor_is_w).lower(f32(4, 4), f32(4, 4)).optimized
    assert donations(fn) == {}

    def returns_w(w, x, g):
        return w - 0.5 * x.t().mm(g), w

    fn = tg.compile(returns_w).lower(f32(5, 4), f32(3, 5), f32(3, 4)).optimized
    assert donations(fn) == {}

    def expression_accumulator(w, x, g):  # exp(w) + ...: no buffer of w's to reuse
        return tg.exp(w) - 0.5 * x.t().mm(g)

    fn = tg.compile(expression_accumulator).lower(f32(5, 4), f32(3, 5), f32(3, 4)).optimized
    assert donations(fn) == {}


def test_arrays_that_cannot_be_given_up_get_fresh_results():
    def update(w, x, g):
        return w - 0.5 * x.t().mm(g)

    step = tg.compile(update, donate_argnums=0)
    w, x, g = f32(5, 4), f32(3, 5), f32(3, 4)
    want = w - 0.5 * (x.T @ g)
    step(w.copy(), x, g)  # trace and compile

    def check(arg, *, in_place, others=(x, g)):
        before = np.array(arg, copy=True)
        out = step(arg, *others).numpy()
        np.testing.assert_allclose(out, want, rtol=1e-6)
        assert (out is arg) == in_place
        if not in_place and isinstance(arg, np.ndarray):
            np.testing.assert_array_equal(arg, before)  # not written

    check(w.copy(), in_place=True)
    ro = w.copy()
    ro.flags.writeable = False
    check(ro, in_place=False)
    check(np.asfortranarray(w), in_place=False)
    check(tg.tensor(w), in_place=False)  # a tensor's buffer is never given away
    big = np.zeros((5, 8), np.float32)
    big[:, :4] = w
    check(big[:, :4], in_place=False)  # a strided view
    # the donated array is also another argument: writing it would change what gemm reads
    square = tg.compile(lambda w, v, g: w - 0.5 * v.t().mm(g), donate_argnums=0)
    sq, gs = f32(4, 4, seed=5), f32(4, 4, seed=6)
    want_sq = sq - 0.5 * (sq.T @ gs)
    out = square(sq, sq, gs).numpy()
    assert out is not sq
    np.testing.assert_allclose(out, want_sq, rtol=1e-6)
    shared = sq.copy()
    out = square(shared, shared[:], gs).numpy()  # a view of it: shares memory
    assert out is not shared
    np.testing.assert_allclose(out, want_sq, rtol=1e-6)


def test_donating_a_static_argument_is_an_error_and_floats_are_ignored():
    with pytest.raises(ValueError, match="both static"):
        tg.compile(lambda w, n: w * n, static_argnums=1, donate_argnums=1)
    step = tg.compile(lambda w, s, g: w - s * g.t().mm(g), donate_argnums=(0, 1))
    w, g = f32(4, 4), f32(3, 4)
    for _ in range(2):
        out = step(w.copy(), 0.5, g).numpy()
        np.testing.assert_allclose(out, w - 0.5 * (g.T @ g), rtol=1e-5, atol=1e-6)


def test_the_fast_call_donates_under_the_same_rules():
    """Once a signature repeats, calls take the generated fast call: it writes into the
    donated array too, and still gives fresh results to a read-only array, to one that
    shares memory with another argument, and to a tensor (it leaves those to the
    checked path or allocates); the values are the same every way."""
    square = tg.compile(lambda w, v, g: w - 0.5 * v.t().mm(g), donate_argnums=0)
    w, v, g = f32(4, 4, seed=5), f32(4, 4, seed=7), f32(4, 4, seed=6)
    for _ in range(3):
        arg = w.copy()
        out = square(arg, v, g).numpy()
        assert out is arg
        np.testing.assert_allclose(out, w - 0.5 * (v.T @ g), rtol=1e-6)
    fast = square._cache.fast
    assert fast is not None and "r0 = a0" in fast.source
    answered = []  # per call: whether the fast call answered it (not a MISS)

    def counting(args):
        result = fast(args)
        answered.append(result is not MISS)
        return result

    square._cache.fast = counting

    def fresh(arg, other, want):
        before = np.array(arg, copy=True)
        out = square(arg, other, g).numpy()
        assert out is not arg
        np.testing.assert_allclose(out, want, rtol=1e-6)
        if isinstance(arg, np.ndarray) and not np.shares_memory(arg, other):
            np.testing.assert_array_equal(arg, before)

    same = w.copy()
    fresh(same, same, w - 0.5 * (w.T @ g))  # the same array as another argument
    fresh(same, same[:], w - 0.5 * (w.T @ g))  # a view of it
    ro = w.copy()
    ro.flags.writeable = False
    fresh(ro, v, w - 0.5 * (v.T @ g))
    assert answered == [True, True, True]
    t = tg.tensor(w.copy())
    fresh(t, v, w - 0.5 * (v.T @ g))  # a tensor: a miss, then the checked path
    np.testing.assert_array_equal(t.numpy(), w)
