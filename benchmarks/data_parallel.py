"""DIST: data-parallel steps on Dask (tg.distributed) against one process, and where the
time of a step goes.  Needs the extra (pip install "tapegrad[distributed]").

    .venv/bin/python benchmarks/run.py --only DIST
    .venv/bin/python benchmarks/data_parallel.py [--quick]

(Not benchmarks/distributed.py: run.py runs as a script, so its folder is first on
sys.path, and a distributed.py there would shadow Dask's package, in the workers too.)

A step here is the value and gradient of the tutorials' two-layer network's mean squared
error over all N samples (the client's update is the same in both and left out).
Rows, per size, each measured once per round over 7 rounds (medians): one process (the
value_and_grad on all N samples, timed inside the worker of a 1-worker LocalCluster:
all the cores, no Dask in the timed interval); 1 and 2 worker processes of a
LocalCluster holding one shard each (BLAS and tapegrad threads per worker: cores / W);
then, for 2 workers, the overhead of a step broken down:

- scheduling: a step of the same task graph whose shards, parameters and gradients are
  one float each (round trips client -> scheduler -> workers -> client);
- transfer: the same graph with parameters and gradients of the real size but no
  compute, minus scheduling (parameters scattered to every worker, gradients moved for
  the pairwise sum, the root back to the client);
- serialisation: Dask's serialize + deserialize of the parameters, on the client;
- compute: the value_and_grad on N / 2 samples inside a worker of the 2-worker cluster.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tapegrad as tg  # noqa: E402


def loss(params, x, y):
    y_pred = x.mm(params["w1"]).clamp(min=0).mm(params["w2"])
    return ((y_pred - y) ** 2).mean()


def make_shard(index: int, rows: int, d_in: int, d_out: int = 10):
    rng = np.random.default_rng([7, index])
    x = rng.standard_normal((rows, d_in), dtype=np.float32)
    return x, rng.standard_normal((rows, d_out), dtype=np.float32)


def params_for(d_in: int, hidden: int = 100, d_out: int = 10) -> dict:
    rng = np.random.default_rng(1)
    return {"w1": (rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)).astype(np.float32),
            "w2": (rng.standard_normal((hidden, d_out)) / np.sqrt(hidden)).astype(np.float32)}


def weights_only(params, x):
    """Gradients the size of the parameters, almost no compute: the transfer probe."""
    return (params["w1"].sum() + params["w2"].sum()) * x.sum()


_local: dict = {}  # in a worker process: the value_and_grad it times


def time_locally(shard, params) -> float:
    """Seconds of one value_and_grad of `loss` on the whole shard, in the worker process
    that holds it: a step of one process with no Dask in it (same environment)."""
    vg = _local.setdefault("vg", tg.value_and_grad(loss))
    vg(params, *shard)  # compiled (or loaded) on the first call
    t0 = time.perf_counter()
    vg(params, *shard)
    return time.perf_counter() - t0


def _cluster(workers: int):
    """A LocalCluster whose workers share the cores: BLAS and tapegrad threads = cores / W
    (oversubscribed BLAS threads spin: on this busy machine 2 threads per process ran a
    step 5-10x slower than 1)."""
    from dask.distributed import Client, LocalCluster
    threads = str(max(1, (os.cpu_count() or 2) // workers))
    env = {"OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
           "TAPEGRAD_NUM_THREADS": threads}
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, env=env)
    return cluster, Client(cluster)


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def measure(n: int, d_in: int, repeat: int) -> dict:
    """Median seconds of each measurement for N = n samples of d_in features, taken in
    rounds (one of each per round) so the machine's other load hits all alike."""
    from distributed.protocol import deserialize, serialize
    vg = tg.value_and_grad(loss)
    p = params_for(d_in)
    leaves = list(p.values())
    (cl1, c1), (cl2, c2) = _cluster(1), _cluster(2)
    try:
        whole = c1.submit(make_shard, 0, n, d_in, pure=False)
        halves = [c2.submit(make_shard, i, n // 2 + (i < n % 2), d_in, pure=False)
                  for i in range(2)]
        dp1 = tg.distributed.data_parallel(vg, c1, [whole])
        dp2 = tg.distributed.data_parallel(vg, c2, halves)
        tiny = tg.distributed.data_parallel(
            tg.value_and_grad(weights_only), c2,
            [c2.submit(np.ones, 1, np.float32, pure=False) for _ in range(2)])
        scalar = {"w1": np.ones((1, 1), np.float32), "w2": np.ones((1, 1), np.float32)}
        probes = {
            "one process": lambda: c1.submit(time_locally, whole, p, pure=False).result(),
            "compute (N/2, one worker of 2)":
                lambda: c2.submit(time_locally, halves[0], p, pure=False).result(),
            "1 workers": lambda: _timed(lambda: dp1(p)),
            "2 workers": lambda: _timed(lambda: dp2(p)),
            "scheduling": lambda: _timed(lambda: tiny(scalar)),
            "scheduling+transfer": lambda: _timed(lambda: tiny(p)),
            "serialisation": lambda: _timed(lambda: deserialize(*serialize(leaves))),
        }
        samples: dict = {k: [] for k in probes}
        parts: dict = {f"{w} workers: {k}": [] for w in (1, 2)
                       for k in ("scatter", "submit", "wait")}
        for r in range(repeat + 2):  # two rounds of warming up: exports, compiles, caches
            for name, probe in probes.items():
                seconds = probe()
                if r >= 2:
                    samples[name].append(seconds)
            if r >= 2:
                for w, dp in ((1, dp1), (2, dp2)):
                    for k in ("scatter", "submit", "wait"):
                        parts[f"{w} workers: {k}"].append(dp.last_timings[k])
        out = {k: statistics.median(v) for k, v in {**samples, **parts}.items()}
        out["transfer"] = out["scheduling+transfer"] - out["scheduling"]
        out["param bytes"] = sum(a.nbytes for a in leaves)
        out["payload bytes"] = len(vg.export(p, *make_shard(0, n // 2, d_in)).serialize())
        return out
    finally:
        c1.close()
        c2.close()
        cl1.close()
        cl2.close()


def dist_rows(quick: bool = False) -> list:
    """The rows of benchmarks/run.py --only DIST."""
    from benchmarks.run import Row
    sizes = [(16_384, 1000)] if quick else [(65_536, 1000), (65_536, 100), (1_048_576, 100)]
    rows = []
    for n, d_in in sizes:
        m = measure(n, d_in, 3 if quick else 7)
        name = f"DIST N={n:,} D_in={d_in}"
        one = m["one process"]
        for w in (1, 2):
            t = m[f"{w} workers"]
            rows.append(Row(f"{name}: {w} worker{'s' * (w > 1)} step", t, "one process", one,
                            "", f"efficiency {one / (w * t):.0%}; scatter "
                                f"{m[f'{w} workers: scatter'] * 1e3:.1f} ms, wait "
                                f"{m[f'{w} workers: wait'] * 1e3:.1f} ms"))
        rows.append(Row(f"{name}: 2-worker overhead: scheduling", m["scheduling"], "", None, ""))
        rows.append(Row(f"{name}: 2-worker overhead: transfer "
                        f"({m['param bytes'] / 1e6:.2f} MB params, as much grads)",
                        m["transfer"], "", None, ""))
        rows.append(Row(f"{name}: 2-worker overhead: serialisation of params",
                        m["serialisation"], "", None, "",
                        f"export payload {m['payload bytes'] / 1e3:.0f} kB, sent once"))
        rows.append(Row(f"{name}: compute of one shard (N/2, in a worker of 2)",
                        m["compute (N/2, one worker of 2)"], "", None, ""))
    for row in rows:
        if row.note:
            print(f"{row.name}: {row.note}")
    return rows


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.run import print_table
    print_table(dist_rows("--quick" in sys.argv))
