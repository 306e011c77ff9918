"""The constants of PyTorch's zip checkpoint format, in one place, and its error type.

`torch.save` (with its default `_use_new_zipfile_serialization=True`) writes a
zip archive whose entries sit under one top-level folder: `data.pkl` (a
protocol-2 pickle whose tensors point at storages through persistent ids),
`data/<key>` (each storage's raw bytes, stored uncompressed), `byteorder`,
`version` and a few bookkeeping records. The writer and the reader both take
their names and numbers from here so they cannot drift apart.
"""
from __future__ import annotations

import os

from ..ir import dtypes

#: the folder every record of an archive tapegrad writes sits in (PyTorch's reader takes
#: whatever folder the first entry names; `torch.save` to a buffer uses this one too)
ARCHIVE_NAME = "archive"
PICKLE_RECORD = "data.pkl"
STORAGE_FOLDER = "data/"
#: the records PyTorch 2.x writes besides the pickle and the storages, with their contents
VERSION_RECORD, VERSION_TEXT = "version", "3\n"
FORMAT_VERSION_RECORD, FORMAT_VERSION_TEXT = ".format_version", "1"
ALIGNMENT_RECORD = ".storage_alignment"
BYTEORDER_RECORD = "byteorder"
SERIALIZATION_ID_RECORD = ".data/serialization_id"
#: a record's bytes start at a multiple of this from the archive's start (PyTorch's mmap
#: loading relies on it); the padding goes in the local header's extra field
STORAGE_ALIGNMENT = 64
PADDING_EXTRA_ID = 0x4246
#: the only pickle protocol PyTorch's weights-only reader is written for
PICKLE_PROTOCOL = 2

#: tapegrad dtype -> the legacy storage class name PyTorch pickles (`torch.FloatStorage`)
STORAGE_NAME = {
    dtypes.f16: "HalfStorage", dtypes.f32: "FloatStorage", dtypes.f64: "DoubleStorage",
    dtypes.i8: "CharStorage", dtypes.i16: "ShortStorage", dtypes.i32: "IntStorage",
    dtypes.i64: "LongStorage", dtypes.u8: "ByteStorage", dtypes.bool_: "BoolStorage",
}
DTYPE_OF_STORAGE = {name: dt for dt, name in STORAGE_NAME.items()}
#: storage classes PyTorch writes whose element type tapegrad has no dtype for
FOREIGN_STORAGES = {
    "BFloat16Storage": "bfloat16", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
}
#: `torch.UntypedStorage`: raw bytes, typed later by `_rebuild_tensor_v3`'s dtype argument
UNTYPED_STORAGE = "UntypedStorage"

#: PyTorch's dtype names (`torch.float32` and its aliases) -> tapegrad's dtypes
DTYPE_BY_TORCH_NAME = {dt.torch_name: dt for dt in STORAGE_NAME}
DTYPE_BY_TORCH_NAME.update({
    "half": dtypes.f16, "float": dtypes.f32, "double": dtypes.f64, "short": dtypes.i16,
    "int": dtypes.i32, "long": dtypes.i64})

#: how the first bytes of a file tell which kind of checkpoint it is
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
PICKLE_MAGIC_PREFIX = b"\x80"  # the legacy format starts with a pickled magic number
TAR_MAGIC_OFFSET, TAR_MAGIC = 257, b"ustar"


class CheckpointError(RuntimeError):
    """A checkpoint file that is damaged, truncated or in a format tapegrad does not read."""


def describe_file(f) -> str:
    """How an error names the checkpoint: its path, or the file object's name or type."""
    if isinstance(f, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    if isinstance(name, (str, bytes)):
        return repr(os.fsdecode(name))
    return f"<{type(f).__name__} object>"
