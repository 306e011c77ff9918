"""Gradient clipping in place, as `torch.nn.utils`: the norm of all gradients together
(scale = max_norm / (norm + 1e-6), clamped to 1), or each element into [-v, v]."""
from __future__ import annotations

import math

from ...tracer.grad_mode import no_grad
from ...tracer.tensor import Tensor


def _grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    from ...tracer import ops as O
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return O.tensor(0.0) if hasattr(O, "tensor") else _zero()
    with no_grad():
        norms = [g.abs().max() if norm_type == math.inf else O.norm(g, norm_type) for g in grads]
        stacked = O.stack(norms)
        total = stacked.max() if norm_type == math.inf else O.norm(stacked, norm_type)
        if error_if_nonfinite and not math.isfinite(float(total)):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               "`parameters` is non-finite, so it cannot be clipped. To disable "
                               "this error and scale the gradients by the non-finite norm anyway, "
                               "set `error_if_nonfinite=False`")
        coef = O.clamp(max_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def _zero() -> Tensor:
    from ...tracer.creation import tensor
    return tensor(0.0)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)
