"""tapegrad.codegen: IR -> LLVM IR (llvmlite) -> native code.

    lowered = lower(fn, "symbol")          # LLVM IR text of one entry point
    mod = target.optimize(lowered.llvm_ir)  # host-tuned pipeline
    obj = target.emit_object(mod)          # object code (what the disk cache keeps)

Running the code (engine, caches, argument checks) is the runtime's job.
"""
from . import blas, target
from .emit import Lowered, lower
from .lowering import LOWERINGS, Lowering

__all__ = ["LOWERINGS", "Lowering", "Lowered", "lower", "blas", "target"]
