"""Compiling IR functions to native code and calling them.

    cf = compile_function(fn)        # memory cache, then disk cache, then LLVM
    outs = cf(x, w)                  # numpy arrays in, a list of new arrays out
    print(cf.llvm, cf.asm)           # optimised LLVM IR and assembly, as text

Every argument's count, dtype and shape is checked here, before the one
foreign call: native code trusts its buffers completely.  All object code
goes into one MCJIT engine that lives as long as the process (calling code
whose engine was collected would crash).  Compiling is serialised by a lock;
calling is not: results and scratch are per call / per thread, and ctypes
releases the GIL during the call.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import threading
import time
from collections import OrderedDict

import llvmlite.binding as llvm
import numpy as np

from ..codegen import blas, lower, target
from ..ir.core import Function
from ..codegen.emit import PARALLEL_FOR
from . import cache, parallel
from .cache import Entry

_lock = threading.RLock()
_engine: llvm.ExecutionEngine | None = None
_memory: "OrderedDict[str, _Native]" = OrderedDict()  # an LRU: see memory_cache_size
#: loaded functions kept in memory by default; TAPEGRAD_MEMORY_CACHE_SIZE changes it
DEFAULT_MEMORY_CACHE_SIZE = 256
_linked: set[str] = set()  # symbols given to the engine (a failed load included)
_addresses: dict[str, int] = {}  # linked symbols: reloading an evicted entry links nothing new
_retry = itertools.count()
_CFUNC = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p))
_SCRATCH_ALIGN = 64


def _get_engine() -> llvm.ExecutionEngine:
    """The process-wide engine; it is never released (function pointers outlive calls)."""
    global _engine
    if _engine is None:
        blas.available()  # registers the gemm symbols before any object is linked
        llvm.add_symbol(PARALLEL_FOR, parallel.ADDRESS)
        _engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target.target_machine())
    return _engine


class _Native:
    """A loaded entry point: shared by every CompiledFunction with the same key."""

    def __init__(self, entry: Entry, address: int, compile_seconds: float, source: str):
        self.entry = entry
        self.cfunc = _CFUNC(address)
        self.engine = _engine  # keep the code alive for as long as this object is
        self.compile_seconds = compile_seconds
        self.source = source  # 'llvm' or 'disk'
        self._tls = threading.local()
        self._asm: str | None = None

    def scratch(self) -> tuple[int, np.ndarray | None]:
        """This thread's scratch area (address, owner): native code writes it freely."""
        n = self.entry.scratch_bytes
        if n == 0:
            return 0, None
        buf = getattr(self._tls, "buf", None)
        if buf is None:
            buf = self._tls.buf = np.empty(n + _SCRATCH_ALIGN, np.uint8)
        addr = buf.ctypes.data
        return addr + (-addr) % _SCRATCH_ALIGN, buf

    @property
    def asm(self) -> str:
        if self._asm is None:
            with _lock:
                self._asm = target.emit_assembly(self.entry.llvm_ir)
        return self._asm


class CompiledFunction:
    """A native entry point with the IR signature it was compiled for."""

    def __init__(self, fn: Function, native: _Native):
        self.name = fn.name
        self.function = fn
        self._native = native
        self._params = [(p.type.shape, p.type.dtype.np) for p in fn.params]
        self._results = [(r.type.shape, r.type.dtype.np) for r in fn.results]
        self._nptr = len(self._params) + len(self._results) + 1
        self._array = ctypes.c_void_p * self._nptr

    @property
    def llvm(self) -> str:
        return self._native.entry.llvm_ir

    @property
    def asm(self) -> str:
        return self._native.asm

    @property
    def compile_seconds(self) -> float:
        return self._native.compile_seconds

    @property
    def source(self) -> str:
        """'llvm' when this process compiled the code, 'disk' when it was loaded."""
        return self._native.source

    def __repr__(self) -> str:
        return f"<CompiledFunction @{self.name} ({self.source}, {self.compile_seconds * 1e3:.1f} ms)>"

    def _check(self, i: int, a) -> np.ndarray:
        shape, dtype = self._params[i]
        if not isinstance(a, np.ndarray):
            a = np.asarray(a)
        if a.dtype != dtype:
            if a.dtype.kind == dtype.kind and a.dtype.newbyteorder("=") == dtype:
                a = a.astype(dtype)  # same type, foreign byte order
            else:
                raise TypeError(f"@{self.name}: argument {i} must have dtype {dtype} "
                                f"(shape {list(shape)}), got {a.dtype}")
        if a.shape != shape:
            raise ValueError(f"@{self.name}: argument {i} must have shape {list(shape)} "
                             f"(dtype {dtype}), got {list(a.shape)}")
        if not (a.flags.c_contiguous and a.flags.aligned):
            a = np.array(a, order="C", copy=True)
        return a

    def __call__(self, *args) -> list[np.ndarray]:
        if len(args) != len(self._params):
            raise TypeError(f"@{self.name} takes {len(self._params)} arguments, "
                            f"got {len(args)}")
        arrays = [self._check(i, a) for i, a in enumerate(args)]
        outs = [np.empty(shape, dtype) for shape, dtype in self._results]
        scratch, _owner = self._native.scratch()  # locals keep every buffer alive
        ptrs = self._array(*[a.ctypes.data for a in arrays], *[o.ctypes.data for o in outs],
                           scratch)
        self._native.cfunc(ptrs)
        return outs


def compile_function(fn: Function, *, use_blas: bool = True) -> CompiledFunction:
    """Native code for `fn`, from the memory cache, the disk cache, or LLVM.

    `use_blas=False` lowers matmul to LLVM loops even where BLAS was found.
    """
    flags = "blas" if use_blas else "noblas"
    key = cache.make_key(fn.structural_hash(), flags)
    with _lock:
        native = _memory.get(key)
        if native is None:
            native = _from_disk(key) or _from_llvm(fn, key, use_blas)
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


def clear_memory_cache() -> None:
    """Forget loaded functions (their code stays linked: old pointers remain valid)."""
    with _lock:
        _memory.clear()


def _link(entry: Entry) -> int:
    if entry.symbol in _addresses:  # the symbol names its key: same symbol, same code
        return _addresses[entry.symbol]
    engine = _get_engine()
    _linked.add(entry.symbol)
    engine.add_object_file(llvm.ObjectFileRef.from_data(entry.object_code))
    engine.finalize_object()
    address = engine.get_function_address(entry.symbol)
    if not address:
        raise RuntimeError(f"symbol {entry.symbol} not found in its object code")
    _addresses[entry.symbol] = address
    return address


def _from_disk(key: str) -> _Native | None:
    t0 = time.perf_counter()
    entry = cache.load(key)
    if entry is None:
        return None
    try:
        address = _link(entry)
    except Exception:
        return None  # rebuilt below, under a fresh symbol
    return _Native(entry, address, time.perf_counter() - t0, "disk")


def _from_llvm(fn: Function, key: str, use_blas: bool) -> _Native:
    t0 = time.perf_counter()
    symbol = "tg_" + key[:32]
    if symbol in _linked:
        symbol += f"_{next(_retry)}"
    lowered = lower(fn, symbol, use_blas)
    mod = target.optimize(lowered.llvm_ir)
    entry = Entry(symbol, lowered.scratch_bytes, target.emit_object(mod), str(mod))
    address = _link(entry)
    cache.store(key, entry)
    return _Native(entry, address, time.perf_counter() - t0, "llvm")
