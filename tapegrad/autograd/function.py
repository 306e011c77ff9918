"""`torch.autograd.function`: custom Functions (tracer/custom_function.py)."""
from ..tracer.custom_function import Function, FunctionCtx, once_differentiable


class InplaceFunction(Function):
    """Kept by PyTorch for old code: a Function that remembers `inplace`."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"torch.autograd.function.{name} is not supported by tapegrad (see "
                         "docs/torch-coverage.md)")


__all__ = ["Function", "FunctionCtx", "InplaceFunction", "once_differentiable"]
