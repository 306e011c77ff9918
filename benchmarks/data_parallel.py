"""DIST: data-parallel steps on Dask (tg.distributed) against one process, and where the
time of a step goes.  Needs the extra (pip install "tapegrad[distributed]").

    .venv/bin/python benchmarks/run.py --only DIST
    .venv/bin/python benchmarks/data_parallel.py [--quick]

(Not benchmarks/distributed.py: run.py runs as a script, so its folder is first on
sys.path, and a distributed.py there would shadow Dask's package, in the workers too.)

A step here is the value and gradient of the tutorials' two-layer network's mean squared
error over all N samples (the client's update is the same in both and left out).
Rows, per size: one process on all samples; 1 and 2 worker processes of a LocalCluster
holding one shard each (the workers' BLAS and tapegrad threads share the cores: 2 // W
threads each); then, for 2 workers, the overhead of a step broken down:

- scheduling: a step of the same task graph whose shards, parameters and gradients are
  one float each (round trips client -> scheduler -> workers -> client);
- transfer: the same graph with parameters and gradients of the real size but no
  compute, minus scheduling (parameters scattered to every worker, gradients moved for
  the pairwise sum, the root back to the client);
- serialisation: Dask's serialize + deserialize of the parameters, on the client;
- compute: one process on N / 2 samples, what each worker computes.
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


def median_seconds(f, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        f()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _cluster(workers: int):
    from dask.distributed import Client, LocalCluster
    threads = str(max(1, (os.cpu_count() or 2) // workers))
    env = {"OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
           "TAPEGRAD_NUM_THREADS": threads}
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, env=env)
    return cluster, Client(cluster)


def measure(n: int, d_in: int, repeat: int) -> dict:
    """Median seconds of each measurement for N = n samples of d_in features."""
    from distributed.protocol import deserialize, serialize
    vg = tg.value_and_grad(loss)
    p = params_for(d_in)
    out: dict = {}
    x, y = make_shard(0, n, d_in)
    out["one process"] = median_seconds(lambda: vg(p, x, y), repeat)
    half = n // 2
    out["compute (N/2, one process)"] = median_seconds(lambda: vg(p, x[:half], y[:half]),
                                                       repeat)
    del x, y
    leaves = list(p.values())
    out["serialisation"] = median_seconds(lambda: deserialize(*serialize(leaves)), repeat)
    out["param bytes"] = sum(a.nbytes for a in leaves)
    for workers in (1, 2):
        cluster, client = _cluster(workers)
        try:
            rows = [n // workers + (i < n % workers) for i in range(workers)]
            shards = [client.submit(make_shard, i, r, d_in, pure=False)
                      for i, r in enumerate(rows)]
            dp = tg.distributed.data_parallel(vg, client, shards)
            parts: dict[str, list] = {"scatter": [], "submit": [], "wait": []}

            def step():
                dp(p)
                for k in parts:
                    parts[k].append(dp.last_timings[k])
            out[f"{workers} workers"] = median_seconds(step, repeat)
            for k, v in parts.items():
                out[f"{workers} workers: {k}"] = statistics.median(v[2:])
            out["payload bytes"] = len(vg.export(p, *make_shard(0, rows[0], d_in)).serialize())
            if workers == 2:
                tiny = tg.distributed.data_parallel(
                    tg.value_and_grad(weights_only), client,
                    [client.submit(np.ones, 1, np.float32, pure=False) for _ in range(2)])
                scalar = {"w1": np.ones((1, 1), np.float32), "w2": np.ones((1, 1), np.float32)}
                out["scheduling"] = median_seconds(lambda: tiny(scalar), repeat)
                out["transfer"] = median_seconds(lambda: tiny(p), repeat) - out["scheduling"]
        finally:
            client.close()
            cluster.close()
    return out


def dist_rows(quick: bool = False) -> list:
    """The rows of benchmarks/run.py --only DIST."""
    from benchmarks.run import Row
    sizes = [(16_384, 1000)] if quick else [(65_536, 1000), (65_536, 100), (1_048_576, 100)]
    rows = []
    for n, d_in in sizes:
        m = measure(n, d_in, 3 if quick else 5)
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
        rows.append(Row(f"{name}: compute of one shard (N/2, one process)",
                        m["compute (N/2, one process)"], "", None, ""))
    for row in rows:
        if row.note:
            print(f"{row.name}: {row.note}")
    return rows


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.run import print_table
    print_table(dist_rows("--quick" in sys.argv))
