"""`tg.utils.dlpack`: to_dlpack / from_dlpack, as torch.utils.dlpack has them."""
from ..tracer.dlpack import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]
