"""The serialized form of an export: a magic line, a header line, a JSON manifest, a checksum.

    TAPEGRAD-EXPORT\\n
    format=1 tapegrad=0.9.0 length=1234\\n
    {"name": ..., "kind": ..., "signature": [...], "out_tree": {...}, "stages": {...}}
    <32 bytes: sha256 of everything above>

Only data: the manifest is JSON (names, the signature, pytree structures, and the IR
text of each stage), so reading it runs no code and loads no machine code.  The
checksum covers the whole payload and is checked before anything is parsed; a payload
of another format version is refused with both versions named.
"""
from __future__ import annotations

import hashlib
import json
import re

from ..ir.version import __version__
from .treespec import ExportFormatError

MAGIC = b"TAPEGRAD-EXPORT\n"
#: the version of this layout and of the manifest's fields; readers accept only their own
FORMAT_VERSION = 1
MAX_BYTES = 1 << 40
_DIGEST = 32
_HEADER = re.compile(rb"format=(\d{1,9}) tapegrad=([0-9A-Za-z.+_-]{1,64}) length=(\d{1,15})\n")
_HEADER_MAX = 160


def pack(manifest: dict) -> bytes:
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode()
    head = MAGIC + f"format={FORMAT_VERSION} tapegrad={__version__} length={len(body)}\n".encode()
    payload = head + body
    return payload + hashlib.sha256(payload).digest()


def unpack(data) -> dict:
    """The manifest of serialized bytes, after every check of the container."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"deserialize expects bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data):
            raise ExportFormatError(f"export data truncated: {len(data)} bytes, not even the "
                                    f"{len(MAGIC)}-byte header")
        raise ExportFormatError("not tapegrad export data: it does not start with "
                                f"{MAGIC[:-1].decode()!r}")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _HEADER_MAX)
    m = _HEADER.fullmatch(data, len(MAGIC), end + 1) if end >= 0 else None
    if m is None:
        if len(data) < len(MAGIC) + _HEADER_MAX and end < 0:
            raise ExportFormatError(f"export data truncated: {len(data)} bytes end inside "
                                    "the header")
        raise ExportFormatError("export data damaged: its header line is unreadable")
    version, writer, length = int(m.group(1)), m.group(2).decode(), int(m.group(3))
    start = end + 1
    whole = start + length + _DIGEST
    intact = len(data) == whole and \
        hashlib.sha256(data[:start + length]).digest() == data[start + length:]
    if version != FORMAT_VERSION:
        raise ExportFormatError(
            f"export data of format version {version} (written by tapegrad {writer}), but "
            f"tapegrad {__version__} reads format version {FORMAT_VERSION}"
            + ("" if intact else "; its checksum does not match either: it may be damaged")
            + ": export it again with this tapegrad")
    if length > MAX_BYTES:
        raise ExportFormatError(f"export data declares {length} bytes, more than the limit "
                                f"of {MAX_BYTES}")
    if len(data) < whole:
        raise ExportFormatError(f"export data truncated: {len(data)} bytes of the {whole} its "
                                f"header declares")
    if len(data) > whole:
        raise ExportFormatError(f"export data damaged: {len(data) - whole} bytes after the "
                                f"end its header declares ({whole} bytes)")
    if not intact:
        raise ExportFormatError("export data damaged: the sha256 checksum over the payload "
                                f"does not match (format version {version}, written by "
                                f"tapegrad {writer})")
    try:
        manifest = json.loads(data[start:start + length].decode())
    except (ValueError, RecursionError) as e:  # checksum fine: written wrong, not damaged
        raise ExportFormatError(f"export data unreadable: its manifest is not JSON ({e})") \
            from None
    if not isinstance(manifest, dict):
        raise ExportFormatError("export data unreadable: its manifest is not a JSON object")
    return manifest
