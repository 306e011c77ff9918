"""The fast paths of eager code and transformed calls give exactly what the general paths give.

- the engine caches adjoints by a structural key built while walking the tape: two
  tapes share it only when they build the same function (constants included);
- in-place arithmetic with nothing to record writes the buffer directly;
- a transformed call with plain arguments skips the general signature code;
- `Lowered.fused` shows the fusion groups of the optimized IR.
"""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import parse
from tapegrad.ir.printer import print_function
from tapegrad.tracer import backward_plan
from tapegrad.tracer import ops_inplace
from tapegrad.tracer.transforms_signature import plain_signature, signature


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- the engine's plan key


def _grad_of(make, value):
    x = tg.tensor(value, requires_grad=True)
    make(x).sum().backward()
    return x.grad.numpy()


def test_constants_that_print_differently_never_share_an_adjoint():
    # the adjoint of x * c reads c as a constant of its own: a cache hit across
    # -0.0 and 0.0 (equal and of equal hash in Python) would give the wrong sign
    x = np.ones(3, np.float32)
    for c in (0.0, -0.0, 0.0, -0.0):
        g = _grad_of(lambda t: t * c, x)
        assert np.array_equal(np.signbit(g), np.signbit(np.full(3, c, np.float32)))
    for c in (2.0, 3.0, 2.0):
        np.testing.assert_array_equal(_grad_of(lambda t: t * c, x), np.full(3, c, np.float32))


def test_a_nan_constant_finds_its_cached_adjoint():
    x = np.ones(2, np.float32)
    _grad_of(lambda t: t * float("nan") + t, x)
    before = len(backward_plan._plans)
    for _ in range(3):
        assert np.isnan(_grad_of(lambda t: t * float("nan") + t, x)).all()
    assert len(backward_plan._plans) == before


def test_shared_and_repeated_values_are_different_structures():
    # exp(x) used twice vs exp(x) computed twice: same math, different tapes, so
    # each must bind its own saved values (a shared key would misplace them)
    xv = f32(4)
    want = 2 * np.exp(2 * xv)
    for _ in range(2):
        np.testing.assert_allclose(_grad_of(lambda t: tg.exp(t) * tg.exp(t), xv), want, rtol=1e-5)
        np.testing.assert_allclose(_grad_of(lambda t: (lambda e: e * e)(tg.exp(t)), xv), want,
                                   rtol=1e-5)
    # operand order and which operand is a leaf are part of the structure
    a, b = f32(3, seed=1), f32(3, seed=2)
    for _ in range(2):
        x, y = tg.tensor(a, requires_grad=True), tg.tensor(b)
        (x * y - y).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), b)
        x, y = tg.tensor(a, requires_grad=True), tg.tensor(b)
        (y * x - x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), b - 1, rtol=1e-6)


def test_the_key_holds_attributes_and_types():
    xv = f32(2, 3)
    g0 = _grad_of(lambda t: t.sum(0) * tg.tensor([1.0, 2.0, 3.0]), xv)
    g1 = _grad_of(lambda t: t.sum(1) * tg.tensor([1.0, 2.0]), xv)
    np.testing.assert_array_equal(g0, np.tile([1.0, 2.0, 3.0], (2, 1)))
    np.testing.assert_array_equal(g1, np.tile([[1.0], [2.0]], (1, 3)))
    g64 = _grad_of(lambda t: t * 3.0, xv.astype(np.float64))
    assert g64.dtype == np.float64


def test_in_place_change_of_a_saved_value_is_still_caught_on_a_cached_tape():
    for _ in range(2):
        x = tg.tensor(f32(3), requires_grad=True)
        y = x * 2
        z = (y * y).sum()
        with tg.no_grad():
            y.mul_(3.0)  # the direct path: it still bumps the version
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


