"""`tg.load`: a PyTorch zip checkpoint back into tapegrad objects, with no code from the file.

The archive is checked before its pickle runs on the allow-list unpickler:
the format (zip, legacy pickle, tar, TorchScript), the pickle record, the byte
order. Each storage a tensor names is read once, on first use, and checked
against the size the pickle declares. `weights_only=False` does not widen the
allow-list: PyTorch then unpickles arbitrary objects (running the file's code);
tapegrad never does, and its refusals say so.
"""
from __future__ import annotations

import io
import os
import struct
import sys
import zipfile
import zlib
from pickle import UnpicklingError

import numpy as np

from ..tracer.creation import device as Device
from .format import (
    BYTEORDER_RECORD, EMPTY_ZIP_MAGIC, FOREIGN_STORAGES, PICKLE_MAGIC_PREFIX, PICKLE_RECORD,
    STORAGE_FOLDER, TAR_MAGIC, TAR_MAGIC_OFFSET, UNTYPED_STORAGE, ZIP_MAGIC, CheckpointError,
    describe_file)
from .rebuild import Rebuilder, Storage, StorageType
from .unpickler import AllowListUnpickler


class Archive:
    """A checkpoint's zip records under its one top-level folder."""

    def __init__(self, stream, where: str):
        self.where, self.stream = where, stream
        try:
            self.zip = zipfile.ZipFile(stream)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise CheckpointError(f"tg.load: {where} is not a complete zip archive "
                                  f"(truncated or damaged): {e}") from None
        if not infos or "/" not in infos[0].filename:
            raise CheckpointError(f"tg.load: {where} is a zip archive but not a PyTorch "
                                  "checkpoint (its entries are not under one folder)")
        self.prefix = infos[0].filename.split("/", 1)[0] + "/"
        self.records = {i.filename[len(self.prefix):]: i for i in infos
                        if i.filename.startswith(self.prefix)}

    def has(self, name: str) -> bool:
        return name in self.records

    def read(self, name: str) -> bytes:
        info = self.records.get(name)
        if info is None:
            raise CheckpointError(f"tg.load: {self.where} has no record {self.prefix}{name}")
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
            raise CheckpointError(f"tg.load: {self.where}: record {self.prefix}{name} cannot "
                                  f"be read (truncated or damaged): {e}") from None


    def read_array(self, name: str) -> np.ndarray:
        """A stored record's bytes read straight into a new writable array, CRC checked
        (one copy instead of zipfile's bytes plus a writable copy of them)."""
        info = self.records[name]
        if info.compress_type != zipfile.ZIP_STORED:
            return np.frombuffer(bytearray(self.read(name)), dtype=np.uint8)
        self.stream.seek(info.header_offset)
        header = self.stream.read(30)
        if len(header) < 30 or header[:4] != ZIP_MAGIC:
            raise CheckpointError(f"tg.load: {self.where}: record {self.prefix}{name} has no "
                                  "valid local header (damaged)")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        self.stream.seek(info.header_offset + 30 + name_len + extra_len)
        out = np.empty(info.file_size, dtype=np.uint8)
        got = self.stream.readinto(memoryview(out)) if info.file_size else 0
        if got != info.file_size:
            raise CheckpointError(f"tg.load: {self.where}: record {self.prefix}{name} is "
                                  f"truncated ({got} of {info.file_size} bytes)")
        if zlib.crc32(out) != info.CRC:
            raise CheckpointError(f"tg.load: {self.where}: record {self.prefix}{name} is "
                                  "damaged (Bad CRC-32: its bytes changed since it was written)")
        return out


def _check_format(head: bytes, where: str) -> None:
    if head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
        return
    if not head:
        raise CheckpointError(f"tg.load: {where} is empty")
    if head[:1] == PICKLE_MAGIC_PREFIX:
        raise CheckpointError(
            f"tg.load: {where} is in PyTorch's legacy (pre-1.6, non-zip) format, which tapegrad "
            "does not read; in PyTorch, load it and save it again with torch.save's default "
            "_use_new_zipfile_serialization=True")
    if head[TAR_MAGIC_OFFSET:TAR_MAGIC_OFFSET + len(TAR_MAGIC)] == TAR_MAGIC:
        raise CheckpointError(f"tg.load: {where} is in PyTorch's legacy tar format, which "
                              "tapegrad does not read; save it again with a current torch.save")
    raise CheckpointError(f"tg.load: {where} is not a PyTorch checkpoint (it starts with "
                          f"{head[:8]!r}, not a zip archive's signature)")


def _location_mapper(map_location, where: str):
    """map_location -> a function from a storage's saved location to check it lands on the CPU."""
    def on_cpu(target, location):
        name = str(target.type if isinstance(target, Device) else target)
        if name.split(":")[0] != "cpu":
            raise RuntimeError(f"tg.load: {where}: map_location sends storage saved on "
                               f"{location!r} to {name!r}; tapegrad runs on the CPU only "
                               "(use map_location='cpu')")

    if map_location is None:
        def mapper(storage):
            if storage.location.split(":")[0] != "cpu":
                raise RuntimeError(
                    f"tg.load: {where} holds a storage saved on {storage.location!r}, and "
                    "tapegrad runs on the CPU only; pass map_location='cpu' (or "
                    "torch.device('cpu')) to load it there")
            return storage
    elif isinstance(map_location, (str, Device)):
        def mapper(storage):
            on_cpu(map_location, storage.location)
            return storage
    elif isinstance(map_location, dict):
        def mapper(storage):
            on_cpu(map_location.get(storage.location, storage.location), storage.location)
            return storage
    elif callable(map_location):
        def mapper(storage):
            moved = map_location(storage, storage.location)
            if moved is None:
                return storage
            if isinstance(moved, Storage):
                return moved
            raise TypeError(f"tg.load: map_location returned a {type(moved).__name__}; on "
                            "tapegrad it may return the storage it was given (the CPU is the "
                            "only device)")
    else:
        raise TypeError(f"tg.load: map_location must be None, a string, a device, a dict or "
                        f"a callable, got {type(map_location).__name__}")
    return mapper


