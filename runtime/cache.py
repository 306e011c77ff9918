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

The cache holds native code that runs in the user's process, so whoever can
write it can run code as the user.  Hence (SPEC section 4, README "Guarantees"):
the directory is created private (0700), and one owned by someone else or
writable by group or others is not used at all; an entry is read only if it is
a regular file (not a symlink, FIFO or device), owned by the current user, not
writable by group or others, and its payload matches the recorded sha256.
Anything else is ignored with a one-line `CacheWarning` and rebuilt.  The
directory is kept under `TAPEGRAD_CACHE_MAX_BYTES` (default 256 MiB; K/M/G
suffixes allowed) by removing the least recently used entries after a write;
only files named like entries are ever removed.

An entry may also hold the same object code linked into a shared library
(runtime/sharedlib.py), covered by the same sha256, so that a later process
loads it with ctypes without importing llvmlite.  So the key is computed
without LLVM too: in place of LLVM's target identity (LLVM version, triple,
CPU name and features) it uses a fingerprint of what that identity is made
from, read without LLVM (/proc/cpuinfo's CPU model and flags, the machine,
the llvmlite install: sharedlib.host_fingerprint); a changed fingerprint is
another key.  LLVM's identity itself is recorded in the entry, and a process
that has LLVM loaded refuses an entry recorded under another one.  Where no
fingerprint can be read, the key uses LLVM's identity as before.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..ir.version import __version__

MAGIC = b"TAPEGRAD-OBJ 1\n"
SUFFIX = ".tgobj"
DEFAULT_MAX_BYTES = 256 << 20
#: stale temp files (a writer that died) older than this are removed when the cap is enforced
TEMP_MAX_AGE = 3600.0
_ENTRY_NAME = re.compile(r"^[0-9a-f]{64}" + re.escape(SUFFIX) + "$")
_TEMP_PREFIX = ".tmp-"
_warned_dirs: set[str] = set()
_warn_lock = threading.Lock()


class CacheWarning(UserWarning):
    """A disk cache entry or directory was refused (unsafe or damaged) and is not used."""


@dataclass(frozen=True)
class Entry:
    """What a compiled function needs to be loaded without compiling."""

    symbol: str
    scratch_bytes: int
    object_code: bytes
    llvm_ir: str
    shared_object: bytes = b""  # the object code linked into a shared library, if a linker was found
    target: str = ""  # codegen.target.identity() of the process that compiled it


def cache_dir() -> Path | None:
    """The disk cache directory, or None when disabled (read on every call)."""
    env = os.environ.get("TAPEGRAD_CACHE_DIR")
    if env is not None:
        return Path(env).expanduser() if env else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "tapegrad"


def _source_dir(part: str) -> Path:
    """Where tapegrad.<part>'s sources are, found without importing it (codegen loads
    llvmlite)."""
    import importlib.util
    spec = importlib.util.find_spec(__package__.rsplit(".", 1)[0] + "." + part)
    return Path(list(spec.submodule_search_locations)[0])


@functools.cache
def _code_identity() -> str:
    """tapegrad's version and a hash of the sources that decide the machine code: codegen,
    and ir (its passes include codegen-only rewrites that run after the structural hash
    is taken, such as the gemm epilogue).  Stale code never loads."""
    h = hashlib.sha256(str(__version__).encode())
    for part in ("codegen", "ir"):
        root = _source_dir(part)
        for path in sorted(root.rglob("*.py")):
            h.update(f"{part}/{path.relative_to(root).as_posix()}".encode() + b"\0"
                     + path.read_bytes())
    return h.hexdigest()