# ---------------------------------------------------------------- direct in-place updates


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
@pytest.mark.parametrize("other", ["same shape", "0-d", "python float"])
def test_direct_in_place_arithmetic_matches_the_general_path(monkeypatch, dtype, op, other):
    a = f32(4, 5).astype(dtype)
    a[0, 0], a[0, 1] = 0, np.nan
    b = f32(4, 5, seed=3).astype(dtype)
    b[0, 2] = 0

    def run():
        x = tg.tensor(a)
        o = {"same shape": tg.tensor(b), "0-d": tg.tensor(dtype(0.3)),
             "python float": 0.1}[other]
        with tg.no_grad():
            out = getattr(x, op)(o)
        assert out is x and x._version[0] == 1
        return x.numpy()

    direct = run()
    monkeypatch.setattr(ops_inplace, "_direct", lambda x, o: False)
    np.testing.assert_array_equal(direct, run())


def test_the_sgd_update_on_a_leaf_and_its_errors():
    w = tg.tensor(f32(3, 2), requires_grad=True)
    (w * w).sum().backward()
    before = w.detach().numpy().copy()
    with tg.no_grad():
        w -= 0.5 * w.grad
        w.grad.zero_()
    np.testing.assert_allclose(w.detach().numpy(), before - 0.5 * 2 * before, rtol=1e-6)
    assert not w.grad.numpy().any()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w -= 1.0  # grad mode on: refused, as PyTorch does
    c = tg.ones(3).expand(2, 3)  # read-only memory: the general path's error
    with pytest.raises(RuntimeError, match="read-only"):
        c.add_(1.0)


# ---------------------------------------------------------------- transformed calls


def test_plain_signature_equals_signature():
    args = (f32(3), tg.tensor(f32(2, 2)), 1.5, 2, True, np.zeros((), np.float64))
    key, arrays = plain_signature(args)
    assert key == signature(args, frozenset())[0]
    assert [a.dtype for a in arrays[2:5]] == [np.float32] * 3
    for odd in ([1.0], np.ones(2, np.float16), np.ones(2).astype(">f8"),
                tg.tensor(f32(2), requires_grad=True)):
        assert plain_signature((odd,)) is None


def test_plain_calls_count_hits_and_give_the_general_paths_results():
    g = tg.grad(lambda x, w: (tg.sin(x @ w) * 2).sum(), argnums=(0, 1))
    x, w = f32(3, 4), f32(4, 2, seed=1)
    gx, gw = g(x, w)  # a miss: the general path
    info = g.cache_info()
    for args in ((x, w), (tg.tensor(x), w), (np.asfortranarray(x), w), (x[:, :], tg.tensor(w))):
        hx, hw = g(*args)
        np.testing.assert_array_equal(hx.numpy(), gx.numpy())
        np.testing.assert_array_equal(hw.numpy(), gw.numpy())
    assert g.cache_info().hits == info.hits + 4 and g.cache_info().misses == info.misses
    d = tg.grad(lambda s: s * s * 3.0)
    assert isinstance(d(2.0), tg.Tensor) and d(2.0).item() == 12.0
    assert d(2.0).dtype is tg.float32 and d(np.float64(2.0)).item() == 12.0


# ---------------------------------------------------------------- fusion groups


def test_fused_tags_every_instruction_and_parses_back_to_optimized():
    lowered = tg.grad(lambda x, w: (tg.tanh(x @ w) * 2).sum(), argnums=1).lower(
        f32(4, 3), f32(3, 2))
    text = lowered.fused
    lines = [line for line in text.splitlines() if " = " in line]
    assert len(lines) == len(lowered.optimized.body)
    assert all(any(t in line for t in ("[loop]", "[view]", "[fused into %")) for line in lines)
    assert any("matmul" in line and "[loop]" in line for line in lines)
    assert any("tanh" in line and "[fused into %" in line for line in lines)
    plain = str(lowered.optimized)  # the IR text stays what tg.ir.parse reads back exactly
    assert "[loop]" not in plain and "[fused" not in plain and str(parse(plain)) == plain
    assert lowered.stage("optimized") == text
    assert print_function(parse(text), locs=False) == print_function(lowered.optimized, locs=False)
