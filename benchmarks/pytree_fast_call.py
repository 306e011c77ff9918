"""The fast call's cost for a pytree argument against the same call with flat arguments
(issue 14: at most 1 us more for a 2-leaf dict).  Both transforms differentiate the same
program; they run alternately, in batches, in one process, and the medians of the
per-call times of each batch are compared.

    TAPEGRAD_CACHE_DIR=/tmp/tgcache-$USER .venv/bin/python benchmarks/pytree_fast_call.py
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import tapegrad as tg


def loss(w, b):
    return (w * w + b).sum()


def measure(rounds: int = 200, calls: int = 500) -> dict:
    """Median microseconds per call of each form (grad of flat arguments, grad of a dict,
    compile of flat arguments, compile of a dict), batches alternating."""
    w, b = np.ones(3, np.float32), np.ones(3, np.float32)
    params = {"w": w, "b": b}
    forms = {
        "grad, flat (w, b)": (tg.grad(loss, argnums=(0, 1)), (w, b)),
        "grad, dict {'b', 'w'}": (tg.grad(lambda p: loss(p["w"], p["b"])), (params,)),
        "compile, flat (w, b)": (tg.compile(loss), (w, b)),
        "compile, dict {'b', 'w'}": (tg.compile(lambda p: loss(p["w"], p["b"])), (params,)),
    }
    for f, args in forms.values():
        for _ in range(3):
            f(*args)
        assert f._cache.fast is not None and f._cache.fast(args) is not None
    times: dict[str, list[float]] = {name: [] for name in forms}
    for _ in range(rounds):
        for name, (f, args) in forms.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                f(*args)
            times[name].append((time.perf_counter() - t0) / calls * 1e6)
    return {name: statistics.median(t) for name, t in times.items()}


if __name__ == "__main__":
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    medians = measure(rounds)
    for name, us in medians.items():
        print(f"{name:28s} {us:6.3f} us")
    names = list(medians)
    print(f"grad:    dict - flat = {medians[names[1]] - medians[names[0]]:+.3f} us")
    print(f"compile: dict - flat = {medians[names[3]] - medians[names[2]]:+.3f} us")
