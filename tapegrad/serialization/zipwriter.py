"""An uncompressed zip writer that lays records out as PyTorch's writer (miniz) does.

PyTorch's loader may compute where each storage's bytes start instead of
asking the zip's directory (`torch.utils.serialization.config.load.
calculate_storage_offsets`, and the checks under `TORCH_SERIALIZATION_DEBUG=1`):
it assumes each record's bytes are padded to a 64-byte boundary by one extra
field, and followed by a data descriptor (16 bytes, 24 past 4 GiB) when the
record is not empty. Python's `zipfile` writes neither, so tapegrad writes its
own: local header, padding, bytes, descriptor; then the central directory, with
zip64 fields only where a size or an offset needs them. It only ever appends,
so a stream that cannot seek works as well as a file.
"""
from __future__ import annotations

import struct
import zlib

from .format import PADDING_EXTRA_ID, STORAGE_ALIGNMENT

_LOCAL, _DESCRIPTOR, _CENTRAL = 0x04034B50, 0x08074B50, 0x02014B50
_ZIP64_END, _ZIP64_LOCATOR, _END = 0x06064B50, 0x07064B50, 0x06054B50
_FLAG_DESCRIPTOR, _FLAG_UTF8 = 0x0008, 0x0800
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest date a zip can name
_U32, _U16 = 0xFFFFFFFF, 0xFFFF
_CHUNK = 1 << 24


class StoredZipWriter:
    """`add(name, bytes-like)` records one after another; `close()` writes the directory."""

    def __init__(self, out):
        self.out = out
        self.offset = 0  # bytes written so far: offsets are relative to the archive's start
        self.entries: list[tuple] = []  # (name bytes, crc, size, header offset, flags)

    def write(self, data) -> None:
        self.out.write(data)
        self.offset += len(data)

    def add(self, name: str, data) -> None:
        view = memoryview(data).cast("B")
        size, raw_name = len(view), name.encode("utf-8")
        big = size >= _U32
        zip64_extra = struct.pack("<HHQQ", 1, 16, size, size) if big else b""
        header_offset = self.offset
        # the padding field itself takes 4 bytes, so the bytes start 4..67 bytes later
        before = header_offset + 30 + len(raw_name) + len(zip64_extra) + 4
        pad = -before % STORAGE_ALIGNMENT
        extra = zip64_extra + struct.pack("<HH", PADDING_EXTRA_ID, pad) + b"Z" * pad
        flags = _FLAG_UTF8 | (_FLAG_DESCRIPTOR if size else 0)
        self.write(struct.pack("<IHHHHHIIIHH", _LOCAL, 45 if big else 20, flags, 0, 0,
                               _DOS_DATE, 0, _U32 if big else 0, _U32 if big else 0,
                               len(raw_name), len(extra)))
        self.write(raw_name + extra)
        crc = 0
        for start in range(0, size, _CHUNK):
            chunk = view[start:start + _CHUNK]
            crc = zlib.crc32(chunk, crc)
            self.write(chunk)
        if size:
            if big or header_offset >= _U32:
                self.write(struct.pack("<IIQQ", _DESCRIPTOR, crc, size, size))
            else:
                self.write(struct.pack("<IIII", _DESCRIPTOR, crc, size, size))
        self.entries.append((raw_name, crc, size, header_offset, flags))

    def close(self) -> None:
        directory_offset = self.offset
        for raw_name, crc, size, header_offset, flags in self.entries:
            # zip64: the sizes and the offset that overflow, in that order
            wide = [v for v in (size, size, header_offset) if v >= _U32]
            extra = struct.pack("<HH", 1, 8 * len(wide)) + b"".join(
                struct.pack("<Q", v) for v in wide) if wide else b""
            self.write(struct.pack(
                "<IHHHHHHIIIHHHHHII", _CENTRAL, 45 if wide else 20, 45 if wide else 20, flags,
                0, 0, _DOS_DATE, crc, min(size, _U32), min(size, _U32), len(raw_name),
                len(extra), 0, 0, 0, 0, min(header_offset, _U32)))
            self.write(raw_name + extra)
        directory_size = self.offset - directory_offset
        count = len(self.entries)
        if count >= _U16 or directory_offset >= _U32 or directory_size >= _U32:
            end64 = self.offset
            self.write(struct.pack("<IQHHIIQQQQ", _ZIP64_END, 44, 45, 45, 0, 0, count, count,
                                   directory_size, directory_offset))
            self.write(struct.pack("<IIQI", _ZIP64_LOCATOR, 0, end64, 1))
        self.write(struct.pack("<IHHHHIIH", _END, 0, 0, min(count, _U16), min(count, _U16),
                               min(directory_size, _U32), min(directory_offset, _U32), 0))
