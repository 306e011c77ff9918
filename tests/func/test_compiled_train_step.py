"""A whole training step, `tg.compile(step, donate_argnums=...)` over a Module's parameter
dict (through functional_call) and a functional optimizer's state: forward, backward
and the Adam update are one compiled function, each call is one native call with no
eager operation, and the numbers are the eager nn + optim path's."""
import numpy as np

import tapegrad as tg
from tapegrad.func import functional_call
from tapegrad.optim import functional as optim_f
from tapegrad.runtime import interpreter
from tapegrad.tracer import ops_elementwise, tape
from tapegrad.tracer.transforms_lower import _UNBUILT

nn = tg.nn
LR = 1e-3


def _setup():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 20)).astype(np.float32)
    y = rng.standard_normal((32, 3)).astype(np.float32)
    return model, x, y


def _compiled_step(model):
    loss_fn = nn.MSELoss()

    def loss_of(params, x, y):
        return loss_fn(functional_call(model, params, (x,)), y)

    def train_step(params, state, x, y):
        loss, grads = tg.value_and_grad(loss_of)(params, x, y)
        params, state = optim_f.adam(params, grads, state, lr=LR)
        return params, state, loss

    return tg.compile(train_step, donate_argnums=(0, 1))


class _NativeCalls:
    """Counts the calls into one specialisation's native code, by either entry point."""
    def __init__(self, real):
        self.real, self.n = real, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def call_checked(self, arrays, donated=()):
        self.n += 1
        return self.real.call_checked(arrays, donated)

    def object_entry(self):
        entry = self.real.object_entry()

        def call(*args):
            self.n += 1
            return entry.call(*args)
        return None if entry is None else entry._replace(call=call)


def test_the_step_is_one_native_call_with_no_eager_operation(monkeypatch):
    model, x, y = _setup()
    params = {k: p.detach().numpy().copy() for k, p in model.named_parameters()}
    state = optim_f.init_state(optim_f.adam, params)
    step = _compiled_step(model)
    params, state, loss = step(params, state, x, y)
    lowered = step.lower(params, state, x, y)
    prims = {i.prim.name for i in lowered.optimized.body}
    assert "sqrt" in prims and prims & {"matmul", "matmul_add"}  # Adam with the gemms
    native = _NativeCalls(lowered.native())
    lowered._native, lowered._fast, step._cache.fast = native, _UNBUILT, None
    evaluated = []

    def eager(*a, **k):
        evaluated.append(a[0])
        return interpreter.eval_prim(*a, **k)
    monkeypatch.setattr(tape, "eval_prim", eager)
    monkeypatch.setattr(ops_elementwise, "eval_prim", eager)
    for _ in range(4):  # the checked path, then the fast call
        params, state, loss = step(params, state, x, y)
    assert native.n == 4 and evaluated == []
    assert step.cache_info().traces == 1 and step._cache.fast is not None


def test_the_steps_numbers_are_the_eager_nn_and_optim_paths():
    model, x, y = _setup()
    params = {k: p.detach().numpy().copy() for k, p in model.named_parameters()}
    state = optim_f.init_state(optim_f.adam, params)
    step = _compiled_step(model)
    opt = tg.optim.Adam(model.parameters(), lr=LR)
    loss_fn, xt, yt = nn.MSELoss(), tg.tensor(x), tg.tensor(y)
    for _ in range(8):
        params, state, loss = step(params, state, x, y)
        opt.zero_grad()
        eager = loss_fn(model(xt), yt)
        eager.backward()
        opt.step()
        np.testing.assert_allclose(loss.item(), eager.item(), rtol=1e-5)
    for k, p in model.named_parameters():
        np.testing.assert_allclose(params[k].numpy(), p.detach().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
        np.testing.assert_allclose(state["exp_avg"][k].numpy(),
                                   opt.state[p]["exp_avg"].numpy(), rtol=1e-4, atol=1e-8)
    assert float(state["step"]) == float(opt.state[model[0].weight]["step"]) == 8.0