def make_key(structural_hash: str, flags: str = "") -> str:
    """The entry's key; it imports llvmlite only where no host fingerprint can be read."""
    from . import sharedlib
    host = sharedlib.host_fingerprint()
    if host is not None:
        host = "host=" + host
    else:
        from ..codegen import target
        host = target.identity()
    parts = [_code_identity(), host, "blas=" + sharedlib.blas_identity(), structural_hash,
             flags]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def max_bytes() -> int:
    """The size cap of the disk cache: `TAPEGRAD_CACHE_MAX_BYTES` (bytes, or with K/M/G)."""
    text = os.environ.get("TAPEGRAD_CACHE_MAX_BYTES", "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    m = re.fullmatch(r"(\d+)\s*([KMG]i?B?|B)?", text, re.IGNORECASE)
    if m is None:
        raise ValueError(f"TAPEGRAD_CACHE_MAX_BYTES={text!r}: expected a number of bytes, "
                         "optionally with a K, M or G suffix (e.g. 500M)")
    unit = (m.group(2) or "B")[0].upper()
    return int(m.group(1)) << {"B": 0, "K": 10, "M": 20, "G": 30}[unit]


_OWN_DIRS = tuple(str(Path(__file__).resolve().parents[1] / d) + os.sep
                  for d in ("tapegrad", "tracer", "ir", "codegen", "runtime"))


def _warn(message: str) -> None:
    """A one-line CacheWarning attributed to the user's code (the first frame outside us)."""
    level, f = 2, sys._getframe(1)
    while f.f_back is not None and f.f_code.co_filename.startswith(_OWN_DIRS):
        level, f = level + 1, f.f_back
    warnings.warn("tapegrad: " + message, CacheWarning, stacklevel=level)


def _unsafe(st: os.stat_result, what: str) -> str | None:
    """Why a file or directory with this status must not be trusted, or None."""
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"{what} is owned by uid {st.st_uid}, not by the current user ({os.geteuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _checked_dir(create: bool) -> Path | None:
    """The cache directory if it is safe to use (made private when created), else None."""
    d = cache_dir()
    if d is None:
        return None
    try:
        if create and not d.is_dir():
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(d, 0o700)
        st = os.stat(d)
    except OSError:
        return None
    problem = _unsafe(st, "the directory") if stat.S_ISDIR(st.st_mode) else "it is not a directory"
    if problem is None:
        return d
    with _warn_lock:
        first = str(d) not in _warned_dirs
        _warned_dirs.add(str(d))
    if first:
        _warn(f"not using the disk cache {d}: {problem}")
    return None


def _path(key: str, create: bool = False) -> Path | None:
    d = _checked_dir(create)
    return None if d is None else d / (key + SUFFIX)


def load(key: str) -> Entry | None:
    """The entry for `key`, or None when absent, disabled, unsafe or damaged (with a warning)."""
    path = _path(key)
    if path is None:
        return None
    data = _read_trusted(path, max(max_bytes(), 1 << 20))
    if data is None:
        return None
    entry = decode(data, key)
    if entry is None:
        _warn(f"ignoring cache entry {path}: damaged (bad header or content hash); "
              "it will be rebuilt")
    return entry


def _read_trusted(path: Path, limit: int) -> bytes | None:
    """The bytes of `path` if it is a regular file of ours that nobody else can write,
    else None (with a warning unless it is absent).  Marks it recently used."""
    try:  # no symlinks; a FIFO must not block; the checks and the read use one descriptor
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) |
                     getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as e:
        if os.path.islink(path):
            _warn(f"ignoring cache entry {path}: it is a symbolic link; it will be rebuilt")
        else:
            _warn(f"ignoring cache entry {path}: cannot open it ({e.strerror}); "
                  "it will be rebuilt")
        return None
    try:
        st = os.fstat(fd)
        problem = _unsafe(st, "it") if stat.S_ISREG(st.st_mode) else "it is not a regular file"
        if problem is None and st.st_size > limit:
            problem = f"it is larger than the cache cap ({st.st_size} bytes)"
        if problem is not None:
            _warn(f"ignoring cache entry {path}: {problem}; it will be rebuilt")
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read()
        try:  # recently used: the size cap removes the least recently used first
            os.utime(fd if os.utime in os.supports_fd else path)
        except OSError:
            pass
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


def decode(data: bytes, key: str) -> Entry | None:
    try:
        if not data.startswith(MAGIC):
            return None
        end = data.index(b"\n", len(MAGIC))
        head = json.loads(data[len(MAGIC):end])
        payload = data[end + 1:]
        n_obj, n_ir = int(head["object_len"]), int(head["llvm_len"])
        n_so = int(head.get("shared_len", 0))
        symbol = str(head["symbol"])
        if head["key"] != key or min(n_obj, n_ir, n_so) < 0 or \
                len(payload) != n_obj + n_ir + n_so or \
                not symbol.startswith("tg_" + key[:32]) or \
                hashlib.sha256(payload).hexdigest() != head["sha256"]:
            return None
        return Entry(symbol, int(head["scratch_bytes"]), payload[:n_obj],
                     payload[n_obj:n_obj + n_ir].decode(), payload[n_obj + n_ir:],
                     str(head.get("target", "")))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        return None


