"""The names code above the runtime imported from here before the runtime split
its jobs (compiler.py, loader.py, native_call.py, buffer_pool.py).

New code imports from those modules (or `tapegrad.runtime`); this module only
keeps callers written against the old layout importable while they move.
"""
from .buffer_pool import POOL_MIN_BYTES, allocate
from .compiler import compile_function
from .native_call import CompiledFunction

__all__ = ["POOL_MIN_BYTES", "allocate", "compile_function", "CompiledFunction"]
