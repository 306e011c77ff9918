"""`nn.init`: in-place initialisers drawing from tapegrad's generator in PyTorch's order,
so a seeded layer starts from the numbers PyTorch's starts from."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..tracer.creation import empty_like
from ..tracer.grad_mode import no_grad
from ..tracer.ops_elementwise import where
from ..tracer.ops_math import logical_or
from ..tracer.tensor import Tensor

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    if nonlinearity in _LINEAR_GAINS:
        return 1  # an int, as PyTorch returns
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    with no_grad():
        return tensor.zero_()


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)



def _rejected_normals(tensor: Tensor, mean: float, std: float, a: float, b: float,
                      generator) -> None:
    """Normal draws outside [a, b] (compared in the tensor's dtype) are redrawn, each
    round drawing a whole tensor's worth, until none is left."""
    lo = float(np.asarray(a, tensor.detach().numpy().dtype))
    hi = float(np.asarray(b, tensor.detach().numpy().dtype))
    result = tensor.normal_(mean, std, generator=generator)
    while True:
        outside = logical_or(result < lo, result > hi)
        if not bool(outside.any()):
            break
        result = where(outside, empty_like(result).normal_(mean, std, generator=generator),
                       result)
    if result is not tensor:
        tensor.copy_(result)


def _log_density_gap(x: Tensor, mean: float, std: float, log_peak: float) -> Tensor:
    """log of the normal density at x over its peak in [a, b], step by step as PyTorch
    rounds it in the tensor's dtype."""
    return (((x - mean) / std) ** 2 * -0.5) - log_peak


def _rejected_uniforms(tensor: Tensor, mean: float, std: float, a: float, b: float,
                       generator) -> None:
    """For a narrow window: uniform proposals on [a, b], each kept when log(u) of a
    second uniform falls under the normal's log density relative to its peak."""
    log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
    candidates, accept = empty_like(tensor), empty_like(tensor)
    tensor.uniform_(a, b, generator=generator)
    gap = _log_density_gap(tensor, mean, std, log_peak)
    pending = accept.uniform_(generator=generator).log().gt(gap)
    if not bool(pending.any()):
        return
    result = tensor
    while True:
        candidates.uniform_(a, b, generator=generator)
        result = where(pending, candidates, result)
        gap = _log_density_gap(candidates, mean, std, log_peak)
        pending = where(pending, accept.uniform_(generator=generator).log().gt(gap), pending)
        if not bool(pending.any()):
            break
    tensor.copy_(result)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Normal(mean, std) restricted to [a, b] by rejection, drawing what PyTorch 2.13
    draws from the seeded generator: redrawn normals when [a, b] holds more than 30%
    of the mass, uniform proposals with a density test otherwise."""
    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    with no_grad():
        if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:
            _rejected_normals(tensor, mean, std, a, b, generator)
        else:
            _rejected_uniforms(tensor, mean, std, a, b, generator)
    return tensor