def encode(entry: Entry, key: str) -> bytes:
    ir_bytes = entry.llvm_ir.encode()
    payload = entry.object_code + ir_bytes + entry.shared_object
    head = {"key": key, "symbol": entry.symbol, "scratch_bytes": entry.scratch_bytes,
            "object_len": len(entry.object_code), "llvm_len": len(ir_bytes),
            "shared_len": len(entry.shared_object), "target": entry.target,
            "sha256": hashlib.sha256(payload).hexdigest()}
    return MAGIC + json.dumps(head, sort_keys=True).encode() + b"\n" + payload


def store(key: str, entry: Entry) -> None:
    """Write atomically, then keep the cap; a cache that cannot be written is skipped."""
    path = _path(key, create=True)
    if path is None:
        return
    data = encode(entry, key)
    cap = max_bytes()
    if len(data) > cap:
        return
    if _write_atomic(path, data, SUFFIX):
        enforce_cap(path.parent, cap, keep=path)


def _write_atomic(path: Path, data: bytes, suffix: str) -> bool:
    """Write a private file (0600) next to `path`, then rename it into place."""
    import tempfile  # imported here: a process that only loads never needs it
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


# ------------------------------------------------------------------ size cap, info, clear


def _entries(d: Path) -> list[tuple[Path, os.stat_result]]:
    """The entry files in `d` (named like entries; symlinks not followed), with their status."""
    out = []
    try:
        with os.scandir(d) as it:
            for e in it:
                if _ENTRY_NAME.match(e.name):
                    try:
                        out.append((Path(e.path), e.stat(follow_symlinks=False)))
                    except OSError:
                        pass
    except OSError:
        pass
    return out


def _remove(path: Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False  # another process removed it first
    except OSError:
        return False


def enforce_cap(d: Path, cap: int, keep: Path | None = None) -> int:
    """Remove least recently used entries until the total is within `cap`; returns how many."""
    now = time.time()
    try:
        with os.scandir(d) as it:
            stale = [Path(e.path) for e in it if e.name.startswith(_TEMP_PREFIX)
                     and now - e.stat(follow_symlinks=False).st_mtime > TEMP_MAX_AGE]
    except OSError:
        stale = []
    for p in stale:
        _remove(p)
    entries = _entries(d)
    total = sum(st.st_size for _, st in entries)
    removed = 0
    for path, st in sorted(entries, key=lambda e: e[1].st_mtime):
        if total <= cap:
            break
        if path == keep:
            continue
        if _remove(path):
            removed += 1
        total -= st.st_size
    return removed


@dataclass(frozen=True)
class Info:
    directory: Path | None
    usable: bool
    entries: int
    total_bytes: int
    max_bytes: int
    refused: int  # entries that would be refused (foreign owner, writable, symlink, not a file)


def info() -> Info:
    d = cache_dir()
    cap = max_bytes()
    if d is None or not d.is_dir():
        return Info(d, d is not None, 0, 0, cap, 0)
    usable = _checked_dir(create=False) is not None
    entries = _entries(d)
    refused = sum(1 for _, st in entries
                  if not stat.S_ISREG(st.st_mode) or _unsafe(st, "") is not None)
    return Info(d, usable, len(entries), sum(st.st_size for _, st in entries), cap, refused)


def clear() -> int:
    """Remove every entry (and temp file) from the cache directory; other files stay."""
    d = cache_dir()
    if d is None or not d.is_dir():
        return 0
    removed = sum(_remove(p) for p, _ in _entries(d))
    try:
        with os.scandir(d) as it:
            for e in it:
                if e.name.startswith(_TEMP_PREFIX) and e.name.endswith(SUFFIX):
                    _remove(Path(e.path))
    except OSError:
        pass
    return removed
