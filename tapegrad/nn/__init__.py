"""`tg.nn`: only the functional part (`tg.nn.functional`) so far."""
from . import functional

__all__ = ["functional"]
