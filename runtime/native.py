"""Compiling IR functions to native code and calling them.

    cf = compile_function(fn)        # memory cache, then disk cache, then LLVM
    outs = cf(x, w)                  # numpy arrays in, a list of new arrays out
    print(cf.llvm, cf.asm)           # optimised LLVM IR and assembly, as text

Every argument's count, dtype and shape is checked here, before the one
foreign call: native code trusts its buffers completely.  Compiled code is
loaded as a shared library (runtime/sharedlib.py) where a system linker made
one, else into one MCJIT engine that lives as long as the process (calling
code whose engine was collected would crash); neither is ever unloaded.  A
process whose disk cache already holds the code loads it without importing
llvmlite or tapegrad.codegen at all (cache.make_key needs no LLVM, and
sharedlib.load loads the library): they are imported only to compile, or when
no library can be loaded.  Compiling is serialised by a lock; calling is not:
results and scratch are per call / per thread, and ctypes releases the GIL
during the call.
"""
from __future__ import annotations

import ctypes
import itertools
import sys
import os
import threading
import time
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..ir.core import Function
from ..ir.verifier import verify
from . import cache, sharedlib
from .cache import Entry

_lock = threading.RLock()
_engine = None  # the MCJIT engine (llvmlite.binding.ExecutionEngine), made on first use
_memory: "OrderedDict[str, _Native]" = OrderedDict()  # an LRU: see memory_cache_size
#: loaded functions kept in memory by default; TAPEGRAD_MEMORY_CACHE_SIZE changes it
DEFAULT_MEMORY_CACHE_SIZE = 256
_linked: set[str] = set()  # symbols given to the engine (a failed load included)
_addresses: dict[str, int] = {}  # linked symbols: reloading an evicted entry links nothing new
_object_addresses: dict[str, int] = {}  # their `_obj` entry points
_holders: dict[str, object] = {}  # what keeps each symbol's code loaded (engine or library)
_retry = itertools.count()
_CFUNC = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p))
_SCRATCH_ALIGN = 64


def _get_engine():
    """The process-wide engine; it is never released (function pointers outlive calls).

    LLVM's default section memory manager, not llvmlite's (`use_lmm=True`): llvmlite's
    aborts the process ("All memory must be pre-allocated") on objects whose constant
    sections need 64-byte alignment, as the vectorised math's do
    (tests/test_mcjit_path.py)."""
    global _engine
    if _engine is None:
        import llvmlite.binding as llvm

        from ..codegen import target
        _engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target.target_machine(),
                                             use_lmm=False)
    return _engine


def _find_data_offset() -> int | None:
    """Where an ndarray object keeps its data pointer (PyArrayObject.data: 16 on
    CPython's 64-bit builds), checked on live arrays; None if it cannot be found."""
    probes = [np.empty(3), np.empty((2, 2), np.float32), np.empty(())]
    for offset in range(8, 64, 8):
        if all(ctypes.c_void_p.from_address(id(a) + offset).value == a.ctypes.data
               for a in probes):
            return offset
    return None


#: Calls touching at least this many bytes release the GIL while they run.
RELEASE_GIL_BYTES = 1 << 16
#: Byte offset of the data pointer in an ndarray object, for the `_obj` entry point.
DATA_OFFSET = _find_data_offset()


