"""tg.grad, tg.value_and_grad, tg.compile: values, gradients, composition, calling conventions."""
import numpy as np
import pytest

import tapegrad as tg


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def numeric_grad(f, args, argnum, eps=1e-6):
    """Central differences of scalar numpy function f with respect to args[argnum]."""
    x = np.array(args[argnum], dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (f(*args[:argnum], hi, *args[argnum + 1:])
                - f(*args[:argnum], lo, *args[argnum + 1:])) / (2 * eps)
    return g


def mlp_loss(x, w1, w2):
    return (x @ w1).tanh().matmul(w2).sigmoid().sum()


def mlp_loss_np(x, w1, w2):
    return (1 / (1 + np.exp(-(np.tanh(x @ w1) @ w2)))).sum()


# ---------------------------------------------------------------- values and gradients


def test_compile_matches_the_eager_function():
    x, w = rand(3, 4), rand(4, 2, seed=1)
    f = tg.compile(lambda x, w: ((x @ w).exp(), (x * 2).sum(0)))
    a, b = f(x, w)
    assert isinstance(a, tg.Tensor) and isinstance(b, tg.Tensor)
    np.testing.assert_allclose(a.numpy(), np.exp(x @ w), rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), (x * 2).sum(0), rtol=1e-12)
    assert tg.jit is tg.compile


@pytest.mark.parametrize("argnum", [0, 1, 2])
def test_grad_matches_finite_differences(argnum):
    args = [rand(5, 3), rand(3, 4, seed=1), rand(4, 2, seed=2)]
    g = tg.grad(mlp_loss, argnums=argnum)(*args)
    assert g.shape == args[argnum].shape and g.dtype == tg.float64
    np.testing.assert_allclose(g.numpy(), numeric_grad(mlp_loss_np, args, argnum),
                               rtol=1e-6, atol=1e-8)


def test_argnums_tuple_gives_a_tuple_and_value_and_grad_gives_the_value():
    args = [rand(5, 3), rand(3, 4, seed=1), rand(4, 2, seed=2)]
    value, (g1, g2) = tg.value_and_grad(mlp_loss, argnums=(1, 2))(*args)
    assert value.shape == () and value.item() == pytest.approx(mlp_loss_np(*args), rel=1e-12)
    np.testing.assert_allclose(g1.numpy(), numeric_grad(mlp_loss_np, args, 1), rtol=1e-6)
    np.testing.assert_allclose(g2.numpy(), numeric_grad(mlp_loss_np, args, 2), rtol=1e-6)
    (only,) = tg.grad(mlp_loss, argnums=(0,))(*args)
    np.testing.assert_allclose(only.numpy(), numeric_grad(mlp_loss_np, args, 0), rtol=1e-6)
    (neg,) = tg.grad(mlp_loss, argnums=(-1,))(*args)
    np.testing.assert_allclose(neg.numpy(), g2.numpy())


def test_gradient_of_an_unused_argument_is_zeros_of_its_shape():
    g_x, g_unused = tg.grad(lambda x, u: (x * x).sum(), argnums=(0, 1))(rand(3), rand(2, 5))
    np.testing.assert_allclose(g_x.numpy(), 2 * rand(3))
    assert g_unused.shape == (2, 5) and not g_unused.numpy().any()


def test_float32_arguments_give_float32_gradients():
    x = rand(4, dtype=np.float32)
    g = tg.grad(lambda x: (x.sin() * x).sum())(x)
    assert g.dtype == tg.float32
    np.testing.assert_allclose(g.numpy(), np.sin(x) + x * np.cos(x), rtol=1e-5)


def test_has_aux_follows_jax_conventions():
    def f(x, w):
        y = x @ w
        return (y ** 2).sum(), (y, y.mean())

    x, w = rand(2, 3), rand(3, 2, seed=1)
    y = x @ w
    grads, (aux_y, aux_mean) = tg.grad(f, argnums=1, has_aux=True)(x, w)
    np.testing.assert_allclose(grads.numpy(), x.T @ (2 * y), rtol=1e-12)
    np.testing.assert_allclose(aux_y.numpy(), y)
    assert aux_mean.item() == pytest.approx(y.mean())
    (value, (aux_y2, _)), (gx, gw) = tg.value_and_grad(f, argnums=(0, 1), has_aux=True)(x, w)
    assert value.item() == pytest.approx((y ** 2).sum())
    np.testing.assert_allclose(aux_y2.numpy(), y)
    np.testing.assert_allclose(gx.numpy(), 2 * y @ w.T, rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), grads.numpy())


