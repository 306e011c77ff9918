"""Putting object code into the process: a shared library, else the MCJIT engine.

    code = load(entry)   # LoadedCode(address, object_address, holder)

Compiled code is loaded as a shared library (runtime/sharedlib.py) where a
system linker made one, else linked into one MCJIT engine that lives as long
as the process (calling code whose engine was collected would crash); neither
is ever unloaded, so a function pointer stays valid after its cache entry is
evicted.  llvmlite is imported here only for MCJIT: a process that loads only
shared libraries never imports it.  Every LLVM call of the runtime (linking,
emitting assembly, compiling) holds `llvm_lock`.
"""
from __future__ import annotations

import ctypes
import threading
from typing import NamedTuple

from . import cache, sharedlib
from .cache import Entry

#: serialises every use of LLVM (and this module's tables)
llvm_lock = threading.RLock()
_engine = None  # the MCJIT engine (llvmlite.binding.ExecutionEngine), made on first use
_tried: set[str] = set()  # symbols given to a loader (a failed load included)
_loaded: dict[str, "LoadedCode"] = {}  # symbol -> its code: reloading links nothing new


class LoadedCode(NamedTuple):
    """Where one symbol's code sits: its entry points and what keeps them mapped."""

    address: int  # void symbol(ptr buffers)
    object_address: int  # void symbol_obj(i64 offset, ptr obj...): 0 if absent
    holder: object  # the sharedlib.Library or the MCJIT engine


def loaded(symbol: str) -> LoadedCode | None:
    """The code of `symbol` if this process already loaded it."""
    return _loaded.get(symbol)


def tried(symbol: str) -> bool:
    """Whether `symbol` was given to a loader before (loaded, or failed to load)."""
    return symbol in _tried


def loaded_count() -> int:
    """How many symbols are loaded (never goes down: code is never unloaded)."""
    return len(_loaded)


def load(entry: Entry) -> LoadedCode:
    """The entry's shared library if it loads, else its object code through MCJIT
    (raises if that fails too).  Call with llvm_lock held."""
    return load_shared(entry) or load_mcjit(entry)


def load_shared(entry: Entry) -> LoadedCode | None:
    """Load the entry's shared library (sharedlib.load); None if it has none or fails."""
    directory = cache._checked_dir(create=False)
    if not entry.shared_object or directory is None:
        return None
    _tried.add(entry.symbol)
    lib = sharedlib.load(entry.shared_object, entry.symbol, directory)
    if lib is None:
        return None
    code = _loaded[entry.symbol] = LoadedCode(lib.address, lib.object_address, lib)
    return code


def _engine_instance():
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


def load_mcjit(entry: Entry) -> LoadedCode:
    """Link the entry's object code into the MCJIT engine and fill its slots."""
    import llvmlite.binding as llvm

    from ..codegen import blas
    engine = _engine_instance()
    _tried.add(entry.symbol)
    engine.add_object_file(llvm.ObjectFileRef.from_data(entry.object_code))
    engine.finalize_object()
    address = engine.get_function_address(entry.symbol)
    if not address:
        raise RuntimeError(f"symbol {entry.symbol} not found in its object code")
    fill = {name: llvm.address_of_symbol(name) for name in blas.available().values()}
    fill[sharedlib.INTERRUPT_PENDING] = sharedlib.slot_addresses()[sharedlib.INTERRUPT_PENDING]
    for slot in sharedlib.SLOT_NAMES:
        cell = engine.get_global_value_address(sharedlib.slot_symbol(entry.symbol, slot))
        if cell:
            value = sharedlib.slot_address(slot, fill)
            if not value:
                raise RuntimeError(f"{entry.symbol} calls {slot}, which this process lacks")
            ctypes.c_void_p.from_address(cell).value = value
    code = _loaded[entry.symbol] = LoadedCode(
        address, engine.get_function_address(entry.symbol + "_obj"), engine)
    return code
