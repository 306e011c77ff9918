"""Flushing denormal floats to zero on the calling thread: PyTorch's set_flush_denormal.

Arithmetic on denormals (magnitudes below 1.2e-38 in float32) takes a microcode
assist on x86, tens to hundreds of times slower than on normal numbers.  A
vanishing gradient goes through that range on its way to zero: the reverse scan of
a long RNN then spends most of its time on a few steps.  XLA runs with denormals
flushed; PyTorch keeps them unless `torch.set_flush_denormal(True)`.  tapegrad
follows PyTorch: off by default, and this switch sets the SSE control register's
flush-to-zero (FTZ) and denormals-are-zero (DAZ) bits of the calling thread (threads
it starts later inherit them), for native code, BLAS and numpy alike (what PyTorch's
does).

The register is read and written by two small native functions (LLVM's stmxcsr and
ldmxcsr intrinsics), built once on first use; on a host without SSE the switch
reports False and changes nothing, as PyTorch's does.
"""
from __future__ import annotations

import ctypes
import platform
import threading

#: MXCSR's flush-to-zero (results) and denormals-are-zero (inputs) bits
FTZ, DAZ = 1 << 15, 1 << 6

_IR = """
declare void @llvm.x86.sse.stmxcsr(ptr)
declare void @llvm.x86.sse.ldmxcsr(ptr)
define i32 @tapegrad_get_mxcsr() {
  %p = alloca i32, align 4
  call void @llvm.x86.sse.stmxcsr(ptr %p)
  %v = load i32, ptr %p, align 4
  ret i32 %v
}
define void @tapegrad_set_mxcsr(i32 %v) {
  %p = alloca i32, align 4
  store i32 %v, ptr %p, align 4
  call void @llvm.x86.sse.ldmxcsr(ptr %p)
  ret void
}
"""

_lock = threading.Lock()
_functions = None  # (get, set, engine) once built; False on a host without SSE


def _register():
    """The native getter and setter of MXCSR (None off x86-64)."""
    global _functions
    with _lock:
        if _functions is None:
            if platform.machine().lower() not in ("x86_64", "amd64"):
                _functions = False
            else:
                import llvmlite.binding as llvm

                from ..codegen import target
                engine = llvm.create_mcjit_compiler(llvm.parse_assembly(_IR),
                                                    target.target_machine(), use_lmm=False)
                engine.finalize_object()
                get = ctypes.CFUNCTYPE(ctypes.c_uint32)(
                    engine.get_function_address("tapegrad_get_mxcsr"))
                put = ctypes.CFUNCTYPE(None, ctypes.c_uint32)(
                    engine.get_function_address("tapegrad_set_mxcsr"))
                _functions = (get, put, engine)
    return _functions or None


def set_flush_denormal(mode: bool) -> bool:
    """Flush denormals to zero (True) or keep them (False) on the calling thread; returns
    whether the host supports it (PyTorch's torch.set_flush_denormal)."""
    fns = _register()
    if fns is None:
        return False
    get, put, _ = fns
    bits = get()
    put((bits | FTZ | DAZ) if mode else (bits & ~(FTZ | DAZ)))
    return True


def flushing_denormals() -> bool:
    """Whether the calling thread flushes denormals (both bits set)."""
    fns = _register()
    return fns is not None and fns[0]() & (FTZ | DAZ) == FTZ | DAZ
