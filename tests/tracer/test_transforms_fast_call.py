"""The fast call of a transformed function (transforms_lower._build_fast_call).

Once a signature has run natively twice, every call is first offered to generated code that checks
each argument against the compiled entry point (type, shape, dtype by identity,
C-contiguous, aligned) and runs it with no lookup.  Everything it does not accept
must fall through to the checked path and give the checked path's answer; what it
accepts must give exactly that answer too.
"""
import threading
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.runtime import buffer_pool
from tapegrad.tracer.transforms_lower import MISS
from tapegrad.tracer.transforms_signature import plain_signature, signature


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _bce_grad():
    return tg.grad(lambda x, w, b, y: F.binary_cross_entropy_with_logits(x @ w + b, y),
                   argnums=(1, 2))


def _bce_numpy(x, w, b, y):
    z = x @ w + b
    dz = (1 / (1 + np.exp(-z)) - y) / z.size
    return np.outer(x, dz), dz


def _warm(g, *args):
    """g(*args), twice: a first call compiles, the second installs the fast call."""
    g(*args)
    result = g(*args)
    assert g._cache.fast is not None
    return result


def _checked(g, *args):
    """g(*args) on the checked path: the fast call is dropped first (the call puts it back)."""
    g._cache.set_fast(None, None)
    return g(*args)


def _unaligned(values):
    raw = np.zeros(values.size * values.itemsize + 1, np.uint8)
    a = raw[1:].view(values.dtype).reshape(values.shape)
    a[...] = values
    assert not a.flags.aligned
    return a


def _read_only(values):
    a = values.copy()
    a.flags.writeable = False
    return a


def test_a_second_native_call_installs_the_fast_call_and_its_hits_count():
    g = _bce_grad()
    args = (f32(5), f32(5, 3, seed=1), f32(3, seed=2), np.zeros(3, np.float32))
    first = g(*args)
    assert g._cache.fast is None  # a signature called once never builds one
    g(*args)
    assert g._cache.fast is not None and "def fast(args)" in g._cache.fast.source
    info = g.cache_info()
    for _ in range(3):
        again = g(*args)
        for a, b in zip(again, first):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert g.cache_info().hits == info.hits + 3 and g.cache_info().misses == info.misses
    for got, want in zip(first, _bce_numpy(*args)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-7)


# arguments of the right shape and dtype the fast call must refuse (or, for read-only
# memory, may take): each must give the general path's answer
_LAYOUTS = {
    "strided view": lambda w: np.repeat(w, 2, axis=1)[:, ::2],
    "fortran order": np.asfortranarray,
    "misaligned": _unaligned,
    "read-only": _read_only,
    "byte-swapped": lambda w: w.astype(w.dtype.newbyteorder()),
    "transposed twice": lambda w: w.T.copy().T,
    "a tensor": tg.tensor,
    "a strided tensor": lambda w: tg.tensor(np.repeat(w, 2, axis=1))[:, ::2],
}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_changed_layouts_give_the_checked_answer(layout):
    g = _bce_grad()
    x, w, b, y = f32(5), f32(5, 3, seed=1), f32(3, seed=2), np.zeros(3, np.float32)
    want = _warm(g, x, w, b, y)
    odd = _LAYOUTS[layout](w)
    accepted = g._cache.fast((x, odd, b, y)) is not MISS
    assert accepted == (layout in ("read-only", "a tensor")), layout
    for got in (g(x, odd, b, y), _checked(g, x, odd, b, y), g(x, odd, b, y)):
        for a, c in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), c.numpy())


def test_a_list_or_a_set_is_refused_with_the_usual_error():
    g = _bce_grad()
    x, w, b, y = f32(5), f32(5, 3, seed=1), f32(3, seed=2), np.zeros(3, np.float32)
    _warm(g, x, w, b, y)
    assert g._cache.fast((x, w.tolist(), b, y)) is MISS  # a list is a pytree: another trace
    assert g._cache.fast((x, {1.0}, b, y)) is MISS
    with pytest.raises(TypeError, match="got set"):
        g(x, {1.0}, b, y)


