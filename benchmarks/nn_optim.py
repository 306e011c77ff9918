"""NN rows of benchmarks/run.py (`--only NN`): the tutorial's two-layer network (64, 1000,
100, 10) trained with Adam, one step timed four ways beside PyTorch and JAX, and the
optimizer's step alone, fused against per parameter.

The four ways (as in examples/nn_*.py):
- eager: `nn.Sequential`, `MSELoss(reduction='sum')`, `optim.Adam`; zero_grad,
  backward, step;
- functional: `value_and_grad` of the loss through `functional_call`, then the pure
  `optim.functional.adam` under `tg.compile`;
- compiled step: value_and_grad and adam in one `tg.compile(train_step,
  donate_argnums=(0, 1))` over the Module's parameter dict (functional_call);
- pytree: the same one compiled step over a dict of arrays, no Module (JAX style).
Baselines, when importable: PyTorch eager (the same Sequential and torch.optim.Adam),
torch.compile (of the model and of the optimizer's step) and JAX jit (value_and_grad
and Adam written in jax.numpy, optax's arithmetic, params and state donated).  Every
way starts from the same weights and is checked against the others before it is timed.
"""
from __future__ import annotations

import math

import numpy as np

import tapegrad as tg
from tapegrad.func import functional_call
from tapegrad.optim import functional as optim_f

from .run import Row, side_by_side

SIZES = (64, 1000, 100, 10)
LR = 1e-4
CHECK_STEPS = 5


def _init(sizes=SIZES, seed=0):
    """x, y and Linear-initialised (weight, bias) pairs, as float32 numpy arrays."""
    n, *widths = sizes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, widths[0])).astype(np.float32)
    y = rng.standard_normal((n, widths[-1])).astype(np.float32)
    layers = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        bound = 1 / math.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return x, y, layers


def _tg_model(layers):
    mods = []
    for w, b in layers:
        lin = tg.nn.Linear(w.shape[1], w.shape[0])
        with tg.no_grad():
            lin.weight.copy_(tg.tensor(w))
            lin.bias.copy_(tg.tensor(b))
        mods += [lin, tg.nn.ReLU()]
    return tg.nn.Sequential(*mods[:-1])


# ------------------------------------------------------------------ tapegrad, four ways

def tapegrad_ways(x, y, layers) -> dict:
    """name -> a function running one training step and returning the loss (a tensor)."""
    xt, yt = tg.tensor(x), tg.tensor(y)
    loss_fn = tg.nn.MSELoss(reduction="sum")
    ways = {}

    model = _tg_model(layers)
    opt = tg.optim.Adam(model.parameters(), lr=LR)

    def eager():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    ways["eager"] = eager

    fmodel = _tg_model(layers)

    def loss_of(params, x, y):
        return loss_fn(functional_call(fmodel, params, (x,)), y)

    vg = tg.value_and_grad(loss_of)
    adam_step = tg.compile(lambda p, g, s: optim_f.adam(p, g, s, lr=LR), donate_argnums=(0, 2))
    fstate = {"params": {k: p.detach().clone() for k, p in fmodel.named_parameters()}}
    fstate["opt"] = optim_f.init_state(optim_f.adam, fstate["params"])

    def functional():
        loss, grads = vg(fstate["params"], xt, yt)
        fstate["params"], fstate["opt"] = adam_step(fstate["params"], grads, fstate["opt"])
        return loss
    ways["functional"] = functional

    def train_step(params, state, x, y):
        loss, grads = tg.value_and_grad(loss_of)(params, x, y)
        params, state = optim_f.adam(params, grads, state, lr=LR)
        return params, state, loss

    compiled = tg.compile(train_step, donate_argnums=(0, 1))
    cstate = {"params": {k: p.detach().clone() for k, p in fmodel.named_parameters()}}
    cstate["opt"] = optim_f.init_state(optim_f.adam, cstate["params"])

    def compiled_step():
        cstate["params"], cstate["opt"], loss = compiled(cstate["params"], cstate["opt"], xt, yt)
        return loss
    ways["compiled"] = compiled_step

    def predict(p, x):
        h = (x @ p["w1"].T + p["b1"]).clamp(min=0)
        return h @ p["w2"].T + p["b2"]

    def pytree_loss(p, x, y):
        return ((predict(p, x) - y) ** 2).sum()

    @tg.compile(donate_argnums=(0, 1))
    def pytree_step(params, state, x, y):
        loss, grads = tg.value_and_grad(pytree_loss)(params, x, y)
        params, state = optim_f.adam(params, grads, state, lr=LR)
        return params, state, loss

    (w1, b1), (w2, b2) = layers
    pstate = {"params": {"w1": w1.copy(), "b1": b1.copy(), "w2": w2.copy(), "b2": b2.copy()}}
    pstate["opt"] = optim_f.init_state(optim_f.adam, pstate["params"])

    def pytree():
        pstate["params"], pstate["opt"], loss = pytree_step(pstate["params"], pstate["opt"], x, y)
        return loss
    ways["pytree"] = pytree
    return ways


