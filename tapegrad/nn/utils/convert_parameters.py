"""One flat vector of all parameters, and back (`torch.nn.utils`)."""
from __future__ import annotations

from ...tracer import ops_shape as S
from ...tracer.tensor import Tensor


def parameters_to_vector(parameters) -> Tensor:
    return S.cat([S.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    for p in parameters:
        n = p.numel()
        p.data = S.reshape(vec[offset:offset + n], p.shape).data
        offset += n
