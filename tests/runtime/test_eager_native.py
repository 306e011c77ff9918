"""Big eager transcendentals run as native code from their second sight (issue 17: numpy's
pow(x, 3.0) calls libm per element), within the native math's accuracy bounds."""
import numpy as np

import tapegrad as tg
from tapegrad.runtime import eager_native
from tapegrad.runtime import execute as tier

N = eager_native.MIN_SIZE + 5


def test_cube_and_sin_go_native_on_the_second_sight_with_the_same_values():
    x0 = np.random.default_rng(0).standard_normal(N)
    x = tg.tensor(x0, requires_grad=True)
    first = (x ** 3 * tg.sin(x)).detach().numpy()
    np.testing.assert_array_equal(first, np.power(x0, 3.0) * np.sin(x0))  # interpreted
    before = tier.stats.native
    second = x ** 3 * tg.sin(x)
    assert tier.stats.native - before == 2  # pow and sin, one native call each
    np.testing.assert_allclose(second.detach().numpy(), first, rtol=1e-14, atol=1e-300)
    second.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x0 ** 2 * np.sin(x0) + x0 ** 3 * np.cos(x0),
                               rtol=1e-12, atol=1e-12)


def test_small_arrays_and_interpret_mode_stay_on_numpy(monkeypatch):
    small = tg.tensor(np.linspace(-1, 1, 100))
    before = tier.stats.native
    for _ in range(3):
        small ** 3
    assert tier.stats.native == before
    monkeypatch.setenv("TAPEGRAD_EAGER", "interpret")
    big = tg.tensor(np.linspace(-1, 1, N))
    for _ in range(3):
        r = tg.exp(big)
    assert tier.stats.native == before
    np.testing.assert_array_equal(r.numpy(), np.exp(np.linspace(-1, 1, N)))
