"""Compiled code as shared libraries: linked once with the system linker, loaded with
ctypes in later processes, without importing llvmlite.

    so = link(object_code)                  # bytes of a .so, or None (no linker, or it failed)
    lib = load(so, symbol, directory)       # a Library (addresses filled in), or None

Importing llvmlite and tapegrad.codegen costs ~40 ms; loading a cached entry
this way costs about a millisecond.  The object code is position independent
(codegen.target), so it links as it is; a process without a linker, or whose
library fails to load, uses MCJIT on the same object (runtime/loader.py).

What the generated code calls outside itself is never looked up by name in a
file someone else could have written: BLAS gemm and tapegrad_parallel_for are
called through pointer slots (codegen.emit.SLOTS) that `load` fills with
addresses found here, and a library with a slot `load` cannot fill is refused
before anything calls it.  libm/libc functions LLVM emits (sin, memset, ...)
are linked normally (-lm -lc, no undefined symbols allowed).

Loading runs the library's initialisers, so the bytes given to `load` must be
the ones whose hash the cache checked: `load` writes them to a new file it
creates exclusively (O_EXCL, no symlinks, mode 0600) in the private cache
directory, dlopens that path, and unlinks it.  Each path is used once, so the
dynamic loader never hands back an earlier library of the same name, and a
loaded library is never unloaded (its code must outlive every pointer to it).
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import os
import sys
from pathlib import Path

from ..codegen.blas import gemm_addresses
from . import interrupt, parallel

#: The gemm each BLAS dtype's code calls (codegen.blas.INTERNAL_NAMES), and the
#: functions called through slots (codegen.emit.SLOTS): repeated, since importing
#: codegen loads llvmlite; tests/test_sharedlib.py checks they agree.
GEMM_NAMES = {"f32": "tapegrad_sgemm", "f64": "tapegrad_dgemm"}
PARALLEL_FOR = "tapegrad_parallel_for"
INTERRUPT_PENDING = "tapegrad_interrupt_pending"
SLOT_NAMES = (*GEMM_NAMES.values(), PARALLEL_FOR, INTERRUPT_PENDING)
LINK_TIMEOUT = 60.0
_counter = itertools.count()


def slot_symbol(symbol: str, name: str) -> str:
    """The global of entry point `symbol` holding the address of function `name`."""
    return f"{symbol}_slot_{name}"


def blas_identity() -> str:
    """codegen.blas.identity(): which gemms code may call (no LLVM needed)."""
    return ",".join(sorted(gemm_addresses())) or "none"


#: Slots whose address is found only when some code needs it: name -> function giving
#: it.  The parallel loop's is the Python pool here; runtime/native_pool.py registers
#: its native dispatcher (built or loaded on first need, so code without split loops
#: never waits for it).
SLOT_PROVIDERS = {PARALLEL_FOR: lambda: parallel.ADDRESS}


def slot_addresses() -> dict[str, int]:
    """What each slot is filled with in this process (those of SLOT_PROVIDERS aside)."""
    out = {GEMM_NAMES[dt]: address for dt, address in gemm_addresses().items()}
    out[INTERRUPT_PENDING] = interrupt.ADDRESS
    return out


def slot_address(name: str, addresses: dict[str, int]) -> int | None:
    """What slot `name` is filled with: from `addresses` (slot_addresses()), or its
    provider's."""
    provider = SLOT_PROVIDERS.get(name)
    return provider() if provider is not None and name not in addresses \
        else addresses.get(name)


# ------------------------------------------------------------------ the host, without LLVM

_CPU_FIELDS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags",
               "cpu", "isa", "features", "cpu implementer", "cpu architecture",
               "cpu variant", "cpu part", "cpu revision")


@functools.cache
def host_fingerprint() -> str | None:
    """A hash of what LLVM's host target identity depends on, read without LLVM (see
    fingerprint); None where it cannot be read (then the key asks LLVM itself)."""
    try:
        import importlib.util
        spec = importlib.util.find_spec("llvmlite")
        if spec is None or not spec.submodule_search_locations:
            return None
        with open("/proc/cpuinfo", "rb") as f:
            cpuinfo = f.read().decode("utf-8", "replace")
        return fingerprint(cpuinfo, Path(list(spec.submodule_search_locations)[0]))
    except (OSError, ImportError, ValueError):
        return None


