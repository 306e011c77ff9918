"""`torch.autograd.functional` (tracer/functional.py)."""
from ..tracer.functional import hessian, hvp, jacobian, jvp, vhp, vjp

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]
