"""Activations for `tg.nn.functional`, composed of tensor operations.

Each matches PyTorch's formula and defaults; branches use `where` so both sides
stay finite (the unused side's gradient is masked to zero).  Exact GELU uses
the erf primitive; a rational approximation (Abramowitz-Stegun 7.1.26,
|error| < 1.5e-7) stands in where it is missing.
"""
from __future__ import annotations

import math

from ..tracer import ops_elementwise as E
from ..tracer.tape import grad_node
from ..tracer.tensor import Tensor


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    with grad_node("LeakyReluBackward0", input):
        return E.where(E.gt(input, 0.0), input, E.mul(input, negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    with grad_node("EluBackward0", input):
        pos = E.gt(input, 0.0)
        neg_part = E.mul(E.sub(E.exp(E.where(pos, 0.0, input)), 1.0), alpha)
        return E.where(pos, input, neg_part)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    with grad_node("SiluBackward0", input):
        return E.mul(input, E.sigmoid(input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    with grad_node("SoftplusBackward0", input):
        bx = E.mul(input, beta)
        linear = E.gt(bx, threshold)
        safe = E.where(linear, 0.0, bx)
        return E.where(linear, input, E.div(E.log1p(E.exp(safe)), beta))


def _erf(x: Tensor) -> Tensor:
    """The erf primitive (tracer/ops_math.py) where this tree has it, else the rational form."""
    try:
        from ..tracer.ops_math import erf
    except ImportError:
        erf = None
    if erf is not None:
        return erf(x)
    sign = E.sign(x)
    a = E.abs(x)
    t = E.reciprocal(E.add(E.mul(a, 0.3275911), 1.0))
    poly = 1.061405429
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly = E.add(E.mul(t, poly), c)
    poly = E.mul(poly, t)
    return E.mul(sign, E.rsub(E.mul(poly, E.exp(E.neg(E.mul(a, a)))), 1.0))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    with grad_node("GeluBackward0", input):
        if approximate == "tanh":
            inner = E.mul(E.add(input, E.mul(E.pow(input, 3), 0.044715)),
                          math.sqrt(2.0 / math.pi))
            return E.mul(E.mul(input, 0.5), E.add(E.tanh(inner), 1.0))
        if approximate != "none":
            raise RuntimeError(f"approximate argument must be either none or tanh, got "
                               f"{approximate!r}")
        return E.mul(E.mul(input, 0.5), E.add(_erf(E.mul(input, 1.0 / math.sqrt(2.0))), 1.0))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    return E.clamp(input, min=min_val, max=max_val)