def fingerprint(cpuinfo: str, llvmlite_dir: Path) -> str | None:
    """The CPU as /proc/cpuinfo describes it (vendor, family, model, stepping, flags:
    what LLVM's host CPU name and features are derived from, not its clock), the
    machine, and the llvmlite install: its version file and its library's size,
    inode and modification time, so a reinstalled LLVM is another host."""
    cpu = set()
    for line in cpuinfo.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in _CPU_FIELDS:
            cpu.add(name.strip().lower() + ":" + value.strip())
    libs = sorted((llvmlite_dir / "binding").glob("*llvmlite*"))
    if not cpu or not libs:
        return None
    h = hashlib.sha256()
    for part in (sys.platform, os.uname().machine, sys.byteorder, *sorted(cpu)):
        h.update(part.encode() + b"\0")
    h.update((llvmlite_dir / "_version.py").read_bytes())
    for lib in libs:
        st = lib.stat()
        h.update(f"{lib.name}:{st.st_size}:{st.st_ino}:{st.st_dev}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


# ------------------------------------------------------------------ linking (at compile time)


def linker_commands(obj: str, out: str) -> list[list[str]]:
    """Ways to link `obj` into `out`, tried in turn: ld alone (~3 ms; enough when the code
    calls nothing outside itself, as most does), ld with libm and libc (~13 ms: reading
    them is the cost), then the cc driver.  Undefined symbols are never allowed.  Empty
    when neither ld nor cc is on PATH."""
    import shutil
    flags = ["-shared", "-Bsymbolic", "--no-undefined", "-z", "noexecstack", "-z", "relro",
             "-z", "now", "-s"]
    cmds = []
    ld = shutil.which("ld")
    if ld:
        cmds.append([ld, *flags, "-o", out, obj])
        cmds.append([ld, *flags, "-o", out, obj, "-lm", "-lc"])
    cc = shutil.which("cc")
    if cc:
        cmds.append([cc, "-shared", "-nostdlib", "-Wl," + ",".join(flags[1:]),
                     "-o", out, obj, "-lm", "-lc"])
    return cmds


def link(object_code: bytes) -> bytes | None:
    """`object_code` linked into a shared library, or None (no linker, or it failed:
    the caller then keeps only the object code)."""
    if sys.platform != "linux":
        return None
    import subprocess
    import tempfile  # imported here: loading code needs neither
    try:
        with tempfile.TemporaryDirectory(prefix="tapegrad-link-") as d:  # mode 0700
            obj, out = os.path.join(d, "code.o"), os.path.join(d, "code.so")
            with open(obj, "wb") as f:
                f.write(object_code)
            for cmd in linker_commands(obj, out):
                try:
                    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                          timeout=LINK_TIMEOUT, cwd=d)
                except (OSError, subprocess.SubprocessError):
                    continue
                if done.returncode == 0:
                    with open(out, "rb") as f:
                        return f.read()
    except OSError:
        pass
    return None


# ------------------------------------------------------------------ loading (no LLVM)


class Library:
    """A loaded library: its dlopen handle (never closed) and entry points.

    Only the integer handle is kept: a ctypes.CDLL object costs kilobytes (a class per
    library, cached function objects), and dropping it does not dlclose the library.
    """

    __slots__ = ("handle", "address", "object_address")

    def __init__(self, handle: int, address: int, object_address: int):
        self.handle = handle
        self.address = address
        self.object_address = object_address


_loaded: list[Library] = []  # never unloaded: function pointers into them may live anywhere


def load(shared_object: bytes, symbol: str, directory: Path) -> Library | None:
    """Load these exact bytes (already checked against the cache's hash) and fill its
    slots; None when it cannot be loaded or needs an address this process lacks."""
    if sys.platform != "linux" or not shared_object:
        return None
    name = f".tmp-load-{os.getpid()}-{next(_counter)}-{os.urandom(8).hex()}.so"
    path = os.path.join(directory, name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(shared_object)
        handle = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
    except OSError:
        return None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    lib = Library(handle._handle, 0, 0)
    _loaded.append(lib)  # from here on its code may be referenced: keep it
    addresses = slot_addresses()
    for slot in SLOT_NAMES:
        try:
            cell = ctypes.c_void_p.in_dll(handle, slot_symbol(symbol, slot))
        except ValueError:
            continue  # this code does not call it
        value = slot_address(slot, addresses)
        if not value:
            return None  # it calls something this process does not have: never run it
        cell.value = value
    try:
        lib.address = ctypes.cast(handle[symbol], ctypes.c_void_p).value
        lib.object_address = ctypes.cast(handle[symbol + "_obj"], ctypes.c_void_p).value
    except AttributeError:
        return None
    return lib