class _Storages:
    """persistent_load: ('storage', type, key, location, numel) -> one Storage per key."""

    def __init__(self, archive: Archive, mapper, byteswap: bool):
        self.archive, self.mapper, self.byteswap = archive, mapper, byteswap
        self.loaded: dict[str, Storage] = {}

    def __call__(self, pid: tuple):
        where = self.archive.where
        first = pid[0] if pid else None
        kind = first.decode("ascii", "replace") if isinstance(first, bytes) else first
        if kind != "storage" or len(pid) != 5:
            raise UnpicklingError(f"tg.load: {where} asks for a persistent id of kind "
                                  f"{kind!r} ({len(pid)} fields); only ('storage', type, key, "
                                  "location, numel) is allowed")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise CheckpointError(f"tg.load: {where}: a storage's type is a "
                                  f"{type(storage_type).__name__}, not a storage class")
        if storage_type.name in FOREIGN_STORAGES:
            raise CheckpointError(
                f"tg.load: {where} holds a torch.{storage_type.name} "
                f"({FOREIGN_STORAGES[storage_type.name]} elements); tapegrad has no such dtype "
                "(convert it in PyTorch, e.g. to float32, before saving)")
        if type(key) is not str or type(numel) is not int or numel < 0 or \
                type(location) is not str:
            raise CheckpointError(f"tg.load: {where}: a malformed storage id {pid!r}")
        if key in self.loaded:
            return self.loaded[key]
        dtype = storage_type.dtype
        itemsize = 1 if storage_type.name == UNTYPED_STORAGE else dtype.itemsize
        name = STORAGE_FOLDER + key
        if not self.archive.has(name):
            raise CheckpointError(f"tg.load: {where} has no record {self.archive.prefix}{name} "
                                  f"for the storage its pickle names (missing storage record)")
        size = self.archive.records[name].file_size
        if size != numel * itemsize:
            raise CheckpointError(
                f"tg.load: {where}: storage record {self.archive.prefix}{name} holds {size} "
                f"bytes, but the pickle declares {numel} elements of {itemsize} bytes "
                f"({numel * itemsize} bytes): wrong storage size")
        raw = self.archive.read_array(name)
        if self.byteswap and dtype is not None and itemsize > 1:
            raw = raw.view(dtype.np).byteswap().view(np.uint8)
        storage = self.mapper(Storage(key, raw, dtype, location))
        self.loaded[key] = storage
        return storage


def _open(f):
    """(a seekable binary stream, whether we opened it, its description) for a path or file."""
    where = describe_file(f)
    if isinstance(f, (str, bytes, os.PathLike)):
        try:
            return open(f, "rb"), True, where
        except FileNotFoundError:
            raise FileNotFoundError(f"tg.load: no such file {where}") from None
    if not hasattr(f, "read"):
        raise TypeError(f"tg.load: f must be a path or a readable binary file, got "
                        f"{type(f).__name__}")
    seekable = getattr(f, "seekable", lambda: False)()
    if not seekable:
        return io.BytesIO(f.read()), False, where
    return f, False, where


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read a checkpoint `torch.save` (or `tg.save`) wrote: tensors, Parameters, containers.

    Only allow-listed names load, whatever `weights_only` says; `map_location` may
    be None, 'cpu', a device, a dict of locations or a callable, and must land on
    the CPU. `mmap=True` is accepted and reads the records into memory."""
    if pickle_module is not None:
        raise TypeError("tg.load reads checkpoints with its own allow-list unpickler; "
                        "pickle_module is not supported")
    encoding = pickle_load_args.pop("encoding", "ASCII")
    if pickle_load_args:
        raise TypeError(f"tg.load: unexpected arguments {sorted(pickle_load_args)}")
    stream, opened, where = _open(f)
    try:
        start = stream.tell()
        head = stream.read(512)
        stream.seek(start)
        _check_format(head, where)
        archive = Archive(stream, where)
        if archive.has("constants.pkl"):
            raise CheckpointError(f"tg.load: {where} is a TorchScript archive "
                                  "(torch.jit.save); tapegrad reads torch.save checkpoints only")
        if not archive.has(PICKLE_RECORD):
            raise CheckpointError(f"tg.load: {where} has no record {archive.prefix}"
                                  f"{PICKLE_RECORD} (missing data.pkl): not a complete "
                                  "torch.save checkpoint")
        byteswap = False
        if archive.has(BYTEORDER_RECORD):
            order = archive.read(BYTEORDER_RECORD)
            if order not in (b"little", b"big"):
                raise CheckpointError(f"tg.load: {where}: unknown byte order {order!r}")
            byteswap = order.decode() != sys.byteorder
        storages = _Storages(archive, _location_mapper(map_location, where), byteswap)
        rebuilder = Rebuilder(storages, where)
        note = "" if weights_only is None or weights_only else \
            " (not even with weights_only=False, where PyTorch would run it)"
        unpickler = AllowListUnpickler(
            archive.read(PICKLE_RECORD), rebuilder.allowed, rebuilder.callables, storages,
            where, note, encoding)
        return unpickler.load()
    finally:
        if opened:
            stream.close()
