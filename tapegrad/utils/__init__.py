"""`tg.utils`: PyTorch's torch.utils helpers tapegrad has (dlpack)."""
from . import dlpack
from ..tracer.unsupported import module_getattr

__getattr__ = module_getattr("tapegrad.utils", "torch.utils")