@pytest.mark.parametrize("change", ["shape", "dtype", "count", "keyword", "grad"])
def test_other_signatures_miss_and_take_their_own_code(change):
    g = tg.grad(lambda x, w: (tg.tanh(x @ w) * 2).sum(), argnums=1)
    x, w = f32(4, 3), f32(3, 2, seed=1)
    _warm(g, x, w)
    fast = g._cache.fast
    if change == "shape":
        x2 = f32(5, 3)
        assert fast((x2, w)) is MISS
        want = g.lower(x2, w).results(g.lower(x2, w).native()(x2, w))
        np.testing.assert_array_equal(g(x2, w).numpy(), want.numpy())
    elif change == "dtype":
        x2, w2 = x.astype(np.float64), w.astype(np.float64)
        assert fast((x2, w2)) is MISS
        assert g(x2, w2).dtype is tg.float64
        np.testing.assert_allclose(g(x2, w2).numpy(), g(x, w).numpy(), rtol=1e-5)
    elif change == "count":
        assert fast((x,)) is MISS and fast((x, w, w)) is MISS
        with pytest.raises(TypeError, match="argument"):
            g(x)
    elif change == "keyword":
        np.testing.assert_array_equal(g(x, w=w).numpy(), g(x, w).numpy())
    else:
        wt = tg.tensor(w, requires_grad=True)
        assert fast((x, wt)) is MISS
        out = g(x, wt)
        assert out.grad_fn is not None  # bound on the tape, not run natively
        np.testing.assert_allclose(out.detach().numpy(), g(x, w).numpy(), rtol=1e-5, atol=1e-6)
        with tg.no_grad():
            np.testing.assert_array_equal(g(x, wt).numpy(), g(x, w).numpy())


def test_abstract_tensors_inside_another_trace_are_inlined():
    f = lambda x: (x ** 3).sum()  # noqa: E731
    df = tg.grad(f)
    x = f32(4)
    _warm(df, x)
    d2 = tg.grad(lambda x: df(x).sum())
    np.testing.assert_allclose(d2(x).numpy(), 6 * x, rtol=1e-5)
    np.testing.assert_allclose(df(x).numpy(), 3 * x * x, rtol=1e-5)


@pytest.mark.parametrize("value", [1.5, -0.0, 1e-46, 3.4028235677973366e38, 1e300, -1e300,
                                   float("nan"), float("inf"), 1.0000000596046448])
def test_python_floats_convert_as_the_checked_path_converts_them(value):
    g = tg.grad(lambda x: x ** 2 * tg.sin(x) + tg.exp(x) / (1 + x * x))
    _warm(g, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert g._cache.fast((value,)) is not MISS
    with warnings.catch_warnings(record=True) as fast_warnings:
        warnings.simplefilter("always")
        fast = g(value).numpy()
    with warnings.catch_warnings(record=True) as checked_warnings:
        warnings.simplefilter("always")
        checked = _checked(g, value).numpy()
    assert fast.tobytes() == checked.tobytes()
    assert [str(w.message) for w in fast_warnings] == [str(w.message) for w in checked_warnings]


@pytest.mark.parametrize("value", [2, True, np.float64(2.0), np.float32(2.0),
                                   np.array(2.0, np.float32)])
def test_numbers_that_are_not_floats_take_the_checked_path(value):
    g = tg.grad(lambda s: s * s * 3.0)
    assert _warm(g, 1.0).item() == 6.0
    assert g._cache.fast((value,)) is MISS
    assert g(value).item() == 6.0 * float(value)
    assert g(1.0).item() == 6.0


def test_results_are_fresh_arrays_every_call():
    g = tg.value_and_grad(lambda x, s: (x * s).sum(), argnums=(0, 1))
    x = f32(6)
    first = g(x, 2.0)
    second = g(x, 2.0)
    (v1, (gx1, gs1)), (v2, (gx2, gs2)) = first, second
    arrays = [t.numpy() for t in (v1, gx1, gs1, v2, gx2, gs2)]
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])
    assert not any(np.shares_memory(a, x) for a in arrays)
    assert v1.item() == pytest.approx(2 * x.sum(), rel=1e-6)
    np.testing.assert_array_equal(gx1.numpy(), np.full(6, 2.0, np.float32))
    assert gs1.item() == pytest.approx(x.sum(), rel=1e-6)


