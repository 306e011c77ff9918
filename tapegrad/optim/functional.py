"""Pure optimizer updates: `(params, grads, state, **hyper) -> (params, state)` on pytrees.

Each is written with tensor operations only, so it runs eagerly, traces under
`tg.compile` and differentiates.  The arithmetic follows PyTorch's single-tensor
kernels step for step (same order of operations, bias corrections in Python
floats when the step count is concrete), so the classes in this package, which
call these, reproduce PyTorch's trajectories.  `state=None` starts a fresh state.
"""
from __future__ import annotations

import math

from ..tracer import ops as O
from ..ir.dtypes import f64 as float64
from ..tracer.creation import tensor, zeros_like
from ..tracer.tensor import Tensor
from ..tracer.tree_util import tree_flatten, tree_unflatten

__all__ = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "init_state"]

_SLOTS = {"sgd": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
          "adamw": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
          "rmsprop": ("square_avg", "momentum_buffer", "grad_avg"), "adagrad": ("sum",)}


def init_state(update, params, **hyper) -> dict:
    """A state with the slots the update will use for these hyperparameters (the update's
    defaults for those not given) as zeros, and the step count as a float32 tensor, so
    that `tg.compile` sees the same pytree on every step (state=None changes shape after
    one step, and a slot the update does not use would be copied through every step)."""
    name = update if isinstance(update, str) else update.__name__
    state = {"step": tensor(0.0)}
    leaves, treedef = tree_flatten(params)
    for slot in _SLOTS[name]:
        if not _uses(name, slot, hyper):
            continue
        fill = hyper.get("initial_accumulator_value", 0.0) if slot == "sum" else 0.0
        state[slot] = tree_unflatten(treedef, [zeros_like(p) + fill if fill else zeros_like(p)
                                               for p in leaves])
    return state


def _uses(name: str, slot: str, hyper: dict) -> bool:
    """Whether the update `name` reads and writes `slot` with these hyperparameters."""
    if slot == "max_exp_avg_sq":
        return bool(hyper.get("amsgrad", False))
    if slot == "momentum_buffer":
        return hyper.get("momentum", 0.0) != 0
    if slot == "grad_avg":
        return bool(hyper.get("centered", False))
    return True


def _leaves(params, grads, state, slots: tuple[str, ...]):
    p_leaves, treedef = tree_flatten(params)
    g_leaves, g_def = tree_flatten(grads)
    if len(g_leaves) != len(p_leaves):
        raise ValueError(f"optimizer: {len(p_leaves)} parameters but {len(g_leaves)} gradients "
                         f"(params {treedef}, grads {g_def})")
    if state is None:
        state = {"step": 0}
        for slot in slots:
            state[slot] = None
    per = {slot: (tree_flatten(state[slot])[0] if state.get(slot) is not None
                  else [None] * len(p_leaves)) for slot in slots}
    return p_leaves, g_leaves, treedef, state, per


def _pack(treedef, new_params, state, per, slots, step):
    """(params, state); slots of `state` this update does not use pass through unchanged,
    so a state keeps its pytree structure whatever the hyperparameters."""
    out = {k: v for k, v in state.items() if k != "step" and k not in slots}
    out["step"] = step
    for slot in slots:
        if any(v is not None for v in per[slot]):
            out[slot] = tree_unflatten(treedef, per[slot])
        elif slot in state:  # an unused slot stays absent from a state without it
            out[slot] = None
    return tree_unflatten(treedef, new_params), out


def _next_step(step):
    return step + 1


def _scalar(step):
    """A concrete step count as a Python float (PyTorch's _get_value), else the tensor."""
    if isinstance(step, Tensor):
        return float(step) if step._data is not None else step
    return float(step)


def _power(beta: float, step):
    if isinstance(step, Tensor):
        return O.exp(step * math.log(beta)) if beta > 0 else step * 0.0
    return beta ** step


def _lerp(start: Tensor, end: Tensor, weight: float) -> Tensor:
    """PyTorch's lerp: start + w (end - start) for w < 1/2, else end - (end - start)(1 - w)."""
    diff = end - start
    return start + diff * weight if abs(weight) < 0.5 else end - diff * (1 - weight)


def _zeros_like(p: Tensor) -> Tensor:
    return zeros_like(p)


