"""Finding numpy's bundled OpenBLAS and exposing its gemm to generated code.

numpy wheels ship OpenBLAS with an ILP64 CBLAS interface (64-bit integers) under
a suffixed name.  We look the symbol up from a list of candidates and register
its address under a fixed internal name, so object code cached on disk refers
to `tapegrad_sgemm` / `tapegrad_dgemm` whatever the library calls it.  When no
BLAS is found, matmul lowers to an LLVM loop instead.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import os

#: CBLAS enum values (cblas.h).
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

INTERNAL_NAMES = {"f32": "tapegrad_sgemm", "f64": "tapegrad_dgemm"}
#: ILP64 CBLAS names (numpy 2.x, then numpy 1.26), best first.
_CANDIDATES = {
    "f32": ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
    "f64": ("scipy_cblas_dgemm64_", "cblas_dgemm64_"),
}


def _library_paths() -> list[str]:
    import numpy
    root = os.path.dirname(os.path.dirname(numpy.__file__))
    pats = [os.path.join(root, "numpy.libs", "*openblas*.so*"),
            os.path.join(os.path.dirname(numpy.__file__), ".libs", "*openblas*.so*")]
    return sorted(p for pat in pats for p in glob.glob(pat))


@functools.cache
def gemm_addresses() -> dict[str, int]:
    """{dtype name: address of its gemm} in numpy's OpenBLAS; needs no LLVM, so a warm
    start that loads cached code as a shared library can fill its slots with it.

    Set TAPEGRAD_NO_BLAS=1 to force the LLVM loop (tests use it for the fallback).
    """
    if os.environ.get("TAPEGRAD_NO_BLAS"):
        return {}
    found: dict[str, int] = {}
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)  # numpy loaded it already: this only finds it
        except OSError:
            continue
        for dt, cands in _CANDIDATES.items():
            for sym in cands:
                fn = getattr(lib, sym, None) if dt not in found else None
                if fn is not None:
                    found[dt] = ctypes.cast(fn, ctypes.c_void_p).value
    return found


@functools.cache
def available() -> dict[str, str]:
    """Register the gemm symbols found with LLVM; returns {dtype name: internal symbol}."""
    import llvmlite.binding as llvm
    found = {}
    for dt, address in gemm_addresses().items():
        llvm.add_symbol(INTERNAL_NAMES[dt], address)
        found[dt] = INTERNAL_NAMES[dt]
    return found


def identity() -> str:
    """Part of the cache key: object code calls BLAS only when it was found."""
    return ",".join(sorted(gemm_addresses())) or "none"
