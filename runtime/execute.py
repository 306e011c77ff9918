"""Running an IR function on arrays: the one door the eager engine uses.

Tiered, as DESIGN says: a function seen for the first time runs on the
interpreter (compiling would cost more than it saves); a function seen again
(the adjoint of a training loop's tape, whose structure repeats) is compiled
once and then runs as native code.  `TAPEGRAD_EAGER=interpret|compile|auto`
(default auto) forces either way.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..ir.core import Function
from . import dump
from .buffer_pool import allocate
from .interpreter import interpret

MODES = ("interpret", "compile", "auto")
#: how many functions the eager tier remembers (each holds a reference to its IR)
TIER_CACHE_SIZE = 512


@dataclass
class EagerStats:
    """Counters of the eager tier, for tests, examples and the curious."""

    interpreted: int = 0
    native: int = 0
    compiled: int = 0

    def __str__(self) -> str:
        return (f"eager adjoints: {self.native} native calls, {self.interpreted} interpreted, "
                f"{self.compiled} compiled")


stats = EagerStats()
_seen: "OrderedDict[int, tuple[Function, object]]" = OrderedDict()
_lock = threading.Lock()


#: os.environ's own dict of encoded names and values, read directly on POSIX: `os.environ.get`
#: encodes the name and decodes the value in Python (~1 us) on every backward
_ENVIRON = os.environ._data if os.name == "posix" and \
    isinstance(getattr(os.environ, "_data", None), dict) else None
_MODE_KEY = os.fsencode("TAPEGRAD_EAGER")


def eager_mode() -> str:
    if _ENVIRON is not None:
        raw = _ENVIRON.get(_MODE_KEY)
        mode = os.fsdecode(raw) if raw else "auto"
    else:
        mode = os.environ.get("TAPEGRAD_EAGER", "auto") or "auto"
    if mode not in MODES:
        raise ValueError(f"TAPEGRAD_EAGER={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def execute(fn: Function, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run `fn` on `arrays`: interpreted the first time, native from the second (auto).

    `fn` must be a function object the caller keeps and passes again for the
    same computation (the engine's cached adjoints are), since the tier counts
    calls per object.
    """
    mode = eager_mode()
    if mode == "interpret":
        stats.interpreted += 1
        return interpret(fn, arrays)
    with _lock:
        entry = _seen.get(id(fn))
        if entry is not None and entry[0] is not fn:
            entry = None  # the id was reused by another object
        if entry is not None:
            _seen.move_to_end(id(fn))
    compiled = entry[1] if entry is not None else None
    if compiled is not None:  # the training loop's case: nothing to update but the counter
        stats.native += 1
        return _call(compiled, entry[2], entry[3], arrays)
    obj = None
    if mode == "compile" or entry is not None:
        from .compiler import compile_function
        compiled = compile_function(fn)
        obj = compiled.object_entry()
        stats.compiled += 1
        _dump(fn, compiled)
    params = tuple([(p.type.shape, p.type.dtype.np) for p in fn.params])
    with _lock:
        _seen[id(fn)] = (fn, compiled, params, obj)
        while len(_seen) > TIER_CACHE_SIZE:
            _seen.popitem(last=False)
    if compiled is None:
        stats.interpreted += 1
        return interpret(fn, arrays)
    stats.native += 1
    return _call(compiled, params, obj, arrays)


def _dump(fn: Function, compiled) -> None:
    """What TAPEGRAD_DUMP / TAPEGRAD_DUMP_DIR ask for (runtime/dump.py), for an adjoint
    the eager tier just compiled: the adjoint as the engine built it, the IR codegen
    compiled (its passes applied, loop nests tagged), LLVM IR and assembly.  There is
    no `ir` stage: the eager engine compiles no forward function."""
    if not dump.requested_stages():
        return

    def stage(name: str) -> str | None:
        if name == "adjoint":
            return str(fn)
        if name == "optimized":
            from ..codegen.blas import gemm_addresses
            from ..codegen.plan import fused_text
            return fused_text(fn, frozenset(gemm_addresses()))
        if name in ("llvm", "asm"):
            return getattr(compiled, name)
        return None

    dump.dump_stages(fn.name, stage, fn.structural_hash())


def _call(compiled, params: tuple, obj, arrays: Sequence) -> list[np.ndarray]:
    """compiled(*arrays).  When every array is an ndarray of exactly its parameter's dtype
    object and shape (the engine's saved arrays always are), CompiledFunction.__call__'s
    per-argument checks would return them unchanged: if they are also C-contiguous and
    aligned, the code's `_obj` entry point `obj` (native_call.ObjectEntry) runs them at once
    (what call_checked would do, in the one loop that checked them), else call_checked
    fixes their layout; anything else takes the checked call, which converts or raises."""
    if len(arrays) == len(params):
        direct = obj is not None
        for a, (shape, dtype) in zip(arrays, params):
            if a.__class__ is not np.ndarray or a.dtype is not dtype or a.shape != shape:
                break
            if direct:
                flags = a.flags
                direct = flags.c_contiguous and flags.aligned
        else:
            if not direct:
                return compiled.call_checked(arrays)
            outs = [allocate(shape, dtype, nbytes) for shape, dtype, nbytes in obj.results]
            # `arrays`, `outs` and the thread's scratch slot keep every buffer alive
            obj.call(obj.offset, *map(id, arrays), *map(id, outs), id(obj.scratch()))
            return outs
    return compiled(*arrays)
