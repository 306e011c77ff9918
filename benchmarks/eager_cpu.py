"""CPU time per step of the eager workloads, tapegrad and PyTorch eager in turns.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TAPEGRAD_NUM_THREADS=1 \
        TAPEGRAD_REFS_SITE=/path/to/side-venv/lib/python3.11/site-packages \
        .venv/bin/python -m benchmarks.eager_cpu [NN,W3,W4B,W6,POW,BCE] [rounds]

On a machine other processes keep busy, wall-clock medians mostly measure who got
the core; the CPU time of this thread (`time.thread_time`) is not inflated by
preemption.  Run single-threaded so every thread's work is this thread's.  Each
workload is the same function run.py times (benchmarks/references.py), checked
against PyTorch's result before it is timed.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import tapegrad as tg
import tapegrad.tracer


def _one_tree() -> str:
    """The tree every tapegrad package comes from.  `PYTHONPATH=<tree>` in a venv where
    another tree is installed editable finds `tapegrad` in <tree> but its subpackages
    (tracer, runtime, ir, codegen: mapped by the installed tree's finder) in the
    installed one, so the figures would be the installed tree's."""
    import tapegrad.codegen
    import tapegrad.ir
    import tapegrad.runtime
    root = os.path.dirname(os.path.dirname(os.path.realpath(tg.__file__)))
    for mod in (tapegrad.tracer, tapegrad.runtime, tapegrad.ir, tapegrad.codegen):
        where = os.path.realpath(mod.__file__)
        if not where.startswith(root + os.sep):
            sys.exit(f"tapegrad is {tg.__file__} but {mod.__name__} is {where}: run this "
                     "from the venv where this tree is installed, with the side venv's "
                     "site-packages in TAPEGRAD_REFS_SITE")
    return root


TREE = _one_tree()
# PyTorch from a side venv (TAPEGRAD_REFS_SITE=<its site-packages>), searched after
# everything of this venv: this tree's tapegrad and its numpy come first
if os.environ.get("TAPEGRAD_REFS_SITE"):
    sys.path.append(os.environ["TAPEGRAD_REFS_SITE"])

from . import references as refs  # noqa: E402  (after the side venv's path)

try:
    import torch
except ImportError:  # the tapegrad column alone
    torch = None


def _nn(lib):
    from .nn_optim import _init, tapegrad_ways, torch_ways
    x, y, layers = _init()
    if lib is tg:
        return tapegrad_ways(x, y, layers)["eager"]
    return torch_ways(x, y, layers)["torch eager"]


def _w3(lib):
    def step():
        x = lib.tensor(1.5, requires_grad=True)
        (x ** 2 * lib.sin(x) + lib.exp(x) / (1 + x * x)).backward()
        return x.grad.item()
    return step


def _w4b(lib):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1000)).astype(np.float32)
    y = rng.standard_normal((64, 10)).astype(np.float32)
    w1 = rng.standard_normal((1000, 100)).astype(np.float32)
    w2 = rng.standard_normal((100, 10)).astype(np.float32)
    v = np.random.default_rng(3).standard_normal(w1.shape).astype(np.float32)
    args = [lib.from_numpy(a) for a in (w1, w2, x, y, v)]
    return lambda: refs.w4b_eager(lib, *args)


def _w6(lib):
    rng = np.random.default_rng(7)
    x, y = np.ones(5, np.float32), np.zeros(3, np.float32)
    w, b = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    args = [lib.from_numpy(x), lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True),
            lib.from_numpy(y)]
    return lambda: refs.w6_eager(lib, *args)


WORKLOADS = {"NN": _nn, "W3": _w3, "W4B": _w4b, "W6": _w6,
             "POW": lambda lib: lambda: refs.seed002_pow(lib),
             "BCE": lambda lib: lambda: refs.seed002_bce(lib)}
NUMBER = {"NN": 10, "W4B": 10}


def _as_numpy(out):
    if isinstance(out, (tuple, list)):
        return [_as_numpy(o) for o in out]
    return np.asarray(refs.to_numpy(out.detach() if hasattr(out, "detach") else out))


def cpu_table(names, rounds=15):
    """name -> (tapegrad seconds, PyTorch seconds or None), medians of `rounds` in turns."""
    out = {}
    for name in names:
        sides = [WORKLOADS[name](tg)] + ([WORKLOADS[name](torch)] if torch is not None else [])
        for f in sides:  # warm: plans cached, templates traced, native code compiled
            for _ in range(5):
                f()
        number = NUMBER.get(name, 200)
        times = [[] for _ in sides]
        for _ in range(rounds):
            for k, f in enumerate(sides):
                t0 = time.thread_time()
                for _ in range(number):
                    f()
                times[k].append((time.thread_time() - t0) / number)
        med = [sorted(t)[len(t) // 2] for t in times]
        out[name] = (med[0], med[1] if len(med) > 1 else None)
    return out


def main(argv):
    print(f"tapegrad from {TREE}; PyTorch {torch.__version__ if torch else 'not importable'}")
    names = (argv[0].split(",") if argv else list(WORKLOADS))
    rounds = int(argv[1]) if len(argv) > 1 else 15
    for name, (ours, theirs) in cpu_table([n.upper() for n in names], rounds).items():
        ratio = f"{ours / theirs:6.2f}x" if theirs else "   -"
        theirs_s = f"{theirs * 1e6:9.1f}" if theirs else "        -"
        print(f"{name:5s} tapegrad {ours * 1e6:9.1f} us   PyTorch {theirs_s} us   {ratio}")


if __name__ == "__main__":
    main(sys.argv[1:])
