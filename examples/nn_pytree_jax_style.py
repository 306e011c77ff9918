"""The tutorial's two-layer network, way 3 of 3: pure functions of a pytree, JAX style.

No Module and no optimizer object: the parameters are a dict of arrays, the model a
function of them, and one `tg.compile`d `train_step` takes the gradient of the loss
and applies `optim.functional.adam`, all one native call per step.  The weights
start where nn_eager.py's `nn.Linear` layers start (PyTorch's initialisation:
uniform in +-1/sqrt(fan_in), drawn in the same order after the same seed).

    python examples/nn_pytree_jax_style.py
"""
import math

import tapegrad as tg
from tapegrad.optim import functional as optim_f

N, D_in, H, D_out = 64, 1000, 100, 10
STEPS, LEARNING_RATE = 500, 1e-4


def linear_init(fan_in, fan_out):
    bound = 1 / math.sqrt(fan_in)
    w = tg.empty(fan_out, fan_in).uniform_(-bound, bound)
    b = tg.empty(fan_out).uniform_(-bound, bound)
    return w, b


tg.manual_seed(0)
w1, b1 = linear_init(D_in, H)
w2, b2 = linear_init(H, D_out)
params = {"w1": w1, "b1": b1, "w2": w2, "b2": b2}
x = tg.randn(N, D_in)
y = tg.randn(N, D_out)


def predict(params, x):
    h = (x @ params["w1"].T + params["b1"]).clamp(min=0)
    return h @ params["w2"].T + params["b2"]


def loss_fn(params, x, y):
    return ((predict(params, x) - y) ** 2).sum()


@tg.compile(donate_argnums=(0, 1))
def train_step(params, state, x, y):
    loss, grads = tg.value_and_grad(loss_fn)(params, x, y)
    params, state = optim_f.adam(params, grads, state, lr=LEARNING_RATE)
    return params, state, loss


state = optim_f.init_state(optim_f.adam, params)
for t in range(STEPS):
    params, state, loss = train_step(params, state, x, y)
    if t % 100 == 99:
        print(t, f"{loss.item():.6g}")
