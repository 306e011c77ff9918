"""Eager float32/float16 exp, tanh, pow, ...: compiled code's functions, called leanly.

    IMPLS[P.exp] = rule("exp", np.exp)     # the interpreter's rule (runtime/interpreter.py)

Compiled code computes these with mathlib's polynomials; numpy's float32 functions
differ from them in the last place on 5-40% of inputs, so an eager result and a
compiled one (row-by-row gradients against jacrev) disagreed where PyTorch, one
kernel on both paths, agrees.  The interpreter's float32 and float16 rules therefore
call codegen/eager_math.py's kernels, the same LLVM functions compiled code inlines:
the bits match by construction, and match PyTorch's (MKL/SLEEF, nearly correctly
rounded) more often than numpy's do (docs/torch-coverage.md has the fractions).
float64 stays numpy's.

The kernels are numpy ufunc inner loops, made into a ufunc of their own through
numpy's C API (PyUFunc_FromFuncAndData, reached with ctypes): numpy allocates,
broadcasts and walks strides, so a call costs what numpy's own ufunc call costs (a
ctypes call was measured at ~5x that on small arrays).  Each function's module is
compiled once per machine and kept in the disk cache like any compiled function (its
key covers codegen's sources); where native code cannot be made, or with
TAPEGRAD_EAGER_MATH=numpy, the rules are numpy's.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from . import cache, handwritten

#: set to "numpy" to keep numpy's float32 functions (the eager/compiled bits then differ)
ENV_SWITCH = "TAPEGRAD_EAGER_MATH"
ENABLED = os.environ.get(ENV_SWITCH, "native").strip().lower() != "numpy"
_MODULE = "tapegrad-eager-math"
#: the primitives whose rules these are (codegen/eager_math.FUNCTIONS, which a test compares)
FUNCTIONS = ("exp", "log", "log1p", "tanh", "logistic", "sin", "cos", "expm1", "atan",
             "asin", "acos")
BINARY_FUNCTIONS = ("pow", "atan2")
#: numpy's type numbers of the loops codegen/eager_math.py writes (LOOP_DTYPES' order)
_TYPE_NUMBERS = (23, 11)  # NPY_HALF, NPY_FLOAT
_LOOP_DTYPES = (np.dtype(np.float16), np.dtype(np.float32))
#: what the ufuncs point at (numpy keeps the pointers, not copies): kept for the process
_keep: list = []

#: seconds spent compiling kernels in this process (empty when they came from the cache)
compile_seconds: list[float] = []


def _ufunc_api():
    """The address of numpy's PyUFunc_FromFuncAndData (the ufunc C-API table's entry 1)."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath as umath
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    table = get(umath._UFUNC_API, None)
    return ctypes.c_void_p.from_address(table + ctypes.sizeof(ctypes.c_void_p)).value


def ufunc(name: str) -> np.ufunc | None:
    """A numpy ufunc computing `name` with compiled code's function for float16 and
    float32 operands (no loop for other dtypes), or None (disabled, or no native code)."""
    if not ENABLED:
        return None
    def text(symbol: str) -> str:
        from ..codegen import eager_math  # only when the disk cache has no kernel yet
        return eager_math.module_text(symbol, name)

    try:
        key = cache.make_key(_MODULE, name)
        symbol = f"tg_{key[:32]}_{name}"  # the cache wants "tg_" + the key first
        code, seconds = handwritten.code_for(key, symbol, text)
    except Exception:  # noqa: BLE001 - no llvmlite, no target, no loader: numpy stays
        return None
    if seconds is not None:
        compile_seconds.append(seconds)
    count, arity = len(_TYPE_NUMBERS), 2 if name in BINARY_FUNCTIONS else 1
    loops = (ctypes.c_void_p * count)()
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(code.address)(ctypes.addressof(loops))
    data = (ctypes.c_void_p * count)()
    types = (ctypes.c_char * ((arity + 1) * count))(
        *[bytes([t]) for t in _TYPE_NUMBERS for _ in range(arity + 1)])
    name_c, doc = ctypes.c_char_p(f"tg_{name}".encode()), ctypes.c_char_p(
        f"{name} with tapegrad's compiled float32 function".encode())
    make = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                             ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)(
        _ufunc_api())
    result = make(ctypes.addressof(loops), ctypes.addressof(data), ctypes.addressof(types),
                  count, arity, 1, -1, name_c, doc, 0)  # -1: PyUFunc_None (no identity)
    _keep.append((loops, data, types, name_c, doc, code.holder))
    return result


def rule(name: str, fallback):
    """The interpreter's rule for `name`: the native ufunc for float32 and float16
    operands, `fallback` (numpy's) for any other dtype.  Called as a ufunc is
    (`rule(x, out=...)` returns an array even for 0-d x)."""
    native: list = []  # [the ufunc or None], made at the first call
    if fallback.__class__ is not np.ufunc:  # a rule of several numpy steps: no out=...
        rule_of_steps = fallback

        def fallback(*xs, **kw):
            return np.asarray(rule_of_steps(*xs))

    if name in BINARY_FUNCTIONS:
        def run(x, y, **kw):
            if x.dtype in _NATIVE_DTYPES and y.dtype is x.dtype:
                if not native:
                    native.append(ufunc(name))
                if native[0] is not None:
                    return native[0](x, y, **kw)
            return fallback(x, y, **kw)
    else:
        def run(x, **kw):
            if x.dtype in _NATIVE_DTYPES:
                if not native:
                    native.append(ufunc(name))
                if native[0] is not None:
                    return native[0](x, **kw)
            return fallback(x, **kw)

    run.__name__ = f"{name}_rule"
    run.__doc__ = f"{name}: compiled code's function for float32/float16 (runtime/eager_math.py)"
    return run


_NATIVE_DTYPES = frozenset(_LOOP_DTYPES)
