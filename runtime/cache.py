"""The disk cache of compiled object code (SPEC section 3).

Where: `$TAPEGRAD_CACHE_DIR` (an empty value turns the disk cache off), else
`$XDG_CACHE_HOME/tapegrad`, else `~/.cache/tapegrad`; the directory is made
with mode 0700.  What: one file per key, holding the object code and the
optimised LLVM IR text behind a header with the key and a sha256 of the
payload.  The key covers everything object code depends on: the IR's
structural hash, the flags, tapegrad's version and codegen sources, the
llvmlite and LLVM versions, the target triple, CPU name and features, and
which BLAS was found.  Writes go to a temp file renamed into place, so readers
never see half a file; any entry that fails validation is ignored (and
rebuilt by the caller): object code reaches LLVM only with a matching hash.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..codegen import blas, target

MAGIC = b"TAPEGRAD-OBJ 1\n"
SUFFIX = ".tgobj"


@dataclass(frozen=True)
class Entry:
    """What a compiled function needs to be loaded without compiling."""

    symbol: str
    scratch_bytes: int
    object_code: bytes
    llvm_ir: str


def cache_dir() -> Path | None:
    """The disk cache directory, or None when disabled (read on every call)."""
    env = os.environ.get("TAPEGRAD_CACHE_DIR")
    if env is not None:
        return Path(env).expanduser() if env else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "tapegrad"


@functools.cache
def _code_identity() -> str:
    """tapegrad's version and a hash of the codegen sources: stale code never loads."""
    try:
        from importlib.metadata import version
        ver = version("tapegrad")
    except Exception:  # not installed (running from a checkout)
        ver = "unknown"
    h = hashlib.sha256(ver.encode())
    root = Path(target.__file__).parent
    for path in sorted(root.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def make_key(structural_hash: str, flags: str = "") -> str:
    parts = [_code_identity(), target.identity(), "blas=" + blas.identity(),
             structural_hash, flags]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _path(key: str) -> Path | None:
    d = cache_dir()
    return None if d is None else d / (key + SUFFIX)


def load(key: str) -> Entry | None:
    """The entry for `key`, or None when absent, disabled, or not valid."""
    path = _path(key)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return decode(data, key)


def decode(data: bytes, key: str) -> Entry | None:
    try:
        if not data.startswith(MAGIC):
            return None
        end = data.index(b"\n", len(MAGIC))
        head = json.loads(data[len(MAGIC):end])
        payload = data[end + 1:]
        n_obj, n_ir = int(head["object_len"]), int(head["llvm_len"])
        if head["key"] != key or len(payload) != n_obj + n_ir or \
                hashlib.sha256(payload).hexdigest() != head["sha256"]:
            return None
        return Entry(str(head["symbol"]), int(head["scratch_bytes"]), payload[:n_obj],
                     payload[n_obj:].decode())
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def encode(entry: Entry, key: str) -> bytes:
    ir_bytes = entry.llvm_ir.encode()
    payload = entry.object_code + ir_bytes
    head = {"key": key, "symbol": entry.symbol, "scratch_bytes": entry.scratch_bytes,
            "object_len": len(entry.object_code), "llvm_len": len(ir_bytes),
            "sha256": hashlib.sha256(payload).hexdigest()}
    return MAGIC + json.dumps(head, sort_keys=True).encode() + b"\n" + payload


def store(key: str, entry: Entry) -> None:
    """Write atomically; a cache that cannot be written is skipped, never fatal."""
    path = _path(key)
    if path is None:
        return
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(encode(entry, key))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
