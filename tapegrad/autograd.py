"""`tg.autograd`: backward, grad, custom Functions, gradcheck, functional, and the tape."""
from __future__ import annotations

from .ir.core import Function as IRFunction, free_params, topo_sort
from .tracer.tensor import Tensor


def Variable(tensor, requires_grad=None):
    """Deprecated in PyTorch since 0.4: returns the tensor itself."""
    if requires_grad is not None:
        tensor.requires_grad_(requires_grad)
    return tensor


def tape(t: Tensor) -> IRFunction:
    """The IR Function of the eager tape that produced `t` (parameters are its leaves
    and the other tensors it read)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"tape() expects a Tensor, got {type(t).__name__}")
    if t._value is None:
        raise RuntimeError("this tensor has no tape: it was not computed from a tensor that "
                           "requires grad (or it was computed under no_grad)")
    return IRFunction("tape", free_params([t._value]), topo_sort([t._value]), [t._value])


# ---------------------------------------------------------------- backward engine
from .tracer import functional  # noqa: E402
from .tracer.custom_function import Function, FunctionCtx  # noqa: E402
from .tracer.engine import backward, grad  # noqa: E402
from .tracer.functional import GradcheckError, gradcheck  # noqa: E402

__all__ = ["Variable", "tape", "backward", "grad", "Function", "FunctionCtx", "gradcheck",
           "GradcheckError", "functional"]