def test_big_results_come_from_the_pool_on_the_fast_path_too():
    n = buffer_pool.POOL_MIN_BYTES // 4 + 16
    g = tg.grad(lambda x: (x * x).sum())
    x = np.full(n, 0.5, np.float32)
    _warm(g, x)
    assert "allocate(R0" in g._cache.fast.source
    first = g(x).numpy()
    view = first[:8]
    del first
    second = g(x * 2).numpy()
    assert not np.shares_memory(view, second)
    np.testing.assert_array_equal(view, np.ones(8, np.float32))
    np.testing.assert_array_equal(second[:8], np.full(8, 2.0, np.float32))


def test_threads_calling_one_fast_call_each_get_their_own_answer():
    g = tg.grad(lambda x, s: (tg.sin(x) * s).sum(), argnums=0)
    x = f32(7)
    _warm(g, x, 1.0)
    errors = []
    start = threading.Barrier(4)

    def work(k):
        start.wait()
        for i in range(300):
            s = float(k * 1000 + i)
            got = g(x, s).numpy()
            want = np.cos(x) * np.float32(s)
            if not np.allclose(got, want, rtol=1e-5):
                errors.append((k, i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_fast_hits_keep_their_signature_most_recent_in_the_lru():
    f = tg.compile(lambda x: (x * 2.0).sum(), cache_size=2)
    a, c = np.ones(1, np.float32), np.ones(3, np.float32)
    b = tg.tensor(np.ones(2, np.float32), requires_grad=True)
    _warm(f, a)  # the fast call of a's signature
    f(b)  # bound on the tape: more recent than a, installs nothing
    for _ in range(3):
        f(a)  # fast hits: a is the most recent again
    f(c)  # evicts b, the least recently used, not a
    misses = f.cache_info().misses
    assert float(f(a)) == 2.0 and f.cache_info().misses == misses
    assert float(f(b)) == 4.0 and f.cache_info().misses == misses + 1
    assert "evicted" in f.cache_info().miss_reasons[-1]


def test_a_miss_after_fast_hits_explains_itself_against_the_fast_signature():
    f = tg.compile(lambda x, y: (x * y).sum())
    x, y = f32(3), f32(3, seed=1)
    _warm(f, x, y)
    f(tg.tensor(f32(5), requires_grad=True), f32(5))  # tape mode: installs nothing
    f(x, y)  # fast
    f(f32(4), f32(4))
    assert f.cache_info().miss_reasons[-1] == "arg 0: shape (3,) -> (4,); arg 1: shape (3,) -> (4,)"


def test_cache_clear_and_eviction_drop_the_fast_call():
    f = tg.compile(lambda x: (x * 3.0).sum(), cache_size=1)
    _warm(f, np.ones(2, np.float32))
    f.cache_clear()
    assert f._cache.fast is None
    assert float(f(np.ones(2, np.float32))) == 6.0
    assert f.cache_info().miss_reasons[-1] == "cache_clear() was called"
    g = tg.grad(lambda x: (x * x).sum(), cache_size=1)
    x = np.ones(2, np.float32)
    _warm(g, x)
    g(tg.tensor(np.ones(3, np.float32), requires_grad=True))  # evicts x's signature
    assert g._cache.fast is None
    misses = g.cache_info().misses
    np.testing.assert_array_equal(g(x).numpy(), [2.0, 2.0])
    assert g.cache_info().misses == misses + 1


# ---------------------------------------------------------------- transformed calls


def test_plain_signature_equals_signature():
    args = (f32(3), tg.tensor(f32(2, 2)), 1.5, 2, True, np.zeros((), np.float64))
    key, arrays = plain_signature(args)
    assert key == signature(args, frozenset())[0]
    assert [a.dtype for a in arrays[2:5]] == [np.float32] * 3
    for odd in (np.ones(2, np.float16), np.ones(2).astype(">f8"),
                tg.tensor(f32(2), requires_grad=True), [np.ones(2, np.float16)], {1.0},
                {"a": tg.tensor(f32(2), requires_grad=True)}):
        assert plain_signature((odd,)) is None
    trees = ([1.0], {"w": f32(2), "b": [tg.tensor(f32(3)), 2.0]}, (), f32(1))
    key, arrays = plain_signature(trees)  # dicts, lists and tuples of plain leaves
    assert key == signature(trees, frozenset())[0] and len(arrays) == 5


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
