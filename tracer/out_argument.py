"""`out=` of the tg.* functions (`torch.matmul(a, b, out=y)`), with PyTorch's rules.

The result is computed as without `out`, then written into `out`: resized if its
shape differs (PyTorch resizes too), cast if its dtype may hold the result's
(PyTorch's can_cast), and returned.  Functions with `out=` do not record a
gradient, so while grad mode is on an argument (or `out`) that requires grad is
PyTorch's RuntimeError, not a silently detached result.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from . import mutation_on_saved as _mutation
from .grad_mode import is_grad_enabled, no_grad
from .ops_core import tensor_type
from .tensor import Tensor
from .unsupported import unsupported_argument


def call_with_out(api: str, fn, args, kwargs, out):
    """fn(*args, **kwargs) written into `out`; `out` returned."""
    if not isinstance(out, Tensor):
        raise unsupported_argument(f"torch.{api}", "out", "only a tensor (not a tuple) is "
                                   "taken as out=")
    if is_grad_enabled() and any(
            isinstance(a, Tensor) and a._requires_grad
            for a in (*args, *kwargs.values(), out)):
        raise RuntimeError(f"{api}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    with no_grad():
        result = fn(*args, **kwargs)
    if not isinstance(result, Tensor):
        raise unsupported_argument(f"torch.{api}", "out", "its result is not one tensor")
    if dtypes.category(result.dtype) > dtypes.category(out.dtype):
        raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the "
                           f"desired output type {out.dtype.scalar_name}")
    return write_into(out, result)


def write_into(out: Tensor, result: Tensor) -> Tensor:
    """`result`'s values written into `out` (resized if its shape differs); `out` returned."""
    if _mutation.active is not None:  # allow_mutation_on_saved_tensors: clone what was saved
        _mutation.active.before_write(out)
    data = np.asarray(result._data).astype(out.dtype.np, copy=False)
    if tuple(out.shape) == tuple(result.shape):
        np.copyto(out._data, data, casting="unsafe")
    else:  # resized, as PyTorch's out= does (a view stops sharing its base's memory)
        out._data = np.array(data, copy=True)
        out._type = tensor_type(out.dtype, tuple(result.shape))
        out._base = None
    out._version[0] += 1
    return out
