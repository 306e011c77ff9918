"""Native code for an IR function: from the memory cache, the disk cache, or LLVM.

    cf = compile_function(fn)        # memory cache, then disk cache, then LLVM
    outs = cf(x, w)                  # see runtime/native_call.py
    print(cf.llvm, cf.asm)           # optimised LLVM IR and assembly, as text

A process whose disk cache already holds the code loads it without importing
llvmlite or tapegrad.codegen at all (cache.make_key needs no LLVM, and
loader.load_shared loads the library): they are imported only to compile, or
when no library can be loaded.  Compiling is serialised by loader.llvm_lock.
"""
from __future__ import annotations

import itertools
import os
import sys
import time
from collections import OrderedDict

from ..ir.core import Function
from ..ir.verifier import verify
from . import cache, loader, sharedlib
from .cache import Entry
from .native_call import CompiledFunction, NativeCode

#: loaded functions kept in memory by default; TAPEGRAD_MEMORY_CACHE_SIZE changes it
DEFAULT_MEMORY_CACHE_SIZE = 256
_memory: "OrderedDict[str, NativeCode]" = OrderedDict()  # an LRU: see memory_cache_size
_retry = itertools.count()


def compile_function(fn: Function, *, use_blas: bool = True) -> CompiledFunction:
    """Native code for `fn`, from the memory cache, the disk cache, or LLVM.

    `use_blas=False` lowers matmul to LLVM loops even where BLAS was found.
    """
    flags = "blas" if use_blas else "noblas"
    key = cache.make_key(fn.structural_hash(), flags)
    with loader.llvm_lock:
        native = _memory.get(key)
        if native is None:
            verify(fn)  # loop bounds come from the types: they must agree with the shape rules
            shape = (len(fn.params) + len(fn.results) + 1,
                     sum(v.type.size * v.dtype.itemsize for v in [*fn.params, *fn.results]))
            entry = cache.load(key)
            native = _from_disk(key, entry, shape) if entry is not None else None
            if native is None:
                native = _from_llvm(fn, key, use_blas, shape)
            _memory[key] = native
            while len(_memory) > memory_cache_size():
                _memory.popitem(last=False)  # live CompiledFunctions keep their code
        else:
            _memory.move_to_end(key)
    return CompiledFunction(fn, native)


def memory_cache_size() -> int:
    """How many loaded functions the memory cache keeps (least recently used go first)."""
    text = os.environ.get("TAPEGRAD_MEMORY_CACHE_SIZE", "").strip()
    if not text:
        return DEFAULT_MEMORY_CACHE_SIZE
    try:
        size = int(text)
    except ValueError:
        size = -1
    if size < 1:
        raise ValueError(f"TAPEGRAD_MEMORY_CACHE_SIZE={text!r}: expected a positive integer")
    return size


def memory_cache_len() -> int:
    """How many loaded functions the memory cache holds now."""
    return len(_memory)


def clear_memory_cache() -> None:
    """Forget loaded functions (their code stays linked: old pointers remain valid)."""
    with loader.llvm_lock:
        _memory.clear()


def _from_disk(key: str, entry: Entry, shape: tuple[int, int]) -> NativeCode | None:
    """A cache entry loaded: its shared library, else its object code into MCJIT.
    Whenever LLVM is loaded (always for MCJIT), an entry compiled for another LLVM
    target than this process's is refused: the key's host fingerprint missed it."""
    t0 = time.perf_counter()
    code = loader.loaded(entry.symbol)  # the symbol names its key: same symbol, same code
    if code is None:
        if loader.tried(entry.symbol):
            return None  # it failed to load before: rebuilt, under a fresh symbol
        llvm = __package__.rsplit(".", 1)[0] + ".codegen.target" in sys.modules
        try:
            if llvm and not _same_target(key, entry):
                return None
            code = loader.load_shared(entry)
            if code is None:
                if not llvm and not _same_target(key, entry):
                    return None
                code = loader.load_mcjit(entry)
        except Exception:
            return None  # rebuilt, under a fresh symbol
    return NativeCode(entry, code, time.perf_counter() - t0, "disk", *shape)


def _same_target(key: str, entry: Entry) -> bool:
    from ..codegen import target
    if entry.target == target.identity():
        return True
    cache._warn(f"ignoring cache entry {cache._path(key)}: compiled for another LLVM target "
                f"or version; it will be rebuilt")
    return False


def _from_llvm(fn: Function, key: str, use_blas: bool, shape: tuple[int, int]) -> NativeCode:
    from ..codegen import lower, target
    t0 = time.perf_counter()
    symbol = "tg_" + key[:32]
    if loader.tried(symbol):
        symbol += f"_{next(_retry)}"
    emitted = lower(fn, symbol, use_blas)
    mod = target.optimize(emitted.llvm_ir)
    obj = target.emit_object(mod)
    shared = sharedlib.link(obj) if cache._checked_dir(create=True) is not None else None
    entry = Entry(symbol, emitted.scratch_bytes, obj, str(mod), shared or b"", target.identity())
    code = loader.load(entry)
    cache.store(key, entry)
    return NativeCode(entry, code, time.perf_counter() - t0, "llvm", *shape)
