"""tapegrad.runtime: the reference interpreter, native calls and compile caches."""
from .interpreter import IMPLS, interpret

__all__ = ["IMPLS", "interpret"]
