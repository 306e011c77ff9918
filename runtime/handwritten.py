"""Hand-written LLVM modules (PyTorch's random kernels, the worker pool's dispatcher):
compiled once per machine and kept in the disk cache like any traced function, then
loaded without LLVM.  Their Python modules differ only in the text they compile."""
from __future__ import annotations

import time
from typing import Callable

from . import cache, loader, sharedlib
from .cache import Entry


def code_for(key: str, symbol: str, module_text: Callable[[str], str]):
    """(the module's loaded code, seconds spent compiling it here or None): already
    loaded in this process, else from the disk cache, else compiled from
    `module_text(symbol)` and stored."""
    with loader.llvm_lock:
        code = loader.loaded(symbol)
        entry = cache.load(key) if code is None else None
        if code is None and entry is not None and entry.symbol == symbol:
            try:
                code = loader.load_shared(entry)
            except Exception:  # noqa: BLE001 - a damaged entry is rebuilt below
                code = None
        if code is not None:
            return code, None
        t0 = time.perf_counter()
        return _compile(key, symbol, module_text), time.perf_counter() - t0


def _compile(key: str, symbol: str, module_text: Callable[[str], str]):
    from ..codegen import target
    mod = target.optimize(module_text(symbol))
    obj = target.emit_object(mod)
    shared = sharedlib.link(obj) if cache._checked_dir(create=True) is not None else None
    entry = Entry(symbol, 0, obj, str(mod), shared or b"", target.identity())
    code = loader.load(entry)
    cache.store(key, entry)
    return code
