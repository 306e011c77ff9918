"""Rows for the native numeric kernels (issue 17): random draws beside PyTorch's CPU
generator, and W2 beside JAX jit with the threads pinned on both sides.

    python benchmarks/run.py --only RNG      # random draws + seed 002 BCE, CPU time
    python benchmarks/run.py --only W2T      # W2 at 1e6, 1 and 2 threads, vs JAX jit

On a shared machine wall time mostly measures who got the core, so these rows
time CPU: the calling thread's (`time.thread_time`) for single-threaded work, the
process's for the pinned W2 runs (each in a subprocess: thread counts are fixed
when tapegrad's pool and XLA start). Both sides run in turns, medians.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import tapegrad as tg
from benchmarks import references as refs
from benchmarks.run import Row

torch = refs.torch


def cpu_side_by_side(fns, repeat: int, number: int, clock=time.thread_time) -> list[float]:
    """Median CPU seconds per call of each fn, timed in turns."""
    for f in fns:
        for _ in range(max(1, number // 4)):
            f()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for k, f in enumerate(fns):
            t0 = clock()
            for _ in range(number):
                f()
            times[k].append((clock() - t0) / number)
    return [statistics.median(t) for t in times]


def _draws(lib):
    """name -> (fn, number of calls per timing): the random functions at two sizes."""
    F = lib.nn.functional
    return {
        "randn(64, 1000)": (lambda: lib.randn(64, 1000), 20),
        "randn(64, 1000, float64)": (lambda: lib.randn(64, 1000, dtype=lib.float64), 10),
        "rand(64, 1000)": (lambda: lib.rand(64, 1000), 50),
        "randn(5, 3)": (lambda: lib.randn(5, 3), 500),
        "randint(0, 10, (64000,))": (lambda: lib.randint(0, 10, (64000,)), 20),
        "randperm(64000)": (lambda: lib.randperm(64000), 20),
        "dropout(64000, 0.5)": (lambda: F.dropout(lib.ones(64000), 0.5), 20),
        "seed 002 BCE step with tensor creation": (lambda: refs.seed002_bce(lib), 300),
    }


def rng_rows(quick: bool) -> list[Row]:
    """Single thread on both sides (tapegrad's draws are; PyTorch's OpenMP workers would
    otherwise spin on the calling thread's clock while they wait on a loaded machine)."""
    ours = _draws(tg)
    theirs = _draws(torch) if torch is not None else {}
    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    rows = []
    for name, (fn, number) in ours.items():
        fns = [fn] + ([theirs[name][0]] if name in theirs else [])
        times = cpu_side_by_side(fns, 5 if quick else 15, number)
        target = "<= 0.8x" if name.startswith("seed 002") else ""
        rows.append(Row(f"RNG {name} (CPU)", times[0], "PyTorch eager",
                        times[1] if len(times) > 1 else None, target))
    if torch is not None:
        torch.set_num_threads(threads)
    return rows


# ---------------------------------------------------------------- W2, threads pinned


def _w2_child(threads: int, n: int, repeat: int) -> dict:
    """Run in a subprocess: W2's grad in tapegrad and JAX jit, `threads` each."""
    import jax
    import jax.numpy as jnp
    from benchmarks.run import _w2_f, _w2_numpy
    x = np.random.default_rng(1).standard_normal(n).astype(np.float32)
    g = tg.grad(_w2_f)
    gj = jax.jit(jax.grad(lambda x: jnp.sum(jnp.tanh(x) * jax.nn.sigmoid(x) * jnp.exp(-x * x)
                                            + jnp.log(1 + x * x))))
    xj = jnp.asarray(x)
    want = _w2_numpy(x.astype(np.float64))
    np.testing.assert_allclose(g(x).numpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(gj(xj)), want, rtol=1e-4, atol=1e-5)
    fns = [lambda: g(x), lambda: gj(xj).block_until_ready()]
    cpu = cpu_side_by_side(fns, repeat, 5, clock=time.process_time)
    wall = cpu_side_by_side(fns, repeat, 5, clock=time.perf_counter)
    return {"cpu": cpu, "wall": wall}


def w2_thread_rows(quick: bool) -> list[Row]:
    try:
        import jax  # noqa: F401
    except ImportError:
        return []
    rows = []
    for threads in (1, 2):
        env = dict(os.environ, TAPEGRAD_NUM_THREADS=str(threads))
        if threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                                "intra_op_parallelism_threads=1").strip()
        code = ("import json, sys; from benchmarks.native_math import _w2_child; "
                f"print(json.dumps(_w2_child({threads}, 10 ** 6, {5 if quick else 21})))")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=root,
                              capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        res = json.loads(done.stdout.strip().splitlines()[-1])
        for kind in ("cpu", "wall"):
            ours, jaxs = res[kind]
            rows.append(Row(f"W2 grad 1e6 f32, {threads} thread{'s' * (threads > 1)} ({kind})",
                            ours, "JAX jit", jaxs, "<= 0.5x"))
    return rows
