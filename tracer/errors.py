"""Pointing errors at the user's line: source locations skip tapegrad's own frames."""
from __future__ import annotations

import os
import sys

from ..ir.core import SourceLoc

# Frames from these folders are tapegrad's own; the first frame outside them is the user's.
_PKG_DIRS = tuple(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + d + os.sep
    for d in ("tapegrad", "tracer", "ir", "codegen", "runtime"))


def _is_internal(filename: str) -> bool:
    return filename.startswith(_PKG_DIRS) or filename.endswith(("contextlib.py", "functools.py"))


def user_loc(depth: int = 1) -> SourceLoc | None:
    """The file and line of the innermost caller outside tapegrad."""
    f = sys._getframe(depth)
    while f is not None and _is_internal(f.f_code.co_filename):
        f = f.f_back
    if f is None:
        return None
    return SourceLoc(f.f_code.co_filename, f.f_lineno)


def at(loc: SourceLoc | None) -> str:
    return f" (at {loc.full()})" if loc is not None else ""


#: backward through nodes whose saved values a previous backward freed (the engine's
#: error, and custom Functions' `saved_tensors` after it)
SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


class TracerError(RuntimeError):
    """Python needed a concrete value from an abstract (traced) tensor."""


class AllocationError(RuntimeError, MemoryError):
    """A result too large for memory: a MemoryError that also names the op and the line."""


def allocation_error(what: str, types, loc) -> AllocationError:
    total = sum(t.size * t.dtype.itemsize for t in types)
    shown = ", ".join(str(t) for t in types)
    return AllocationError(f"{what}: cannot allocate {total:,} bytes for {shown}{at(loc)}")
