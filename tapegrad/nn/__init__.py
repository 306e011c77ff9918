"""`tg.nn`: only the functional part (`tg.nn.functional`) so far."""
from . import functional

__all__ = ["functional"]

from ..tracer.unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("tapegrad.nn", "torch.nn")
