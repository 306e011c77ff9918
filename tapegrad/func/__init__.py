"""`tg.func`: torch.func's function transforms over Modules (one file per function)."""
from .functional_call import functional_call  # noqa: F401