# ------------------------------------------------------------------ baselines

def torch_ways(x, y, layers) -> dict:
    try:
        import torch
    except ImportError:
        return {}

    def model_and_opt():
        mods = []
        for w, b in layers:
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            mods += [lin, torch.nn.ReLU()]
        model = torch.nn.Sequential(*mods[:-1])
        return model, torch.optim.Adam(model.parameters(), lr=LR)

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    model, opt = model_and_opt()

    def eager():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    ways = {"torch eager": eager}
    def compiled_way():
        cmodel, copt = model_and_opt()
        fwd, opt_step = torch.compile(cmodel), torch.compile(copt.step)

        def compiled():
            copt.zero_grad()
            loss = loss_fn(fwd(xt), yt)
            loss.backward()
            opt_step()
            return loss
        return compiled
    try:
        compiled_way()()  # can torch.compile build here?  A failure skips the row
        ways["torch.compile"] = compiled_way()  # compiled again on its first call
    except Exception as e:  # no C compiler, an unsupported build, ...
        print(f"torch.compile row skipped: {type(e).__name__}: {e}")
    return ways


def jax_ways(x, y, layers) -> dict:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    b1_, b2_, eps = 0.9, 0.999, 1e-8

    def loss_fn(p, x, y):
        h = jnp.maximum(x @ p["w1"].T + p["b1"], 0)
        return jnp.sum((h @ p["w2"].T + p["b2"] - y) ** 2)

    def step(p, s, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        t = s["step"] + 1
        m = jax.tree_util.tree_map(lambda m, g: b1_ * m + (1 - b1_) * g, s["m"], g)
        v = jax.tree_util.tree_map(lambda v, g: b2_ * v + (1 - b2_) * g * g, s["v"], g)
        step_size = LR / (1 - b1_ ** t)
        root = jnp.sqrt(1 - b2_ ** t)
        p = jax.tree_util.tree_map(lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / root + eps),
                                   p, m, v)
        return p, {"step": t, "m": m, "v": v}, loss

    jstep = jax.jit(step, donate_argnums=(0, 1))
    (w1, b1), (w2, b2) = layers
    params = {k: jnp.asarray(v) for k, v in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2))}
    state = {"step": jnp.zeros((), jnp.float32),
             "m": jax.tree_util.tree_map(jnp.zeros_like, params),
             "v": jax.tree_util.tree_map(jnp.zeros_like, params)}
    box = {"p": params, "s": state}
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def jitted():
        box["p"], box["s"], loss = jstep(box["p"], box["s"], xj, yj)
        jax.block_until_ready((box["p"], loss))
        return loss
    return {"JAX jit": jitted}


# ------------------------------------------------------------------ the rows

def _float(loss) -> float:
    return float(loss.item() if hasattr(loss, "item") else loss)


def _checked(ways: dict) -> None:
    """Every way's losses over the first steps agree (they start from the same weights)."""
    losses = {name: [_float(f()) for _ in range(CHECK_STEPS)] for name, f in ways.items()}
    ref = losses["eager"]
    for name, got in losses.items():
        if not np.allclose(got, ref, rtol=1e-4):
            raise AssertionError(f"NN: {name}'s losses {got} differ from eager's {ref}")


