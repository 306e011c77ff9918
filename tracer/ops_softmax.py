"""softmax and log_softmax as `tg.softmax` and Tensor methods (`x.softmax(dim=1)`).

The row maximum is subtracted, held constant (its gradient cancels), so large
inputs stay finite; float16 computes in float32 and rounds once, as PyTorch's
CPU kernel.  tapegrad.nn.functional has the same functions with F's defaults.
"""
from __future__ import annotations

from ..ir import primitives as P
from . import ops_elementwise as E
from . import ops_reduce as R
from . import ops_shape as S
from .ops_core import in_float32
from .tape import bind, grad_node
from .tensor import Tensor, _wrap_dim


def _shifted(x: Tensor, dim: int) -> Tensor:
    if x.ndim and x.shape[dim] == 0:  # an empty dim has no maximum and nothing to shift
        return x
    return E.sub(x, bind(P.stop_gradient, R.amax(x, dim, keepdim=True)))


def _prepared(input: Tensor, dim, dtype) -> tuple[Tensor, int]:
    x = E.as_tensor(input)
    if dtype is not None:
        x = S.to_dtype(x, dtype)
    if dim is None:  # PyTorch's deprecated implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, _wrap_dim(dim, x.ndim) if x.ndim else 0


def softmax(input, dim=None, dtype=None) -> Tensor:
    x, d = _prepared(input, dim, dtype)
    with grad_node("SoftmaxBackward0", x):
        def compute(x):
            e = E.exp(_shifted(E.to_float(x), d))
            return E.div(e, R.sum(e, d, keepdim=True))
        return in_float32(x, compute)


def log_softmax(input, dim=None, dtype=None) -> Tensor:
    x, d = _prepared(input, dim, dtype)
    with grad_node("LogSoftmaxBackward0", x):
        def compute(x):
            z = _shifted(E.to_float(x), d)
            return E.sub(z, E.log(R.sum(E.exp(z), d, keepdim=True)))
        return in_float32(x, compute)


FUNCTIONS = ["softmax", "log_softmax"]
METHODS = {"softmax": softmax, "log_softmax": log_softmax}
for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