def sgd(params, grads, state=None, *, lr: float = 1e-3, momentum: float = 0.0,
        dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
        maximize: bool = False):
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")
    slots = ("momentum_buffer",)
    ps, gs, treedef, state, per = _leaves(params, grads, state, slots)
    bufs, new = per["momentum_buffer"], []
    for i, (p, g) in enumerate(zip(ps, gs)):
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + p * weight_decay
        if momentum != 0:
            if bufs[i] is None:
                buf = g.detach()
            else:
                buf = bufs[i] * momentum + g * (1 - dampening)
                if isinstance(state["step"], Tensor):  # an init_state buffer: the first step
                    buf = O.where(state["step"] == 0, g, buf)   # takes the gradient itself
            bufs[i] = buf
            g = g + buf * momentum if nesterov else buf
        new.append(p - g * lr)
    return _pack(treedef, new, state, per, slots, _next_step(state["step"]))


def _adam(params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled):
    beta1, beta2 = betas
    slots = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
    ps, gs, treedef, state, per = _leaves(params, grads, state, slots)
    step = _next_step(state["step"])
    s = _scalar(step)
    if isinstance(s, Tensor):  # traced: 1 - beta**t cancels, so form it in float64
        s = s.to(float64)
    bias1 = 1 - _power(beta1, s)
    bias2_sqrt = (1 - _power(beta2, s)) ** 0.5
    step_size = lr / bias1
    if isinstance(s, Tensor) and ps:
        step_size, bias2_sqrt = step_size.to(ps[0].dtype), bias2_sqrt.to(ps[0].dtype)
    new = []
    for i, (p, g) in enumerate(zip(ps, gs)):
        g = -g if maximize else g
        if weight_decay != 0:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + p * weight_decay
        m = per["exp_avg"][i]
        v = per["exp_avg_sq"][i]
        m = _lerp(_zeros_like(p) if m is None else m, g, 1 - beta1)
        v = (_zeros_like(p) if v is None else v) * beta2 + g * (1 - beta2) * g  # addcmul
        per["exp_avg"][i], per["exp_avg_sq"][i] = m, v
        if amsgrad:
            vmax = per["max_exp_avg_sq"][i]
            vmax = v if vmax is None else O.maximum(vmax, v)
            per["max_exp_avg_sq"][i] = vmax
            v = vmax
        denom = O.sqrt(v) / bias2_sqrt + eps
        new.append(p + m * -step_size / denom)  # addcdiv
    return _pack(treedef, new, state, per, slots, step)


def adam(params, grads, state=None, *, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False):
    return _adam(params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize, False)


def adamw(params, grads, state=None, *, lr: float = 1e-3, betas=(0.9, 0.999),
          eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
          maximize: bool = False):
    return _adam(params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize, True)


def rmsprop(params, grads, state=None, *, lr: float = 1e-2, alpha: float = 0.99,
            eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
            centered: bool = False, maximize: bool = False):
    slots = ("square_avg", "momentum_buffer", "grad_avg")
    ps, gs, treedef, state, per = _leaves(params, grads, state, slots)
    new = []
    for i, (p, g) in enumerate(zip(ps, gs)):
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + p * weight_decay
        sq = per["square_avg"][i]
        sq = (_zeros_like(p) if sq is None else sq) * alpha + g * (1 - alpha) * g
        per["square_avg"][i] = sq
        if centered:
            ga = per["grad_avg"][i]
            ga = _lerp(_zeros_like(p) if ga is None else ga, g, 1 - alpha)
            per["grad_avg"][i] = ga
            avg = O.sqrt(sq - ga * ga) + eps
        else:
            avg = O.sqrt(sq) + eps
        if momentum > 0:
            buf = per["momentum_buffer"][i]
            buf = (_zeros_like(p) if buf is None else buf) * momentum + g / avg
            per["momentum_buffer"][i] = buf
            new.append(p - buf * lr)
        else:
            new.append(p + g * -lr / avg)
    return _pack(treedef, new, state, per, slots, _next_step(state["step"]))


def adagrad(params, grads, state=None, *, lr: float = 1e-2, lr_decay: float = 0.0,
            weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
            eps: float = 1e-10, maximize: bool = False):
    slots = ("sum",)
    ps, gs, treedef, state, per = _leaves(params, grads, state, slots)
    step = _next_step(state["step"])
    s = _scalar(step)
    if isinstance(s, Tensor):  # traced: the decayed rate in float64, as PyTorch's Python float
        s = s.to(float64)
    clr = lr / (1 + (s - 1) * lr_decay)
    if isinstance(clr, Tensor) and ps:
        clr = clr.to(ps[0].dtype)
    new = []
    for i, (p, g) in enumerate(zip(ps, gs)):
        g = -g if maximize else g
        if weight_decay != 0:
            g = g + p * weight_decay
        acc = per["sum"][i]
        acc = (_zeros_like(p) + initial_accumulator_value if acc is None else acc) + g * g
        per["sum"][i] = acc
        new.append(p + g * -clr / (O.sqrt(acc) + eps))
    return _pack(treedef, new, state, per, slots, step)