def training_rows(repeat: int, number: int) -> list[Row]:
    x, y, layers = _init()
    ways = {**tapegrad_ways(x, y, layers), **torch_ways(x, y, layers),
            **jax_ways(x, y, layers)}
    _checked(ways)
    names = list(ways)
    times = dict(zip(names, side_by_side([ways[n] for n in names], repeat, number)))
    torch_eager, torch_compiled, jax_jit = (times.get(k) for k in
                                            ("torch eager", "torch.compile", "JAX jit"))
    rows = [
        Row("NN Adam step, eager nn + optim", times["eager"], "PyTorch eager", torch_eager,
            "<= 0.8x"),
        Row("NN Adam step, value_and_grad + compiled adam", times["functional"],
            "PyTorch eager", torch_eager, ""),
        Row("NN Adam step, one compiled step (functional_call)", times["compiled"],
            "JAX jit", jax_jit, "<= 0.8x"),
        Row("NN Adam step, one compiled step (pytree)", times["pytree"], "JAX jit", jax_jit,
            "<= 0.8x"),
        Row("NN Adam step, one compiled step (functional_call)", times["compiled"],
            "torch.compile", torch_compiled, "")]
    if torch_eager is not None:  # the baselines against each other, for scale
        rows.append(Row("NN Adam step, PyTorch eager (reference)", torch_eager, "JAX jit",
                        jax_jit, ""))
    return rows


def optimizer_rows(label: str, sizes, repeat: int, number: int) -> list[Row]:
    """Adam.step alone on a model's gradients: fused (one compiled call per group) against
    the per-parameter path (foreach=False), and PyTorch's default Adam.step."""
    _, _, layers = _init(sizes)
    rng = np.random.default_rng(1)
    grads = [(rng.standard_normal(w.shape).astype(np.float32),
              rng.standard_normal(b.shape).astype(np.float32)) for w, b in layers]
    steps = {}
    for name, foreach in (("fused", None), ("per parameter", False)):
        params = [tg.tensor(a.copy(), requires_grad=True) for wb in layers for a in wb]
        for p, g in zip(params, (g for wb in grads for g in wb)):
            p.grad = tg.tensor(g)
        opt = tg.optim.Adam(params, lr=LR, foreach=foreach)
        opt.step()  # the state exists: later steps run fused
        steps[name] = opt.step
    try:
        import torch
        params = [torch.tensor(a, requires_grad=True) for wb in layers for a in wb]
        for p, g in zip(params, (g for wb in grads for g in wb)):
            p.grad = torch.from_numpy(g.copy())
        topt = torch.optim.Adam(params, lr=LR)
        topt.step()
        steps["torch"] = topt.step
    except ImportError:
        pass
    names = list(steps)
    times = dict(zip(names, side_by_side([steps[n] for n in names], repeat, number)))
    return [Row(f"NN Adam.step alone, {label}, fused", times["fused"], "per parameter",
                times["per parameter"], "<= 1.0x"),
            Row(f"NN Adam.step alone, {label}, fused", times["fused"], "PyTorch Adam.step",
                times.get("torch"), "")]


def nn_rows(repeat: int, number: int) -> list[Row]:
    rows = training_rows(repeat, number)
    rows += optimizer_rows("W1's params", SIZES, repeat, number)
    rows += optimizer_rows("10 x Linear(256)", (64,) + (256,) * 11, repeat, max(1, number // 4))
    return rows


def cpu_times(rounds: int = 15, number: int = 10) -> dict:
    """Median process CPU seconds per step of every way, in turns (on a machine other
    processes keep busy, waiting for a core inflates wall-clock times, not these; run
    single-threaded: every thread's time counts)."""
    import time
    x, y, layers = _init()
    ways = {**tapegrad_ways(x, y, layers), **torch_ways(x, y, layers),
            **jax_ways(x, y, layers)}
    _checked(ways)
    times: dict = {name: [] for name in ways}
    for _ in range(rounds):
        for name, f in ways.items():
            t0 = time.process_time()
            for _ in range(number):
                f()
            times[name].append((time.process_time() - t0) / number)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


if __name__ == "__main__":
    # python -m benchmarks.nn_optim: the training step's CPU time per way (one thread each:
    # OMP/OPENBLAS/TAPEGRAD_NUM_THREADS=1, XLA_FLAGS=--xla_cpu_multi_thread_eigen=false)
    for name, seconds in cpu_times().items():
        print(f"{name:16s} {seconds * 1e6:8.0f} us CPU per step")
