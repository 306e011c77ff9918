"""Regression and divergence losses for `tg.nn.functional` (PyTorch's defaults:
reduction='mean'; KLDivLoss's 'mean' averages over elements, as PyTorch's does)."""
from __future__ import annotations

from ..tracer import ops_elementwise as E
from ..tracer import ops_reduce as R
from ..tracer.tape import grad_node
from ..tracer.tensor import Tensor


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return R.mean(loss)
    if reduction == "sum":
        return R.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    with grad_node("L1LossBackward0", input, target):
        return reduce_loss(E.abs(E.sub(input, target)), reduction)


def _piecewise(input: Tensor, target: Tensor, delta: float, smooth_scale: bool) -> Tensor:
    """|d| < delta: 0.5 d^2 (/delta for SmoothL1); else |d| - 0.5 delta (times delta for Huber)."""
    d = E.sub(input, target)
    a = E.abs(d)
    small = E.lt(a, delta)
    if smooth_scale:
        return E.where(small, E.div(E.mul(E.mul(d, d), 0.5), delta), E.sub(a, 0.5 * delta))
    return E.where(small, E.mul(E.mul(d, d), 0.5), E.mul(E.sub(a, 0.5 * delta), delta))


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    with grad_node("SmoothL1LossBackward0", input, target):
        if beta == 0:
            return reduce_loss(E.abs(E.sub(input, target)), reduction)
        return reduce_loss(_piecewise(input, target, beta, True), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    with grad_node("HuberLossBackward0", input, target):
        return reduce_loss(_piecewise(input, target, delta, False), reduction)


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """target * (log target - input), 0 where target is 0 (input holds log-probabilities)."""
    with grad_node("KlDivBackward0", input, target):
        if log_target:
            loss = E.mul(E.exp(target), E.sub(target, input))
        else:
            positive = E.gt(target, 0.0)
            log_t = E.log(E.where(positive, target, 1.0))
            loss = E.where(positive, E.mul(target, E.sub(log_t, input)), 0.0)
        if reduction == "batchmean":
            return E.div(R.sum(loss), float(input.shape[0]) if input.ndim else 1.0)
        return reduce_loss(loss, reduction)
