"""Which other CPythons .ci/run tests on: every CPython 3.10 or newer this machine has.

Run by the main venv's Python (which has `packaging`, a pytest dependency).  Prints one
line `X.Y PATH` per interpreter to test, on stdout, and one `skipping Python X.Y: why`
line on stderr for each version of the supported range that is missing and for each
interpreter found outside that range (pip would refuse to install tapegrad there).
Interpreters come from pyenv (`pyenv root`, or $PYENV_ROOT, or ~/.pyenv) and from
`python3.N` on PATH; the newest patch release of each X.Y wins.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
OLDEST = (3, 10)


def requires_python() -> SpecifierSet:
    text = (ROOT / "pyproject.toml").read_text()
    return SpecifierSet(re.search(r'^requires-python\s*=\s*"([^"]*)"', text, re.M).group(1))


def pyenv_roots() -> list[str]:
    roots = []
    if shutil.which("pyenv"):
        done = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            roots.append(done.stdout.strip())
    roots += [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    return [r for r in dict.fromkeys(roots) if r and os.path.isdir(r)]


def candidates() -> list[str]:
    found = [p for root in pyenv_roots()
             for p in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python3")))]
    found += [p for n in range(OLDEST[1], 40) if (p := shutil.which(f"python3.{n}"))]
    return list(dict.fromkeys(os.path.realpath(p) for p in found))


def identify(path: str) -> Version | None:
    """The full version of a CPython at `path`, or None (not CPython, or does not run:
    a pyenv shim of a version that is not selected fails here)."""
    probe = "import sys; print(sys.implementation.name, '%d.%d.%d' % sys.version_info[:3])"
    try:
        done = subprocess.run([path, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2 or parts[0] != "cpython":
        return None
    return Version(parts[1])


def main() -> int:
    here = sys.version_info[:2]
    supported = requires_python()
    best: dict[tuple[int, int], tuple[Version, str]] = {}
    for path in candidates():
        version = identify(path)
        if version is None or (version.major, version.minor) < OLDEST:
            continue
        key = (version.major, version.minor)
        if key not in best or version > best[key][0]:
            best[key] = (version, path)
    # every minor version requires-python admits must be tested or reported missing
    # (up to the newest one found, when the range has no upper bound)
    admitted = [m for m in range(OLDEST[1], 40) if Version(f"3.{m}.0") in supported]
    top = max(admitted) if admitted and max(admitted) < 39 else max(
        [m for _, m in best] + [OLDEST[1]])
    wanted = {(3, m) for m in admitted if m <= top} | set(best)
    for key in sorted(wanted):
        name = "%d.%d" % key
        if key == here:
            continue  # the README's run
        if key not in best:
            print(f"skipping Python {name}: no CPython {name} on this machine", file=sys.stderr)
        elif best[key][0] not in supported:
            print(f"skipping Python {name} ({best[key][1]}): outside requires-python "
                  f"{supported}", file=sys.stderr)
        else:
            print(name, best[key][1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
