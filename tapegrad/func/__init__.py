"""`tg.func`: torch.func's names and signatures (one file per job)."""
from .transforms import (  # noqa: F401
    grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp, vmap)
