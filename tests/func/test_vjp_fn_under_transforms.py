"""torch.func.vjp's vjp_fn is an eager backward closure; vmap (and the other transforms)
trace it with abstract cotangents, so the adjoint must join their trace (the
Jacobians tutorial's `vmap(vjp_fn)(unit_vectors)` raised a dtype error)."""
from functools import partial

import numpy as np

import tapegrad as tg
from tapegrad.func import jacrev, vjp, vmap


def predict(weight, bias, x):
    return tg.nn.functional.linear(x, weight, bias).sin() * x.exp()


def test_vmap_of_vjp_fn_is_the_jacobian():
    rng = np.random.default_rng(1)
    weight, bias, x = (tg.tensor(rng.standard_normal(s)) for s in ((5, 5), (5,), (5,)))
    _, vjp_fn = vjp(partial(predict, weight, bias), x)
    rows, = vmap(vjp_fn)(tg.eye(5, dtype=tg.float64))
    xp = x.clone().requires_grad_()
    want = np.stack([tg.autograd.grad(predict(weight, bias, xp), xp, v)[0].numpy()
                     for v in tg.eye(5, dtype=tg.float64)])
    np.testing.assert_allclose(rows.numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jacrev(predict, argnums=2)(weight, bias, x).numpy(), want,
                               rtol=1e-12, atol=1e-12)
    # the closure still works eagerly afterwards, on concrete cotangents
    np.testing.assert_allclose(vjp_fn(tg.ones(5, dtype=tg.float64))[0].numpy(),
                               want.sum(0), rtol=1e-12)
