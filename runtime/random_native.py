"""The native random kernels (codegen/random_kernels.py), loaded once per process.

    k = kernels()            # None where native code cannot run: callers use numpy
    k.draw(state, counters, out, n)

The module is compiled once and kept in the disk cache like any compiled function
(its key covers codegen's sources, so an edited kernel is rebuilt); a process
that finds it there loads the shared library without importing LLVM. Arrays are
passed as object addresses and read natively (native_call.DATA_OFFSET), so the
caller must keep them alive and of the kernel's dtype, contiguous, and big enough:
the wrappers in tracer/random_fill.py allocate them.
"""
from __future__ import annotations

import ctypes
import functools
import os

from . import cache, handwritten
from .native_call import DATA_OFFSET

#: set to "0" to draw with the numpy reference (tracer/random_mathfun.py) instead
ENV_SWITCH = "TAPEGRAD_NATIVE_RANDOM"
_MODULE = "tapegrad-random-kernels"
#: calls on fewer elements keep the GIL: releasing it costs more than they run
_GIL_FREE_FROM = 4096

_CTYPE = {"obj": ctypes.c_void_p, "i64": ctypes.c_int64, "float": ctypes.c_float,
          "double": ctypes.c_double}


class Kernels:
    """One attribute per kernel: call it with arrays (any ndarray) and scalars."""

    def __init__(self, addresses: list[int], kinds):
        for (name, args), address in zip(kinds, addresses):
            types = [ctypes.c_int64, *(_CTYPE[t] for t in args)]
            setattr(self, name, _wrapper(name, args, ctypes.PYFUNCTYPE(None, *types)(address),
                                         ctypes.CFUNCTYPE(None, *types)(address)))


def _wrapper(name: str, args, held, free):
    """A plain function of the kernel's arguments (written out once, as namedtuple does:
    a generic loop over the arguments costs more than the small kernels run): arrays go
    as id(), and calls on many elements release the GIL."""
    params = [f"a{i}" for i in range(len(args))]
    passed = ", ".join(f"id({p})" if t == "obj" else p for p, t in zip(params, args))
    size = [p for p, t in zip(params, args) if t == "i64"][0]  # the count: first i64
    source = (f"def {name}({', '.join(params)}):\n"
              f"    fn = free if {size} >= {_GIL_FREE_FROM} else held\n"
              f"    fn({DATA_OFFSET}, {passed})\n")
    scope = {"held": held, "free": free}
    exec(source, scope)  # noqa: S102 - source built above from KERNELS only
    return scope[name]


#: read once: the random functions ask for the kernels on every draw
ENABLED = os.environ.get(ENV_SWITCH, "1").strip() != "0"


@functools.cache
def _loaded() -> Kernels | None:
    if DATA_OFFSET is None:
        return None
    try:
        return _load_or_compile()
    except Exception:  # noqa: BLE001 - no LLVM target, no loader: the numpy path stays
        return None


def kernels() -> Kernels | None:
    """The loaded kernels, or None (disabled, or native code cannot be made here)."""
    return _loaded() if ENABLED else None


def kernels_if_loaded() -> Kernels | None:
    """The kernels if an earlier call loaded them, else None: for work that need not wait
    (seeding the default generator at import must not compile or load anything)."""
    return _loaded() if ENABLED and _loaded.cache_info().currsize else None


def _load_or_compile() -> Kernels:
    from ..codegen import random_kernels
    key = cache.make_key(_MODULE, "random")
    symbol = "tg_" + key[:32] + "_random"  # the cache wants "tg_" + the key first
    code, seconds = handwritten.code_for(key, symbol, random_kernels.module_text)
    if seconds is not None:
        compile_seconds.append(seconds)
    table = (ctypes.c_void_p * len(random_kernels.KERNELS))()
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(code.address)(ctypes.addressof(table))
    return Kernels([int(a) for a in table], random_kernels.KERNELS)


#: seconds spent compiling the module in this process (empty when it came from the cache)
compile_seconds: list[float] = []
