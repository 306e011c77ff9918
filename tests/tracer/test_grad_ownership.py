"""Who owns a `.grad` buffer is decided by lifetimes, never by reference counts.

Backward may make the adjoint's fresh array the buffer of a `.grad` that zero_()
cleared instead of adding into zeros (engine._replace_zeroed).  That is only
right when nothing else can see the old buffer: a held `.numpy()`, a view, a
`.data` or `detach()` tensor must see the new gradient, as PyTorch's in-place
accumulation shows it.  And no later result may share memory with a result the
caller still holds.
"""
import gc
import sys
import weakref

import numpy as np
import pytest

import tapegrad as tg


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


X = f32(6, 5, seed=1)
W = f32(5, 4, seed=2)


def _expected_grad():
    # d/dw sum((x @ w)^2) = 2 x^T (x w)
    return 2 * X.T @ (X @ W)


def _setup():
    x = tg.tensor(X)
    w = tg.tensor(W.copy(), requires_grad=True)

    def backward():
        x.mm(w).pow(2).sum().backward()
    return w, backward


HOLDERS = {
    "numpy()": lambda g: g.numpy(),
    "np.asarray": lambda g: np.asarray(g),
    "a view": lambda g: g.view(-1),
    "a row": lambda g: g[1],
    "the transpose": lambda g: g.t(),
    ".data": lambda g: g.data,
    "detach()": lambda g: g.detach(),
}


def _as_array(held):
    return held if isinstance(held, np.ndarray) else held.numpy()


@pytest.mark.parametrize("holder", HOLDERS, ids=list(HOLDERS))
def test_what_holds_a_zeroed_grad_sees_the_next_gradient(holder):
    w, backward = _setup()
    for _ in range(3):  # the later steps run the adjoint as native code
        backward()
        with tg.no_grad():
            w.grad.zero_()
        held = HOLDERS[holder](w.grad)
        backward()
        want = _expected_grad()
        np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-5)
        got = _as_array(held)
        np.testing.assert_allclose(got, want.reshape(-1) if holder == "a view" else
                                   want[1] if holder == "a row" else
                                   want.T if holder == "the transpose" else want, rtol=1e-5)
        assert np.shares_memory(got, w.grad.numpy())
        del held, got
        w.grad = None


def test_a_zeroed_grad_nobody_holds_takes_the_fresh_array():
    """The optimisation is alive: with nothing holding the old buffer it is let go
    (a weak reference to it dies) and the values are the gradient's."""
    w, backward = _setup()
    backward()
    g = w.grad
    with tg.no_grad():
        g.zero_()
    old = weakref.ref(g._data)
    version = g._version[0]
    backward()
    assert w.grad is g and g._version[0] == version + 1
    assert old() is None
    np.testing.assert_allclose(g.numpy(), _expected_grad(), rtol=1e-5)


def test_no_later_result_shares_memory_with_a_held_one():
    """Every step's gradient is held; none of the later ones may be (or overlap) an
    earlier one, and the held values must not change."""
    w, backward = _setup()
    held, values = [], []
    for step in range(6):
        backward()
        g = w.grad.numpy()
        for earlier in held:
            assert not np.shares_memory(g, earlier)
        held.append(g)
        values.append(g.copy())
        if step % 2:
            w.grad = None  # the next backward makes a new .grad
        else:
            with tg.no_grad():
                w.grad.zero_()  # the next backward writes into (or replaces) this one
            held.pop()  # zeroed on purpose: its old values are gone
            values.pop()
    for g, v in zip(held, values):
        np.testing.assert_array_equal(g, v)


def test_ownership_never_asks_for_reference_counts(monkeypatch):
    """CPython 3.14 borrows references and reports lower counts: the engine must not
    depend on them.  With sys.getrefcount unusable, the zeroed-grad path still works."""
    def refuse(obj):
        raise AssertionError("ownership must not depend on sys.getrefcount")
    w, backward = _setup()
    backward()
    monkeypatch.setattr(sys, "getrefcount", refuse)
    for _ in range(3):
        with tg.no_grad():
            w.grad.zero_()
        held = w.grad.numpy()
        backward()
        assert held is w.grad.numpy()
        del held
        with tg.no_grad():
            w.grad.zero_()
        backward()
        np.testing.assert_allclose(w.grad.numpy(), _expected_grad(), rtol=1e-5)
    gc.collect()


def test_a_grad_sharing_a_users_array_is_added_into():
    """`w.grad = tg.from_numpy(a)`: .grad shares the caller's array, which must see the
    gradient after zero_() (a buffer that does not own its memory is never replaced)."""
    w, backward = _setup()
    mine = np.zeros((10, 4), np.float32)
    w.grad = tg.from_numpy(mine[::2])  # a strided view of the caller's memory
    with tg.no_grad():
        w.grad.zero_()
    backward()
    np.testing.assert_allclose(mine[::2], _expected_grad(), rtol=1e-5)
    assert not mine[1::2].any()
