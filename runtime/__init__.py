"""tapegrad.runtime: the reference interpreter, native calls and compile caches."""
from .interpreter import IMPLS, interpret
from .native import CompiledFunction, compile_function

__all__ = ["IMPLS", "interpret", "CompiledFunction", "compile_function"]
