"""`tg.utils`: PyTorch's torch.utils helpers tapegrad has (dlpack, data)."""
from . import data, dlpack
from ..tracer.unsupported import module_getattr

__getattr__ = module_getattr("tapegrad.utils", "torch.utils")
