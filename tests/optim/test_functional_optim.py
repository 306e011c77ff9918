"""The pure optimizers: same numbers as the classes, and they compile and differentiate."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.optim import functional as OF

X = tg.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
Y = tg.tensor(np.array([[0.5, -1.0], [1.0, 0.0], [0.0, 2.0], [-0.5, 0.25]], np.float32))


def _params():
    return {"w": tg.tensor(np.full((3, 2), 0.3, np.float32)),
            "b": tg.tensor(np.array([0.1, -0.2], np.float32))}


def _loss(p):
    return ((X @ p["w"] + p["b"] - Y) ** 2).mean()


CASES = [("sgd", tg.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.2)),
         ("adam", tg.optim.Adam, dict(lr=0.05, weight_decay=0.01)),
         ("adamw", tg.optim.AdamW, dict(lr=0.05, amsgrad=True)),
         ("rmsprop", tg.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
         ("adagrad", tg.optim.Adagrad, dict(lr=0.1, initial_accumulator_value=0.2))]


@pytest.mark.parametrize("name,cls,hyper", CASES, ids=[c[0] for c in CASES])
def test_compiled_functional_steps_equal_the_class(name, cls, hyper):
    update = getattr(OF, name)

    @tg.compile
    def step(p, s):
        return update(p, tg.grad(_loss)(p), s, **hyper)

    p, s = _params(), OF.init_state(update, _params(), **hyper)
    for _ in range(5):
        p, s = step(p, s)
    leaves = {k: tg.tensor(v.numpy().copy(), requires_grad=True) for k, v in _params().items()}
    opt = cls([leaves["w"], leaves["b"]], **hyper)
    for _ in range(5):
        opt.zero_grad()
        _loss(leaves).backward()
        opt.step()
    for k in ("w", "b"):
        np.testing.assert_allclose(p[k].numpy(), leaves[k].detach().numpy(), rtol=2e-6,
                                   atol=1e-7, err_msg=k)
    assert float(s["step"]) == 5.0


def test_an_sgd_step_differentiates_with_respect_to_the_learning_rate():
    def after_one_step(lr):
        p = _params()
        new, _ = OF.sgd(p, tg.grad(_loss)(p), None, lr=lr)
        return _loss(new)

    lr = tg.tensor(0.1)
    slope = tg.grad(after_one_step)(lr)
    eps = 1e-2
    numeric = (after_one_step(tg.tensor(0.1 + eps)).item()
               - after_one_step(tg.tensor(0.1 - eps)).item()) / (2 * eps)
    assert slope.item() == pytest.approx(numeric, rel=1e-3)
    assert slope.item() < 0


def test_mismatched_trees_are_refused():
    with pytest.raises(ValueError, match="2 parameters but 1 gradients"):
        OF.adam(_params(), [tg.zeros(2)], None)


@pytest.mark.parametrize("name,cls,hyper", CASES + [
    ("adam", None, dict(lr=0.05)), ("rmsprop", None, dict(lr=0.01)),
    ("sgd", None, dict(lr=0.1))], ids=lambda c: str(c) if isinstance(c, dict) else None)
def test_a_compiled_step_from_init_state_traces_once(name, cls, hyper):
    """init_state holds exactly the slots the update uses, and the update returns the
    state's structure, so step after step is the same signature (no retrace)."""
    update = getattr(OF, name)
    step = tg.compile(lambda p, s: update(p, tg.grad(_loss)(p), s, **hyper))
    p, s = _params(), OF.init_state(update, _params(), **hyper)
    for _ in range(3):
        p, s = step(p, s)
    assert step.cache_info().traces == 1, step.cache_info().miss_reasons
    assert float(s["step"]) == 3.0
