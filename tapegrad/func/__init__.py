"""`tg.func`: torch.func's names and signatures (one file per job): functional_call over
Modules, and the function transforms (transforms.py)."""
from .functional_call import functional_call  # noqa: F401
from .transforms import (  # noqa: F401
    grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp, vmap)
