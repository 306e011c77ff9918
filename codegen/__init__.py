"""tapegrad.codegen: IR -> LLVM IR (llvmlite) -> native code.

    emitted = lower(fn, "symbol")          # EmittedModule: LLVM IR text of one entry point
    mod = target.optimize(emitted.llvm_ir)  # host-tuned pipeline
    obj = target.emit_object(mod)          # object code (what the disk cache keeps)

Running the code (engine, caches, argument checks) is the runtime's job.  The
names below load on first use: importing llvmlite costs ~40 ms, and a warm start
that loads cached shared libraries needs only `codegen.blas`'s lookup.
"""
import importlib

_LAZY = {"lower": "emit", "EmittedModule": "emit", "compiled_ir": "passes",
         "LOWERINGS": "lowering", "Lowering": "lowering", "blas": None, "target": None}

__all__ = ["LOWERINGS", "Lowering", "EmittedModule", "compiled_ir", "lower", "blas", "target"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_LAZY[name] or name}")
    return module if _LAZY[name] is None else getattr(module, name)
