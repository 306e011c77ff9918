"""tapegrad.runtime: the reference interpreter, native calls and compile caches.

The native runtime is imported with the package: it does not load llvmlite
(that happens on the first compile, and a warm disk cache never needs it), so
it costs a few milliseconds of `import tapegrad` and saves them, and more, on
the first call of a compiled function (W5 in benchmarks/README.md).
"""
from .interpreter import IMPLS, interpret
from .compiler import compile_function
from .native_call import CompiledFunction
from . import native_pool  # noqa: F401 - registers the native worker pool's slot

__all__ = ["IMPLS", "interpret", "CompiledFunction", "compile_function"]
