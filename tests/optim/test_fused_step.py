"""The fused step (optim/fused.py): after a parameter's first step, an optimizer updates
a whole group in one compiled native call, with the per-parameter path's numbers,
PyTorch's state layout, the parameters' own storage, and no recompile when a
scheduler changes the learning rate."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.optim import fused
from tapegrad.runtime import interpreter
from tapegrad.tracer import ops_elementwise, tape

CONFIGS = [("SGD", dict(lr=0.05)), ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
           ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
           ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
           ("AdamW", dict(lr=0.01, amsgrad=True)),
           ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
           ("RMSprop", dict(lr=0.01, maximize=True)),
           ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1))]


def _problem():
    rng = np.random.default_rng(0)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return f(6, 5), f(6), f(3, 6), f(20, 5), f(20, 3)


def _train(name, kwargs, steps, foreach):
    w1, b1, w2, x, y = _problem()
    params = [tg.tensor(a, requires_grad=True) for a in (w1, b1, w2)]
    opt = getattr(tg.optim, name)(params, foreach=foreach, **kwargs)
    x, y = tg.tensor(x), tg.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        h = (x @ params[0].T + params[1]).tanh()
        ((h @ params[2].T - y) ** 2).mean().backward()
        opt.step()
    return params, opt


class _EagerCount:
    """Counts the eager evaluator's primitive evaluations (every eager op runs one)."""
    def __init__(self, monkeypatch):
        self.n = 0
        real = interpreter.eval_prim

        def counting(*a, **k):
            self.n += 1
            return real(*a, **k)
        monkeypatch.setattr(tape, "eval_prim", counting)
        monkeypatch.setattr(ops_elementwise, "eval_prim", counting)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=lambda c: str(c))
def test_fused_and_per_parameter_steps_agree_and_keep_pytorchs_state(name, kwargs):
    fused_params, fused_opt = _train(name, kwargs, 12, None)
    plain_params, plain_opt = _train(name, kwargs, 12, False)
    for a, b in zip(fused_params, plain_params):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=2e-6,
                                   atol=1e-7)
    for a, b in zip(fused_params, plain_params):
        sa, sb = fused_opt.state[a], plain_opt.state[b]
        assert sorted(sa) == sorted(sb)
        for key in sa:
            if sb[key] is None:
                assert sa[key] is None
            else:
                assert sa[key].dtype == sb[key].dtype and sa[key].shape == sb[key].shape
                np.testing.assert_allclose(sa[key].numpy(), sb[key].numpy(), rtol=2e-6,
                                           atol=1e-7)


def test_a_step_is_one_native_call_without_eager_ops(monkeypatch):
    params, opt = _train("Adam", dict(lr=0.01), 2, None)  # the state exists now
    before = [p._data for p in params]
    grads = [p.grad for p in params]
    calls = []
    real = fused.kernel

    def spying(update, static):
        fn = real(update, static)
        return lambda *args: calls.append(args) or fn(*args)
    monkeypatch.setattr(fused, "kernel", spying)
    count = _EagerCount(monkeypatch)
    opt.step()
    assert len(calls) == 1 and len(calls[0][0]) == 3  # one call, all three parameters
    assert count.n == 0
    assert all(p._data is b for p, b in zip(params, before))  # written in place
    assert all(p.grad is g for p, g in zip(params, grads))
    assert float(opt.state[params[0]]["step"]) == 3.0


def test_a_scheduler_changes_lr_without_recompiling():
    params, opt = _train("SGD", dict(lr=0.1, momentum=0.9), 2, None)
    sched = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    fn = fused.kernel(tg.optim.functional.sgd, tuple(sorted(
        (k, v) for k, v in opt.param_groups[0].items()
        if k in tg.optim.SGD._hyper and k != "lr")))
    traces = fn.cache_info().traces
    plain_params, plain_opt = _train("SGD", dict(lr=0.1, momentum=0.9), 2, False)
    plain_sched = tg.optim.lr_scheduler.ExponentialLR(plain_opt, gamma=0.5)
    for _ in range(4):
        for ps, o, s in ((params, opt, sched), (plain_params, plain_opt, plain_sched)):
            for p in ps:
                p.grad = tg.ones(p.shape)
            o.step()
            s.step()
    assert fn.cache_info().traces == traces
    for a, b in zip(params, plain_params):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


def test_parameters_with_other_step_counts_are_batched_apart_and_foreach_false_is_kept(
        monkeypatch):
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    c = tg.tensor([4.0], requires_grad=True)
    opt = tg.optim.Adam([{"params": [a, b]}, {"params": [c], "foreach": False}], lr=0.1)
    calls = []
    real = fused.kernel

    def spying(update, static):
        fn = real(update, static)
        return lambda *args: calls.append(len(args[0])) or fn(*args)
    monkeypatch.setattr(fused, "kernel", spying)
    for step in range(3):
        for p in (a, c) if step == 0 else (a, b, c):  # b starts one step later
            p.grad = tg.ones(p.shape)
        opt.step()
    assert float(opt.state[a]["step"]) == 3.0 and float(opt.state[b]["step"]) == 2.0
    # step 1: all first steps; step 2: a fused, b's first; step 3: a and b fused apart
    # (step counts 2 and 1); c (foreach=False) never
    assert calls == [1, 1, 1]
    for p, start, steps in ((b, 3.0, 2), (c, 4.0, 3)):
        ref = tg.tensor([start], requires_grad=True)
        ref_opt = tg.optim.Adam([ref], lr=0.1, foreach=False)
        for _ in range(steps):
            ref.grad = tg.ones(1)
            ref_opt.step()
        np.testing.assert_allclose(p.detach().numpy(), ref.detach().numpy(), rtol=1e-6)


def test_a_gradient_of_another_dtype_is_still_named():
    w = tg.zeros(3, requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tg.ones(3)
    opt.step()
    w.grad = tg.ones(3, dtype=tg.float64)
    with pytest.raises(RuntimeError, match=r"SGD.step: the gradient's torch.float64 \[3\]"):
        opt.step()