def test_python_scalars_are_traced_so_a_new_value_does_not_retrace():
    calls = []

    def f(x, s):
        calls.append(1)
        return (x * s).sum() * s

    df = tg.grad(f, argnums=(0, 1))
    x = rand(3, dtype=np.float32)
    for s in (2.0, 3.0, 5):
        gx, gs = df(x, s)
        np.testing.assert_allclose(gx.numpy(), np.full(3, s * s), rtol=1e-6)
        assert gs.shape == () and gs.item() == pytest.approx(2 * s * x.sum(), rel=1e-5)
    assert len(calls) == 1


def test_static_argnums_specialise_on_the_value():
    calls = []

    def power(x, n):
        calls.append(n)
        out = x
        for _ in range(n - 1):  # Python control flow on a static value is fine
            out = out * x
        return out.sum()

    x = rand(3)
    dp = tg.grad(power, static_argnums=1)
    np.testing.assert_allclose(dp(x, 3).numpy(), 3 * x ** 2, rtol=1e-12)
    np.testing.assert_allclose(dp(x, 4).numpy(), 4 * x ** 3, rtol=1e-12)
    np.testing.assert_allclose(dp(x + 1, 3).numpy(), 3 * (x + 1) ** 2, rtol=1e-12)
    assert calls == [3, 4]
    assert tg.compile(power, static_argnums=(1,))(x, 2).item() == pytest.approx((x * x).sum())
    assert tg.value_and_grad(power, static_argnums=-1)(x, 2)[0].item() == pytest.approx(
        (x * x).sum())


def test_a_second_call_with_the_same_signature_does_not_call_the_python_function():
    calls = []

    def f(x, w):
        calls.append(1)
        return (x @ w).relu().sum()

    step = tg.value_and_grad(f, argnums=1)
    for seed in range(5):
        x, w = rand(4, 3, seed=seed), rand(3, 2, seed=seed + 10)
        value, gw = step(x, tg.tensor(w))
        assert value.item() == pytest.approx(np.maximum(x @ w, 0).sum())
        np.testing.assert_allclose(gw.numpy(), x.T @ (x @ w > 0), rtol=1e-12)
    assert len(calls) == 1


def test_tensors_numpy_arrays_and_other_numpy_dtypes_share_a_trace():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2

    cf = tg.compile(f)
    a = rand(3, dtype=np.float32)
    assert cf(a).tolist() == cf(tg.tensor(a)).tolist()
    np.testing.assert_allclose(cf(a.astype(np.float16)).numpy(), 2 * a, rtol=1e-3)
    assert len(calls) == 1
    assert cf(np.arange(3, dtype=np.int32)).tolist() == [0, 2, 4]  # traced as int64


def test_results_are_fresh_tensors_and_python_numbers_are_allowed():
    cf = tg.compile(lambda x: [x + 1, 2.0])
    a, b = cf(rand(2))
    assert isinstance(a, tg.Tensor) and b.item() == 2.0
    assert cf(rand(2)) is not cf(rand(2))


# ---------------------------------------------------------------- composition


def test_grad_of_grad_of_grad_is_the_third_derivative():
    def f(x):
        return x.sin() * x * x

    x = np.linspace(-2.0, 2.0, 7)
    d1 = tg.grad(lambda x: f(x).sum())
    d2 = tg.grad(lambda x: d1(x).sum())
    d3 = tg.grad(lambda x: d2(x).sum())
    # f = x^2 sin x;  f''' = -x^2 cos x - 6x sin x + 6 cos x
    np.testing.assert_allclose(d3(x).numpy(),
                               -x * x * np.cos(x) - 6 * x * np.sin(x) + 6 * np.cos(x),
                               rtol=1e-10, atol=1e-12)
    scalar_d3 = tg.grad(tg.grad(tg.grad(lambda x: x.exp() * x)))
    assert scalar_d3(0.5).item() == pytest.approx(np.exp(0.5) * 3.5, rel=1e-5)


def test_grad_of_value_and_grad_inside_compile():
    vg = tg.compile(tg.value_and_grad(lambda x: (x ** 3).sum()))
    value, g = vg(rand(3))
    np.testing.assert_allclose(value.item(), (rand(3) ** 3).sum())
    np.testing.assert_allclose(g.numpy(), 3 * rand(3) ** 2)
    hess_diag = tg.grad(lambda x: vg(x)[1].sum())
    np.testing.assert_allclose(hess_diag(rand(3)).numpy(), 6 * rand(3))


def test_compile_of_a_transformed_function_changes_nothing():
    vg = tg.value_and_grad(lambda x: (x * x).sum())
    assert tg.compile(vg) is vg and tg.jit(vg) is vg


