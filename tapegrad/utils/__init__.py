"""`tg.utils`: PyTorch's torch.utils helpers tapegrad has (checkpoint, dlpack, data)."""
from . import checkpoint, data, dlpack
from ..tracer.unsupported import module_getattr

__getattr__ = module_getattr("tapegrad.utils", "torch.utils")
