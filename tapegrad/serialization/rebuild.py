"""What the names a checkpoint's pickle may mention mean in tapegrad: the allow-list.

PyTorch's pickle rebuilds tensors by calling `torch._utils._rebuild_tensor_v2`
on a storage; here each allowed name maps to tapegrad's own rebuild function
or marker, and storages come from the archive's records (`Storages`). Tensors
that name one storage share memory when their layout allows, as in PyTorch:
the first tensor that covers a whole storage owns its buffer, the others are
views of it (`_base`, one version counter). A view whose elements overlap
itself (a zero stride) is copied instead, since writes through it would alias.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..ir import dtypes
from ..tracer.creation import device as Device
from ..tracer.sizes import Size
from ..tracer.tensor import Tensor
from .format import (
    DTYPE_BY_TORCH_NAME, DTYPE_OF_STORAGE, FOREIGN_STORAGES, UNTYPED_STORAGE, CheckpointError)


class StorageType:
    """`torch.FloatStorage` and its siblings as a checkpoint names them."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = DTYPE_OF_STORAGE.get(name)  # None: untyped (bytes) or foreign

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class TypeMarker:
    """`torch.Tensor` / `torch.nn.parameter.Parameter` as arguments of _rebuild_from_type_v2."""

    def __init__(self, name: str):
        self.name = name


class Storage:
    """One `data/<key>` record: its bytes, the dtype the pickle declared, its location."""

    def __init__(self, key: str, raw: np.ndarray, dtype, location: str):
        self.key, self.raw, self.dtype, self.location = key, raw, dtype, location
        self.owner: dict = {}  # dtype -> the tensor that owns the typed buffer

    def typed(self, dtype, where: str) -> np.ndarray:
        if self.raw.size % dtype.itemsize:
            raise CheckpointError(f"tg.load: {where}: storage data/{self.key} holds "
                                  f"{self.raw.size} bytes, not a whole number of "
                                  f"{dtype.torch_name} elements")
        return self.raw.view(dtype.np)


