"""The one place compilation stages are dumped, as the environment asks.

    TAPEGRAD_DUMP=ir,adjoint,optimized,llvm,asm   print those stages to stderr
    TAPEGRAD_DUMP=all                             every stage
    TAPEGRAD_DUMP_DIR=dir                         write them to files in dir instead
                                                  (every stage when TAPEGRAD_DUMP is unset)

The variables are read at every compilation, so a test or a notebook can turn
dumping on and off without restarting.  Files are named
`<function>-<hash>.<stage>.<ext>`, the hash being the compiled IR's structural
hash, so dumps of different specialisations never overwrite each other.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, TextIO

STAGES = ("ir", "adjoint", "optimized", "llvm", "asm")
EXTENSIONS = {"ir": "ir", "adjoint": "ir", "optimized": "ir", "llvm": "ll", "asm": "s",
              "dot": "dot"}


def requested_stages() -> tuple[str, ...]:
    """The stages TAPEGRAD_DUMP / TAPEGRAD_DUMP_DIR ask for, in pipeline order."""
    spec = os.environ.get("TAPEGRAD_DUMP", "").strip()
    if not spec:
        return STAGES if os.environ.get("TAPEGRAD_DUMP_DIR") else ()
    names = {s.strip() for s in spec.split(",") if s.strip()}
    if "all" in names:
        return STAGES
    unknown = names.difference(STAGES)
    if unknown:
        raise ValueError(f"TAPEGRAD_DUMP={spec!r}: unknown stage(s) {', '.join(sorted(unknown))}; "
                         f"expected a comma-separated list of {', '.join(STAGES)} (or all)")
    return tuple(s for s in STAGES if s in names)


def write_stage(out: TextIO, name: str, stage: str, text: str) -> None:
    """One stage, under a header a reader (or grep) can find."""
    out.write(f"// ---- tapegrad {stage}: {name} ----\n{text.rstrip()}\n")


def dump_stages(name: str, stage: Callable[[str], str | None], tag: str) -> list[Path]:
    """Dump what the environment asks for; `stage(s)` gives stage s as text (None: absent).

    Returns the files written (none when printing to stderr)."""
    stages = requested_stages()
    if not stages:
        return []
    directory = os.environ.get("TAPEGRAD_DUMP_DIR")
    written = []
    for s in stages:
        text = stage(s)
        if text is None:
            continue
        if directory:
            path = Path(directory) / f"{name}-{tag[:12]}.{s}.{EXTENSIONS[s]}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text.rstrip() + "\n")
            written.append(path)
        else:
            write_stage(sys.stderr, name, s, text)
    return written
