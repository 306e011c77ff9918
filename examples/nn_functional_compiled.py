"""The tutorial's two-layer network, way 2 of 3: a Module's loss through `functional_call`,
its gradient by `tg.value_and_grad`, and the Adam update as one compiled call.

The model is the same `nn.Sequential` as in nn_eager.py, but its parameters live in
a dict (a pytree) that the loop replaces each step: `functional_call` runs the
module with them, `value_and_grad` differentiates the loss with respect to the
dict (traced and compiled once), and the pure `optim.functional.adam`, compiled
with `tg.compile`, updates the parameters and the Adam state together.

    python examples/nn_functional_compiled.py
"""
import tapegrad as tg
from tapegrad.func import functional_call
from tapegrad.optim import functional as optim_f

N, D_in, H, D_out = 64, 1000, 100, 10
STEPS, LEARNING_RATE = 500, 1e-4

tg.manual_seed(0)
model = tg.nn.Sequential(tg.nn.Linear(D_in, H), tg.nn.ReLU(), tg.nn.Linear(H, D_out))
x = tg.randn(N, D_in)
y = tg.randn(N, D_out)
loss_fn = tg.nn.MSELoss(reduction="sum")

params = {name: p.detach() for name, p in model.named_parameters()}
state = optim_f.init_state(optim_f.adam, params)


def loss_of(params, x, y):
    return loss_fn(functional_call(model, params, (x,)), y)


loss_and_grads = tg.value_and_grad(loss_of)


@tg.compile(donate_argnums=(0, 2))
def adam_step(params, grads, state):
    return optim_f.adam(params, grads, state, lr=LEARNING_RATE)


for t in range(STEPS):
    loss, grads = loss_and_grads(params, x, y)
    if t % 100 == 99:
        print(t, f"{loss.item():.6g}")
    params, state = adam_step(params, grads, state)