class _Native:
    """A loaded entry point: shared by every CompiledFunction with the same key."""

    def __init__(self, entry: Entry, address: int, compile_seconds: float, source: str,
                 object_address: int = 0, nbuffers: int = 0, nbytes: int = 0):
        # DATA_OFFSET unknown: the `_obj` entry point cannot be used
        object_address = object_address if DATA_OFFSET is not None else 0
        self.entry = entry
        self.cfunc = _CFUNC(address)
        # The `_obj` entry point: takes the array objects' addresses, id(array), and reads
        # their data pointers natively (ctypes converts an int to a c_void_p for about half
        # what a py_object argument costs).  The caller keeps the objects referenced for
        # the duration of the call.  Small functions keep the GIL (PYFUNCTYPE): releasing
        # it costs more than they run.
        kind = ctypes.CFUNCTYPE if entry.scratch_bytes + nbytes >= RELEASE_GIL_BYTES \
            else ctypes.PYFUNCTYPE
        self.icall = kind(None, ctypes.c_int64, *[ctypes.c_void_p] * nbuffers)(
            object_address) if object_address else None
        self.engine = _holders[entry.symbol]  # keep the code alive as long as this object is
        self.compile_seconds = compile_seconds
        self.source = source  # 'llvm' or 'disk'
        self._tls = threading.local()
        self._asm: str | None = None

    def scratch_array(self) -> np.ndarray:
        """This thread's scratch array (unaligned: the `_obj` entry aligns it)."""
        buf = getattr(self._tls, "buf", None)
        if buf is None:
            buf = self._tls.buf = np.empty(self.entry.scratch_bytes + _SCRATCH_ALIGN, np.uint8)
        return buf

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
            from ..codegen import target
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
        self._results = [(r.type.shape, r.type.dtype.np, r.type.size * r.type.dtype.itemsize)
                         for r in fn.results]
        self._nptr = len(self._params) + len(self._results) + 1
        # every result below the pool's size: one np.empty each, nothing else to decide
        self._empties = None if any(n >= POOL_MIN_BYTES for _, _, n in self._results) \
            else [(shape, dtype) for shape, dtype, _ in self._results]
        self._array = ctypes.c_void_p * self._nptr
        self._donations: dict[int, int] | None = None

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

    def object_entry(self) -> "ObjectEntry | None":
        """What a caller needs to run this code on arguments whose layout it has proved
        itself (a transform's fast call: tracer/transforms_lower._build_fast_call); None when
        the `_obj` entry point cannot be used (DATA_OFFSET unknown)."""
        native = self._native
        if native.icall is None:
            return None
        return ObjectEntry(native.icall, _DATA_OFFSET_ARG, tuple(self._params),
                           tuple(self._results), native.scratch_array)

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
        return a

    def __call__(self, *args, donated=()) -> list[np.ndarray]:
        """Check every argument's dtype and shape, then run: numpy arrays in, new arrays out
        (or, for arguments whose indices are in `donated`, see call_checked)."""
        if len(args) != len(self._params):
            raise TypeError(f"@{self.name} takes {len(self._params)} arguments, "
                            f"got {len(args)}")
        return self.call_checked([self._check(i, a) for i, a in enumerate(args)], donated)

    def donations(self) -> dict[int, int]:
        """{result index: parameter index}: which results may be written into a donated
        argument's array (codegen.plan.donations; computed on first use, it plans)."""
        if self._donations is None:
            from ..codegen.blas import gemm_addresses
            from ..codegen.plan import donations
            self._donations = donations(self.function, frozenset(gemm_addresses()))
        return self._donations

    def call_checked(self, arrays, donated=()) -> list[np.ndarray]:
        """Run on ndarrays whose count, dtypes and shapes the caller has verified
        (a transform's signature lookup does).  Only memory layout is fixed here.

        `donated`: indices of arguments the caller gives up (JAX's donate_argnums): a
        result that `donations()` allows is written into such an array and returned as
        it, when the array is writable, contiguous, aligned and shares no memory with
        any other argument; otherwise the result gets a fresh array as usual."""
        for a in arrays:
            if isinstance(a, np.ndarray):
                flags = a.flags  # one flags object per array, read twice
                if flags.c_contiguous and flags.aligned:
                    continue
            arrays = [np.ascontiguousarray(a) if isinstance(a, np.ndarray) else
                      np.array(a, order="C", copy=True) for a in arrays]
            break
        empties = self._empties
        if empties is not None:
            outs = [np.empty(shape, dtype) for shape, dtype in empties]
        else:
            outs = [allocate(shape, dtype, nbytes) for shape, dtype, nbytes in self._results]
        if donated:
            self._donate(arrays, outs, donated)
        native = self._native
        if native.icall is not None:  # `arrays`, `outs` and the thread's slot hold them
            native.icall(_DATA_OFFSET_ARG, *map(id, [*arrays, *outs, native.scratch_array()]))
            return outs
        scratch, _owner = native.scratch()  # locals keep every buffer alive
        native.cfunc(self._array(*map(_address, arrays), *map(_address, outs), scratch))
        return outs


    def _donate(self, arrays, outs: list, donated) -> None:
        for k, i in self.donations().items():
            if i not in donated:
                continue
            a = arrays[i]
            shape, dtype, _ = self._results[k]
            if a.__class__ is np.ndarray and a.flags.writeable and a.flags.c_contiguous \
                    and a.flags.aligned and a.dtype == dtype and a.shape == shape \
                    and not any(j != i and np.may_share_memory(a, b)
                                for j, b in enumerate(arrays)):
                outs[k] = a


class ObjectEntry(NamedTuple):
    """The `_obj` entry point and the facts its caller must guarantee.

    `call(offset, id(arg0), ..., id(result0), ..., id(scratch))` runs the code: every
    argument must be an ndarray (or an object with its data pointer at DATA_OFFSET)
    of exactly `params`' (shape, dtype), C-contiguous and aligned; every result an
    array of `results`' (shape, dtype, nbytes) as `allocate` makes them; `scratch()`
    this thread's scratch array.  The caller keeps all of them referenced during the
    call: only their addresses are passed."""

    call: object
    offset: ctypes.c_int64
    params: tuple
    results: tuple
    scratch: object


#: DATA_OFFSET already converted to the `_obj` entry's first argument type
_DATA_OFFSET_ARG = ctypes.c_int64(DATA_OFFSET if DATA_OFFSET is not None else 0)


