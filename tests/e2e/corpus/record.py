"""Record what PyTorch prints for each corpus program: expected/<name>.txt.

Run it ONLY from a side venv that has PyTorch 2.13 (never a dependency of
tapegrad or its tests):

    /work/refvenv/bin/python tests/e2e/corpus/record.py [NAME ...]

Each program runs in its own process with the real `torch`, one thread, and
the same environment the test gives tapegrad's run; its stdout is written down
as it is. A program PyTorch itself cannot run is an error here, not a recording.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TORCH_VERSION = "2.13."


def programs(names=()):
    every = sorted(p.stem for p in HERE.glob("*.py")
                   if not p.name.startswith("_") and p.name != "record.py")
    unknown = set(names) - set(every)
    if unknown:
        raise SystemExit(f"no such corpus program: {sorted(unknown)}")
    return list(names) or every


def environment() -> dict:
    """The settings both runs share: one BLAS/OpenMP thread, a fixed hash seed, no display."""
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONIOENCODING="utf-8")
    env.pop("PYTHONPATH", None)
    return env


def main(argv):
    import torch  # the side venv's real PyTorch

    if not torch.__version__.startswith(TORCH_VERSION) or not hasattr(torch, "_C"):
        raise SystemExit(f"needs PyTorch {TORCH_VERSION}x, found {torch.__version__}")
    (HERE / "expected").mkdir(exist_ok=True)
    failed = []
    for name in programs(argv):
        res = subprocess.run([sys.executable, str(HERE / f"{name}.py")], capture_output=True,
                             text=True, env=environment(), cwd=HERE, timeout=600)
        if res.returncode:
            failed.append(name)
            print(f"{name}: PyTorch failed\n{res.stderr[-2000:]}", file=sys.stderr)
            continue
        (HERE / "expected" / f"{name}.txt").write_text(res.stdout)
        print(f"{name}: {len(res.stdout.splitlines())} lines")
    if failed:
        raise SystemExit(f"PyTorch could not run: {failed}")


if __name__ == "__main__":
    main(sys.argv[1:])
