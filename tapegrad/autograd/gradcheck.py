"""`torch.autograd.gradcheck`, the module (tracer/gradcheck.py)."""
from ..tracer.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]