def _address(a: np.ndarray) -> int:
    """The data pointer of a C-contiguous array (ctypes.from_buffer is 5x faster than
    .ctypes.data, but needs a writable, non-empty buffer)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


#: Results at least this big come from a pool of blocks that no array uses any more:
#: a fresh mmap of tens of MB costs a page fault per 4 KB the loop then writes.
POOL_MIN_BYTES = 1 << 20
_POOL_PER_SIZE = 4
_pool: dict[int, list[np.ndarray]] = {}
_pool_lock = threading.Lock()
_FREE_REFS = 3  # the pool's list, the loop variable and getrefcount's argument


def allocate(shape, dtype, nbytes: int) -> np.ndarray:
    """np.empty(shape, dtype), reusing a big block when no array (view) holds it."""
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dtype)
    with _pool_lock:
        blocks = _pool.setdefault(nbytes, [])
        for block in blocks:
            if sys.getrefcount(block) <= _FREE_REFS:  # nothing else refers to it
                break
        else:
            block = np.empty(nbytes, np.uint8)
            if len(blocks) < _POOL_PER_SIZE:
                blocks.append(block)
    return block.view(dtype).reshape(shape)


def compile_function(fn: Function, *, use_blas: bool = True) -> CompiledFunction:
    """Native code for `fn`, from the memory cache, the disk cache, or LLVM.

    `use_blas=False` lowers matmul to LLVM loops even where BLAS was found.
    """
    flags = "blas" if use_blas else "noblas"
    key = cache.make_key(fn.structural_hash(), flags)
    with _lock:
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


def clear_memory_cache() -> None:
    """Forget loaded functions (their code stays linked: old pointers remain valid)."""
    with _lock:
        _memory.clear()


def _load_shared(entry: Entry) -> bool:
    """Load the entry's shared library (sharedlib.load); False if it has none or fails."""
    directory = cache._checked_dir(create=False)
    if not entry.shared_object or directory is None:
        return False
    _linked.add(entry.symbol)
    lib = sharedlib.load(entry.shared_object, entry.symbol, directory)
    if lib is None:
        return False
    _addresses[entry.symbol], _object_addresses[entry.symbol] = lib.address, lib.object_address
    _holders[entry.symbol] = lib
    return True


def _mcjit(entry: Entry) -> None:
    """Link the entry's object code into the MCJIT engine and fill its slots."""
    import llvmlite.binding as llvm

    from ..codegen import blas
    engine = _get_engine()
    _linked.add(entry.symbol)
    engine.add_object_file(llvm.ObjectFileRef.from_data(entry.object_code))
    engine.finalize_object()
    address = engine.get_function_address(entry.symbol)
    if not address:
        raise RuntimeError(f"symbol {entry.symbol} not found in its object code")
    fill = {name: llvm.address_of_symbol(name) for name in blas.available().values()}
    fill[sharedlib.PARALLEL_FOR] = sharedlib.slot_addresses()[sharedlib.PARALLEL_FOR]
    for slot in sharedlib.SLOT_NAMES:
        cell = engine.get_global_value_address(sharedlib.slot_symbol(entry.symbol, slot))
        if cell:
            if not fill.get(slot):
                raise RuntimeError(f"{entry.symbol} calls {slot}, which this process lacks")
            ctypes.c_void_p.from_address(cell).value = fill[slot]
    _addresses[entry.symbol] = address
    _object_addresses[entry.symbol] = engine.get_function_address(entry.symbol + "_obj")
    _holders[entry.symbol] = engine


def _from_disk(key: str, entry: Entry, shape: tuple[int, int]) -> _Native | None:
    """A cache entry loaded: its shared library, else its object code into MCJIT.
    Whenever LLVM is loaded (always for MCJIT), an entry compiled for another LLVM
    target than this process's is refused: the key's host fingerprint missed it."""
    t0 = time.perf_counter()
    if entry.symbol not in _addresses:  # the symbol names its key: same symbol, same code
        if entry.symbol in _linked:
            return None  # it failed to load before: rebuilt, under a fresh symbol
        llvm = __package__.rsplit(".", 1)[0] + ".codegen.target" in sys.modules
        try:
            if llvm and not _same_target(key, entry):
                return None
            if not _load_shared(entry):
                if not llvm and not _same_target(key, entry):
                    return None
                _mcjit(entry)
        except Exception:
            return None  # rebuilt, under a fresh symbol
    return _Native(entry, _addresses[entry.symbol], time.perf_counter() - t0, "disk",
                   _object_addresses[entry.symbol], *shape)


def _same_target(key: str, entry: Entry) -> bool:
    from ..codegen import target
    if entry.target == target.identity():
        return True
    cache._warn(f"ignoring cache entry {cache._path(key)}: compiled for another LLVM target "
                f"or version; it will be rebuilt")
    return False


def _from_llvm(fn: Function, key: str, use_blas: bool, shape: tuple[int, int]) -> _Native:
    from ..codegen import lower, target
    t0 = time.perf_counter()
    symbol = "tg_" + key[:32]
    if symbol in _linked:
        symbol += f"_{next(_retry)}"
    lowered = lower(fn, symbol, use_blas)
    mod = target.optimize(lowered.llvm_ir)
    obj = target.emit_object(mod)
    shared = sharedlib.link(obj) if cache._checked_dir(create=True) is not None else None
    entry = Entry(symbol, lowered.scratch_bytes, obj, str(mod), shared or b"", target.identity())
    if not _load_shared(entry):
        _mcjit(entry)
    cache.store(key, entry)
    return _Native(entry, _addresses[symbol], time.perf_counter() - t0, "llvm",
                   _object_addresses[entry.symbol], *shape)