class Rebuilder:
    """The allow-list for one load: names -> meanings, and the functions REDUCE may call."""

    def __init__(self, storages, where: str):
        from ..nn.parameter import Parameter

        self.storages, self.where, self.Parameter = storages, where, Parameter
        self.tensor_type = TypeMarker("Tensor")
        self.parameter_call = self.parameter_type_call  # one bound method: compared by identity
        self.allowed = {
            "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
            "torch._utils._rebuild_tensor": self.rebuild_tensor,
            "torch._utils._rebuild_tensor_v3": self.rebuild_tensor_v3,
            "torch._utils._rebuild_parameter": self.rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": self.rebuild_parameter_with_state,
            "torch._tensor._rebuild_from_type_v2": self.rebuild_from_type_v2,
            "torch.Tensor": self.tensor_type,
            "torch._tensor.Tensor": self.tensor_type,
            "torch.nn.parameter.Parameter": self.parameter_call,
            "collections.OrderedDict": OrderedDict,
            "torch.Size": self.size,
            "torch.device": self.device,
            "_codecs.encode": self.encode,
            "builtins.set": set,
            "builtins.frozenset": frozenset,
            "builtins.bytearray": self.bytearray,
            "builtins.complex": complex,
        }
        for name in list(DTYPE_OF_STORAGE) + list(FOREIGN_STORAGES) + [UNTYPED_STORAGE]:
            self.allowed[f"torch.{name}"] = StorageType(name)
            self.allowed[f"torch.storage.{name}"] = self.allowed[f"torch.{name}"]
        for name, dt in DTYPE_BY_TORCH_NAME.items():
            self.allowed[f"torch.{name}"] = dt
        self.callables = [v for v in self.allowed.values()
                          if callable(v) and not isinstance(v, (StorageType, TypeMarker))
                          and not isinstance(v, dtypes.DType)]

    # ------------------------------------------------------------ small builtins

    @staticmethod
    def size(dims=()):
        return Size(int(d) for d in dims)

    @staticmethod
    def device(kind="cpu", index=None):
        return Device(kind, index)

    def bytearray(self, data=b""):
        if type(data) is not bytes:
            raise CheckpointError(f"tg.load: {self.where}: bytearray is allowed from bytes only")
        return bytearray(data)

    def encode(self, text, encoding="latin1"):
        if type(text) is not str or encoding not in ("latin1", "latin-1"):
            raise CheckpointError(f"tg.load: {self.where}: _codecs.encode is allowed for "
                                  "protocol-2 bytes (latin1 text) only")
        return text.encode("latin1")

    def parameter_type_call(self, data=None, requires_grad=True):
        """`torch.nn.Parameter(data, requires_grad)` through NEWOBJ/REDUCE."""
        return self.rebuild_parameter(data, requires_grad, None)

    # ------------------------------------------------------------ tensors

    def rebuild_tensor(self, storage, offset, size, stride):
        return self.make_tensor(storage, offset, size, stride, None, False)

    def rebuild_tensor_v2(self, storage, offset, size, stride, requires_grad=False,
                          backward_hooks=None, metadata=None):
        return self.make_tensor(storage, offset, size, stride, None, requires_grad)

    def rebuild_tensor_v3(self, storage, offset, size, stride, requires_grad, backward_hooks,
                          dtype, metadata=None):
        if not isinstance(dtype, dtypes.DType):
            raise CheckpointError(f"tg.load: {self.where}: _rebuild_tensor_v3 names the dtype "
                                  f"{dtype!r}, which tapegrad does not have")
        return self.make_tensor(storage, offset, size, stride, dtype, requires_grad)

    def rebuild_parameter(self, data, requires_grad, backward_hooks, state=None):
        if not isinstance(data, Tensor):
            raise CheckpointError(f"tg.load: {self.where}: a Parameter wraps a "
                                  f"{type(data).__name__}, not a tensor")
        p = self.Parameter(data, bool(requires_grad))
        p._base = data._base
        return p

    def rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        if state:
            raise CheckpointError(f"tg.load: {self.where}: a Parameter carries Python "
                                  f"attributes {sorted(map(str, state))}; tapegrad's "
                                  "Parameters have none")
        return self.rebuild_parameter(data, requires_grad, backward_hooks)

    def rebuild_from_type_v2(self, func, new_type, args, state):
        t = func(*args)
        if state:
            raise CheckpointError(f"tg.load: {self.where}: a tensor carries Python "
                                  f"attributes; tapegrad's tensors have none")
        if new_type is self.parameter_call and not isinstance(t, self.Parameter):
            return self.rebuild_parameter(t, True, None)
        if new_type is not self.tensor_type and new_type is not self.parameter_call:
            raise CheckpointError(f"tg.load: {self.where}: a tensor subclass "
                                  f"{new_type!r} is not supported")
        return t

    def make_tensor(self, storage, offset, size, stride, dtype, requires_grad) -> Tensor:
        where = self.where
        if not isinstance(storage, Storage):
            raise CheckpointError(f"tg.load: {where}: a tensor is rebuilt from a "
                                  f"{type(storage).__name__}, not a storage")
        dtype = dtype or storage.dtype
        if dtype is None:
            raise CheckpointError(f"tg.load: {where}: storage data/{storage.key} is untyped "
                                  "and its tensor names no dtype")
        if not (_ints(size) and _ints(stride) and len(size) == len(stride)
                and type(offset) is int and offset >= 0
                and all(d >= 0 for d in size) and all(s >= 0 for s in stride)):
            raise CheckpointError(f"tg.load: {where}: a tensor of storage data/{storage.key} "
                                  f"has an invalid layout (offset {offset!r}, size {size!r}, "
                                  f"stride {stride!r})")
        flat = storage.typed(dtype, where)
        size, stride = tuple(size), tuple(stride)
        empty = 0 in size
        needed = offset if empty else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
        if needed > flat.size:
            raise CheckpointError(
                f"tg.load: {where}: a tensor of size {list(size)}, stride {list(stride)} and "
                f"offset {offset} needs {needed} elements, but storage data/{storage.key} "
                f"holds {flat.size} {dtype.torch_name} elements (wrong storage size)")
        item = dtype.itemsize
        try:
            view = np.lib.stride_tricks.as_strided(
                flat[offset:], shape=size, strides=tuple(s * item for s in stride),
                writeable=True)
        except (ValueError, OverflowError) as e:
            raise CheckpointError(f"tg.load: {where}: a tensor of size {list(size)} cannot be "
                                  f"made: {e}") from None
        if _overlaps(size, stride):
            t = Tensor._from_array(np.array(view))
        else:
            t = self.shared(storage, dtype, flat, view, offset, size, stride)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def shared(self, storage, dtype, flat, view, offset, size, stride) -> Tensor:
        owner = storage.owner.get(dtype)
        whole = (offset == 0 and int(np.prod(size)) == flat.size
                 and (flat.size <= 1 or stride == contiguous_strides(size)))
        if owner is None and whole:
            t = Tensor._from_array(flat.reshape(size))
            storage.owner[dtype] = t
            return t
        if owner is None:
            owner = storage.owner[dtype] = Tensor._from_array(flat)
        t = Tensor._from_array(view)
        t._base = owner._base if owner._base is not None else owner
        t._version = owner._version
        return t


def _ints(seq) -> bool:
    return isinstance(seq, tuple) and all(type(d) is int for d in seq)


def contiguous_strides(size: tuple) -> tuple:
    """Row-major strides of `size` in elements, as PyTorch gives a contiguous tensor (a
    dimension of size 0 strides as if it were 1)."""
    out, acc = [], 1
    for d in reversed(size):
        out.append(acc)
        acc *= max(d, 1)
    return tuple(reversed(out))


def _overlaps(size: tuple, stride: tuple) -> bool:
    """Whether two index tuples may reach one element (checked conservatively)."""
    dims = sorted((s, n) for n, s in zip(size, stride) if n > 1)
    reach = 0  # the largest element offset the smaller-stride dims reach
    for s, n in dims:
        if s <= reach:
            return True
        reach += s * (n - 1)
    return False
