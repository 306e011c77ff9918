"""`tg.save`: an object tree of tensors into PyTorch's zip checkpoint format.

Storages: tensors that share one numpy buffer (a tensor and its views, tied
weights) share one storage record, as PyTorch's share one storage, so they load
sharing memory again in PyTorch and in tapegrad. The record holds the span of
the buffer the saved tensors cover, not the whole buffer (PyTorch writes the
whole storage; a slice of a large buffer costs only its own bytes here). A
tensor whose layout a storage cannot express (negative strides, a buffer of
another dtype) gets a contiguous copy in a record of its own.
"""
from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

from .format import (
    ALIGNMENT_RECORD, ARCHIVE_NAME, BYTEORDER_RECORD, FORMAT_VERSION_RECORD,
    FORMAT_VERSION_TEXT, PICKLE_PROTOCOL, PICKLE_RECORD,
    SERIALIZATION_ID_RECORD, STORAGE_ALIGNMENT, STORAGE_FOLDER, STORAGE_NAME, VERSION_RECORD,
    VERSION_TEXT)
from .pickler import Emitter
from .rebuild import contiguous_strides
from .zipwriter import StoredZipWriter


class _Group:
    """Tensors whose elements live in one buffer; `root` is that buffer, flattened."""

    def __init__(self, key: str, root: np.ndarray):
        self.key, self.root = key, root
        self.start, self.end = None, 0  # element span the members cover

    def cover(self, first: int, last: int) -> None:
        self.start = first if self.start is None else min(self.start, first)
        self.end = max(self.end, last)

    def record(self) -> np.ndarray:
        start = self.start or 0
        return self.root[start:max(self.end, start)]


class StoragePlan:
    """Assigns each tensor a storage record and its offset, size and stride within it.

    Used twice: the first pickling pass registers every tensor (spans grow), the
    second reads the settled layout."""

    def __init__(self):
        self.groups: list[_Group] = []
        self.by_root: dict[int, _Group] = {}
        self.placed: dict[int, tuple] = {}   # id(tensor) -> (group, offset, size, stride)
        self.keep: list = []
        self.settled = False

    def locate(self, t, path: str):
        if id(t) not in self.placed:
            if self.settled:
                raise RuntimeError(f"tg.save: the tensor at {path} changed while saving")
            self.placed[id(t)] = self.place(t, path)
            self.keep.append(t)
        group, offset, size, stride = self.placed[id(t)]
        dtype = _dtype_of(t)
        start = group.start or 0
        numel = max(group.end - start, 0)
        return STORAGE_NAME[dtype], group.key, numel, offset - start, size, stride

    def place(self, t, path: str):
        arr = t._data
        if arr is None:
            raise TypeError(f"tg.save: the tensor at {path} is being traced and has no value "
                            "yet; save concrete tensors (outside tg.grad/tg.compile)")
        arr = np.asarray(arr)
        if sys.byteorder == "big" or not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        size = tuple(int(d) for d in arr.shape)
        shared = _shared_layout(arr)
        if shared is None:
            copy = np.ascontiguousarray(arr).reshape(-1)
            group = self.new_group(copy)
            offset, stride = 0, contiguous_strides(size)
        else:
            root, offset, stride = shared
            group = self.by_root.get(id(root))
            if group is None:
                group = self.by_root[id(root)] = self.new_group(root.reshape(-1))
                self.keep.append(root)
        extent = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
        group.cover(offset, offset + extent)
        return group, offset, size, stride

    def new_group(self, flat: np.ndarray) -> _Group:
        group = _Group(str(len(self.groups)), flat)
        self.groups.append(group)
        return group


def _dtype_of(t):
    return t._type.dtype


def _shared_layout(arr: np.ndarray):
    """(root buffer, element offset, element strides) when arr can be a view of its root."""
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    item = arr.itemsize
    if root.dtype != arr.dtype or not root.flags.c_contiguous or arr.size == 0:
        return None
    if any(s < 0 or s % item for s in arr.strides):
        return None
    delta = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if delta < 0 or delta % item:
        return None
    stride = tuple(s // item for s in arr.strides)
    offset = delta // item
    if offset + 1 + sum((n - 1) * s for n, s in zip(arr.shape, stride)) > root.size:
        return None
    return root, offset, stride




# ---------------------------------------------------------------- the zip archive


def _serialization_id(pickle_bytes: bytes, groups) -> str:
    """A 40-digit id like PyTorch's, derived from the content so equal saves are equal files."""
    digest = hashlib.sha1(pickle_bytes)
    for g in groups:
        record = g.record()
        digest.update(str(record.nbytes).encode() + np.ascontiguousarray(record[:512]).tobytes())
    return str(int.from_bytes(digest.digest(), "big") % 10**40).zfill(40)


def write_archive(out, pickle_bytes: bytes, groups, byteorder_record: bool = True) -> None:
    """The records in PyTorch's order: pickle, bookkeeping, storages by key, version, id."""
    zf = StoredZipWriter(out)

    def put(name, data):
        zf.add(f"{ARCHIVE_NAME}/{name}", data)

    put(PICKLE_RECORD, pickle_bytes)
    put(FORMAT_VERSION_RECORD, FORMAT_VERSION_TEXT.encode())
    put(ALIGNMENT_RECORD, str(STORAGE_ALIGNMENT).encode())
    if byteorder_record:
        put(BYTEORDER_RECORD, b"little")
    for g in groups:
        put(STORAGE_FOLDER + g.key, np.ascontiguousarray(g.record()).view(np.uint8))
    put(VERSION_RECORD, VERSION_TEXT.encode())
    put(SERIALIZATION_ID_RECORD, _serialization_id(pickle_bytes, groups).encode())
    zf.close()


def save(obj, f, pickle_module=None, pickle_protocol: int = PICKLE_PROTOCOL,
         _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Write obj to f (a path, path-like or writable binary file) as `torch.save` does.

    The file loads with `torch.load(f, weights_only=True)` and `tg.load(f)`."""
    from ..nn.parameter import Parameter

    if not _use_new_zipfile_serialization:
        raise NotImplementedError(
            "tg.save writes PyTorch's zip format only; the legacy format "
            "(_use_new_zipfile_serialization=False) is not supported")
    if pickle_module is not None:
        raise TypeError("tg.save writes its own protocol-2 pickle (the only one a "
                        "weights-only loader reads); pickle_module is not supported")
    if not isinstance(pickle_protocol, int) or pickle_protocol < 2:
        raise ValueError(f"tg.save: pickle_protocol must be 2 or higher, got {pickle_protocol!r} "
                         "(tapegrad writes protocol 2, as torch.save does by default)")
    plan = StoragePlan()
    Emitter(plan, Parameter).dump(obj)      # pass 1: place every tensor
    plan.settled = True
    pickle_bytes = Emitter(plan, Parameter).dump(obj)
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "wb") as out:
            write_archive(out, pickle_bytes, plan.groups, not _disable_byteorder_record)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"tg.save: f must be a path or a writable binary file, got "
                        f"{type(f).__name__}")
    write_archive(f, pickle_bytes, plan.groups, not _disable_byteorder_record)
