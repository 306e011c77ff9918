"""DLPack: tensors move between tapegrad, numpy, PyTorch and JAX without a copy.

A concrete tensor's data is a numpy array, and numpy (>= 1.22) implements the
protocol on both sides, so export hands out the array's own `__dlpack__`
capsule and import wraps `np.from_dlpack`'s result: one buffer throughout.
Producers that export read-only buffers (JAX) give read-only tensors here too:
numpy refuses writes into them, and so does any in-place operation.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir.core import TensorType
from .tensor import Tensor
from .unsupported import unsupported_argument

_COVERAGE = "docs/torch-coverage.md"


def _exported_array(t: Tensor, what: str) -> np.ndarray:
    if t._requires_grad:  # PyTorch's rule and words: a consumer's writes would bypass autograd
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    return t._check_concrete(what)


def tensor_dlpack(self: Tensor, *, stream=-1, max_version=None, dl_device=None, copy=None):
    """Tensor.__dlpack__: the capsule of the tensor's own buffer (CPU only, so no stream)."""
    if stream is not None and stream != -1:
        raise BufferError(f"Tensor.__dlpack__: stream={stream!r} is for device streams; "
                          "tapegrad tensors live on the CPU (pass stream=None)")
    array = _exported_array(self, "Tensor.__dlpack__()")
    kwargs = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device),
                                ("copy", copy)) if v is not None}
    return array.__dlpack__(**kwargs)


def tensor_dlpack_device(self: Tensor):
    """Tensor.__dlpack_device__: (kDLCPU, 0), as numpy reports it."""
    return self._check_concrete("Tensor.__dlpack_device__()").__dlpack_device__()


class _Capsule:
    """A bare DLPack capsule (from a legacy `to_dlpack`) presented as a producer for numpy."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **_):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU: numpy refuses any other device when it reads the capsule


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor sharing the memory of `ext_tensor` (an object with `__dlpack__`, e.g. a numpy
    array, a torch tensor or a jax array, or a capsule from a `to_dlpack`); `copy=True`
    gives it its own memory instead."""
    if device is not None and str(device) != "cpu":
        raise unsupported_argument("torch.from_dlpack", f"device={device!r}",
                                   "tapegrad tensors live on the CPU")
    if isinstance(ext_tensor, Tensor):
        return ext_tensor.clone() if copy else ext_tensor
    producer = ext_tensor if hasattr(ext_tensor, "__dlpack__") else _Capsule(ext_tensor)
    try:
        array = np.from_dlpack(producer)
    except (BufferError, TypeError, RuntimeError) as e:
        raise BufferError(f"from_dlpack: cannot import {type(ext_tensor).__name__}: {e}") from e
    try:
        dt = dtypes.from_numpy(array.dtype)
    except (TypeError, ValueError, KeyError):
        dt = None
    if dt is None or dt.np != array.dtype:
        raise NotImplementedError(f"from_dlpack: a {array.dtype} tensor cannot be shared: "
                                  f"tapegrad has no dtype {array.dtype} yet (see {_COVERAGE}); "
                                  "convert it on the producer's side first")
    if copy:
        array = array.copy()
    return Tensor._make(array, TensorType(dt, tuple(array.shape)))


def to_dlpack(tensor: Tensor):
    """The DLPack capsule of `tensor` (torch.utils.dlpack.to_dlpack's legacy form, which, as
    PyTorch's, exports a tensor that requires grad too: its data, not its graph)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}")
    return tensor._check_concrete("to_dlpack()").__dlpack__()


Tensor.__dlpack__ = tensor_dlpack
Tensor.__dlpack_device__ = tensor_dlpack_device
