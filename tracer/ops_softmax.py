"""softmax and log_softmax as `tg.softmax` and Tensor methods (`x.softmax(dim=1)`).

Each is one primitive (ir: softmax, log_softmax; their VJPs the backward kernels
softmax_backward_data / log_softmax_backward_data), computed with the arithmetic of
PyTorch's CPU kernel, so values and gradients have PyTorch's bits (the row maximum is
subtracted inside the kernel: large inputs stay finite).  tapegrad.nn.functional has
the same functions with F's defaults.
"""
from __future__ import annotations

from ..ir import primitives as P
from . import ops_elementwise as E
from . import ops_shape as S
from .tape import bind, grad_node
from .tensor import Tensor, _wrap_dim


def _prepared(input, dim, dtype) -> tuple[Tensor, int]:
    x = E.as_tensor(input)
    if dtype is not None:
        x = S.to_dtype(x, dtype)
    if dim is None:  # PyTorch's deprecated implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, _wrap_dim(dim, x.ndim) if x.ndim else 0


def _kernel(prim, name: str, input, dim, dtype) -> Tensor:
    x, d = _prepared(input, dim, dtype)
    with grad_node(name, x):
        x = E.to_float(x)
        if x.ndim == 0:  # a 0-d tensor is a row of one
            return S.reshape(bind(prim, S.reshape(x, (1,)), axis=0), ())
        return bind(prim, x, axis=d)


def softmax(input, dim=None, dtype=None) -> Tensor:
    return _kernel(P.softmax, "SoftmaxBackward0", input, dim, dtype)


def log_softmax(input, dim=None, dtype=None) -> Tensor:
    return _kernel(P.log_softmax, "LogSoftmaxBackward0", input, dim, dtype)


FUNCTIONS = ["softmax", "log_softmax"]
METHODS = {"softmax": softmax, "log_softmax": log_softmax}
for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