def test_a_transform_of_a_function_that_calls_another_transformed_function():
    inner = tg.compile(lambda x, w: (x @ w).tanh())
    outer_calls = []

    def loss(x, w):
        outer_calls.append(1)
        return (inner(x, w) ** 2).sum()

    x, w = rand(3, 4), rand(4, 2, seed=1)
    g = tg.grad(loss, argnums=1)(x, w)
    np.testing.assert_allclose(
        g.numpy(), numeric_grad(lambda x, w: (np.tanh(x @ w) ** 2).sum(), [x, w], 1), rtol=1e-6)
    inner(x, w)  # the inner function compiles for concrete calls too
    assert inner.cache_info().misses == 1 and inner.cache_info().hits == 1


def test_decorator_forms():
    @tg.grad
    def d(x):
        return (x * x).sum()

    @tg.value_and_grad(argnums=(0, 1))
    def vg(x, y):
        return (x * y).sum()

    @tg.compile(static_argnums=1)
    def scale(x, k):
        return x * k

    @tg.jit
    def twice(x):
        return x * 2

    np.testing.assert_allclose(d(rand(3)).numpy(), 2 * rand(3))
    assert vg(rand(2), rand(2, seed=1))[1][0].tolist() == rand(2, seed=1).tolist()
    assert scale(rand(2), 3).tolist() == (rand(2) * 3).tolist()
    assert twice(rand(2)).tolist() == (rand(2) * 2).tolist()
    assert d.__name__ == "d" and "tapegrad.grad of d" in repr(d)


def test_keyword_arguments_bind_to_positions():
    f = tg.compile(lambda x, w: x @ w)
    x, w = rand(2, 3), rand(3, 1)
    assert f(x, w=w).tolist() == f(x, w).tolist()
    assert f.cache_info().misses == 1


# ---------------------------------------------------------------- eager interplay


def test_tensors_that_require_grad_get_a_differentiable_result():
    x = tg.tensor([0.5, 1.0, 2.0], dtype=tg.float64, requires_grad=True)
    dx = tg.grad(lambda x: (x ** 3).sum())(x)
    assert dx.grad_fn is not None and dx.grad_fn.name() == "CompiledFunctionBackward"
    np.testing.assert_allclose(dx.detach().numpy(), 3 * np.array([0.25, 1.0, 4.0]))
    dx.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([0.5, 1.0, 2.0]))


def test_under_no_grad_the_native_code_runs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    f = tg.compile(lambda x: x * 3)
    with tg.no_grad():
        y = f(x)
    assert y.grad_fn is None and not y.requires_grad and y.tolist() == [3.0, 6.0]


def test_concurrent_calls_trace_each_signature_once():
    from concurrent.futures import ThreadPoolExecutor

    calls = []

    def f(x):
        calls.append(x.shape)
        return (x * x).sum()

    df = tg.grad(f, cache_size=2)
    sizes = [1, 2, 3] * 20

    def work(n):
        x = np.arange(n, dtype=np.float64)
        return np.array_equal(df(x).numpy(), 2 * x)

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, sizes))
    info = df.cache_info()
    assert info.traces == info.misses == len(calls)  # misses are counted under the lock
    assert set(calls) == {(1,), (2,), (3,)}


# ---------------------------------------------------------------- random programs

UNARY = {
    "sin": (lambda t: t.sin(), np.sin),
    "tanh": (lambda t: t.tanh(), np.tanh),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    "square": (lambda t: t * t, lambda a: a * a),
    "cos": (lambda t: t.cos(), np.cos),
    "affine": (lambda t: t * 0.5 + 1.0, lambda a: a * 0.5 + 1.0),
}


def test_value_and_grad_of_random_compositions_matches_finite_differences():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=20, deadline=None)
    @given(ops=st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=4),
           shape=st.lists(st.integers(1, 3), min_size=0, max_size=2),
           seed=st.integers(0, 2 ** 16))
    def check(ops, shape, seed):
        def f(x):
            for op in ops:
                x = UNARY[op][0](x)
            return x.sum()

        def f_np(a):
            for op in ops:
                a = UNARY[op][1](a)
            return a.sum()

        def each_np(a):
            for op in ops:
                a = UNARY[op][1](a)
            return a

        x = rand(*shape, seed=seed)
        value, g = tg.value_and_grad(f)(x)
        assert value.item() == pytest.approx(f_np(x), rel=1e-12, abs=1e-12)
        # every op is elementwise, so d sum / d x_i is the derivative of x_i's own chain:
        # central differences per element, free of the rounding of the whole sum (which
        # swamps small gradients next to large terms, e.g. x**16)
        eps = 1e-6
        numeric = (each_np(x + eps) - each_np(x - eps)) / (2 * eps)
        np.testing.assert_allclose(g.numpy(), numeric, rtol=1e-5, atol=1e-7)

    check()
