"""tapegrad.runtime: the reference interpreter, native calls and compile caches.

Native calls (`compile_function`, `CompiledFunction`) load llvmlite, which costs
tens of milliseconds, so they are imported on first use: `import tapegrad`
stays fast for code that never compiles.
"""
from .interpreter import IMPLS, interpret

_NATIVE = ("CompiledFunction", "compile_function")


def __getattr__(name: str):
    if name in _NATIVE:
        from . import native
        return getattr(native, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["IMPLS", "interpret", "CompiledFunction", "compile_function"]
