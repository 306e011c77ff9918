"""Calling loaded native code: every argument checked, results fresh or donated.

    outs = cf(x, w)                  # numpy arrays in, a list of new arrays out
    outs = cf.call_checked(arrays, donated=(0,))   # types verified by the caller

Every argument's count, dtype and shape is checked here, before the one
foreign call: native code trusts its buffers completely.  Calling is not
serialised: results (runtime/buffer_pool.py) and scratch are per call / per
thread, and ctypes releases the GIL during calls that touch enough memory.
"""
from __future__ import annotations

import ctypes
import re
import threading
from typing import NamedTuple

import numpy as np

from ..ir.core import Function
from .buffer_pool import POOL_MIN_BYTES, allocate
from .cache import Entry
from . import interrupt
from .loader import LoadedCode, llvm_lock

_CFUNC = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p))
_SCRATCH_ALIGN = 64


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
#: DATA_OFFSET already converted to the `_obj` entry's first argument type
_DATA_OFFSET_ARG = ctypes.c_int64(DATA_OFFSET if DATA_OFFSET is not None else 0)


class NativeCode:
    """A loaded entry point: shared by every CompiledFunction with the same key."""

    def __init__(self, entry: Entry, code: LoadedCode, compile_seconds: float, source: str,
                 nbuffers: int = 0, nbytes: int = 0):
        # DATA_OFFSET unknown: the `_obj` entry point cannot be used
        object_address = code.object_address if DATA_OFFSET is not None else 0
        self.entry = entry
        self.cfunc = _CFUNC(code.address)
        # The `_obj` entry point: takes the array objects' addresses, id(array), and reads
        # their data pointers natively (ctypes converts an int to a c_void_p for about half
        # what a py_object argument costs).  The caller keeps the objects referenced for
        # the duration of the call.  Small functions keep the GIL (PYFUNCTYPE): releasing
        # it costs more than they run.
        kind = ctypes.CFUNCTYPE if entry.scratch_bytes + nbytes >= RELEASE_GIL_BYTES \
            else ctypes.PYFUNCTYPE
        #: the entry point returns the status of its index checks (codegen/indexing.py)
        self.status = _returns_status(entry)
        restype = ctypes.c_int64 if self.status else None
        if self.status:
            self.cfunc = ctypes.CFUNCTYPE(restype, ctypes.POINTER(ctypes.c_void_p))(code.address)
        self.icall = kind(restype, ctypes.c_int64, *[ctypes.c_void_p] * nbuffers)(
            object_address) if object_address else None
        if interrupt.interruptible(entry.llvm_ir):  # a native while_loop: Ctrl-C stops it
            self.cfunc = interrupt.guarded(self.cfunc)
            self.icall = self.icall and interrupt.guarded(self.icall)
        self.engine = code.holder  # keep the code alive as long as this object is
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

    def status_record(self) -> tuple[int, int, int]:
        """(site, index operand, value) of the last fault this thread's call recorded: the
        three i64 ending its scratch area (at the address the entry point aligned)."""
        buf = self._tls.buf
        at = (-buf.ctypes.data) % _SCRATCH_ALIGN + self.entry.scratch_bytes - _STATUS_BYTES
        raw = bytes(buf[at:at + _STATUS_BYTES])
        return tuple(int.from_bytes(raw[k:k + 8], "little", signed=True) for k in (0, 8, 16))

    @property
    def asm(self) -> str:
        if self._asm is None:
            from ..codegen import target
            with llvm_lock:
                self._asm = target.emit_assembly(self.entry.llvm_ir)
        return self._asm


#: the status record's size (codegen/indexing.STATUS_BYTES; codegen is not imported here)
_STATUS_BYTES = 24


def _returns_status(entry: Entry) -> bool:
    """Whether the entry point is `i64 @symbol(ptr)` (index checks) rather than void."""
    return re.search(rf'define i64 @"?{re.escape(entry.symbol)}"?\(', entry.llvm_ir) is not None


def index_error(fn: Function, native: NativeCode, status: int) -> BaseException:
    """The IndexError of a fault the native code reported: PyTorch's message, the
    primitive and the user's line recorded on its instruction (or KeyboardInterrupt
    when a native loop stopped for Ctrl-C: runtime/interrupt.py)."""
    if status == interrupt.INTERRUPTED:  # stopped outside interrupt.guarded's watch
        return KeyboardInterrupt("interrupted inside a native loop")
    from ..codegen.passes import compiled_ir  # the body the code was generated from
    site, j, value = native.status_record()
    body = compiled_ir(fn).body
    instr = body[status - 1] if 0 < status <= len(body) else None
    if instr is None or site != status:
        return IndexError(f"@{fn.name}: an index is out of bounds (native status {status})")
    if j == -1:  # a zero integer divisor (codegen/indexing.ZERO_DIVISOR): PyTorch's error
        where = f" at {instr.loc.full()}" if instr.loc is not None else ""
        return RuntimeError(f"ZeroDivisionError (integer {instr.prim.name} by zero{where})")
    if "axes" not in instr.attrs:  # a fault inside a region (cond, while_loop, scan)
        where = f" at {instr.loc.full()}" if instr.loc is not None else ""
        return IndexError(f"an index is out of bounds inside {instr.prim.name}'s region "
                          f"({instr.prim.name}{where})")
    axis = instr.attrs["axes"][j]
    size = instr.operands[0].shape[axis]
    where = f" at {instr.loc.full()}" if instr.loc is not None else ""
    return IndexError(f"index {value} is out of bounds for dimension {axis} with size {size} "
                      f"({instr.prim.name}{where})")


class CompiledFunction:
    """A native entry point with the IR signature it was compiled for."""

    def __init__(self, fn: Function, native: NativeCode):
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
        call = native.icall
        if native.status:  # a checking call: a fault raises IndexError
            def call(*args, _raw=native.icall):
                status = _raw(*args)
                if status:
                    raise index_error(self.function, native, status)
        return ObjectEntry(call, _DATA_OFFSET_ARG, tuple(self._params),
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
            status = native.icall(_DATA_OFFSET_ARG,
                                  *map(id, [*arrays, *outs, native.scratch_array()]))
        else:
            scratch, _owner = native.scratch()  # locals keep every buffer alive
            status = native.cfunc(self._array(*map(_address, arrays), *map(_address, outs),
                                              scratch))
        if status:  # None from a void entry point
            raise index_error(self.function, native, status)
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
    array of `results`' (shape, dtype, nbytes) as `buffer_pool.allocate` makes them;
    `scratch()` this thread's scratch array.  The caller keeps all of them referenced
    during the call: only their addresses are passed."""

    call: object
    offset: ctypes.c_int64
    params: tuple
    results: tuple
    scratch: object


def _address(a: np.ndarray) -> int:
    """The data pointer of a C-contiguous array (ctypes.from_buffer is 5x faster than
    .ctypes.data, but needs a writable, non-empty buffer)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data
