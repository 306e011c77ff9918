"""Data-parallel training on Dask: the tutorials' two-layer network over N samples.

The samples are split into one shard per worker.  Each shard is built on a worker by
`make_shard` (so Dask can build it again elsewhere if that worker dies).  Every step
sends the parameters to each worker once, runs the exported, compiled value_and_grad
of the mean squared error there, adds the gradients pairwise on the workers and hands
one gradient to the client, whose compiled SGD step (momentum, tapegrad.optim.functional)
updates the parameters.  The same training then runs in this process on all the samples
at once, and the last line says how far apart the two are.

    python examples/data_parallel.py                      # a LocalCluster of 2 processes
    python examples/data_parallel.py --workers 4 --samples 8192 --steps 5
    python examples/data_parallel.py --scheduler tcp://10.0.0.5:8786   # a running cluster

Needs the extra: pip install "tapegrad[distributed]".
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import tapegrad as tg
from tapegrad.optim import functional as F

# The tutorial's sizes: D_in is input dimension; H is hidden dimension; D_out is output dimension.
D_IN, H, D_OUT = 1000, 100, 10
LEARNING_RATE, MOMENTUM = 0.3, 0.8  # 20 steps take the loss from 0.79 to about 0.20
SEED = 0


def loss(params, x, y):
    """Mean squared error of the tutorial's network x -> relu(x w1) w2, in float32."""
    y_pred = x.mm(params["w1"]).clamp(min=0).mm(params["w2"])
    return ((y_pred - y) ** 2).mean()


def make_shard(index: int, rows: int, seed: int = SEED):
    """Shard `index`: `rows` inputs and the outputs of a fixed teacher network of the same
    shape (so there is something to learn).  Deterministic: built again, it is equal."""
    teacher = np.random.default_rng(seed)
    t1 = (teacher.standard_normal((D_IN, H)) / np.sqrt(D_IN)).astype(np.float32)
    t2 = (teacher.standard_normal((H, D_OUT)) / np.sqrt(H)).astype(np.float32)
    rng = np.random.default_rng([seed, index + 1])
    x = rng.standard_normal((rows, D_IN), dtype=np.float32)
    return x, (np.maximum(x @ t1, 0) @ t2).astype(np.float32)


def init_params(seed: int = SEED + 1) -> dict:
    rng = np.random.default_rng(seed)
    return {"w1": tg.tensor((rng.standard_normal((D_IN, H)) / np.sqrt(D_IN)).astype(np.float32)),
            "w2": tg.tensor((rng.standard_normal((H, D_OUT)) / np.sqrt(H)).astype(np.float32))}


def shard_rows(samples: int, shards: int) -> list[int]:
    return [samples // shards + (i < samples % shards) for i in range(shards)]


def sgd_step():
    return tg.compile(lambda p, g, s: F.sgd(p, g, s, lr=LEARNING_RATE, momentum=MOMENTUM))


def train(value_and_grad, steps: int, on_step=None):
    """`steps` of SGD with momentum from init_params(); value_and_grad(params) gives
    (loss, grads).  Returns the loss and the parameters after each step."""
    params = init_params()
    state = F.init_state("sgd", params)
    step = sgd_step()
    history = []
    for k in range(steps):
        value, grads = value_and_grad(params)
        params, state = step(params, grads, state)
        history.append((float(value), {name: p.numpy().copy() for name, p in params.items()}))
        if on_step is not None:
            on_step(k, float(value))
    return history


def largest_difference(ours, reference) -> float:
    """max over steps of |loss difference| / |loss| and ||params difference|| / ||params||."""
    worst = 0.0
    for (loss_a, params_a), (loss_b, params_b) in zip(ours, reference):
        worst = max(worst, abs(loss_a - loss_b) / abs(loss_b))
        diff = np.sqrt(sum(np.sum((params_a[k].astype(np.float64) - params_b[k]) ** 2)
                           for k in params_b))
        norm = np.sqrt(sum(np.sum(params_b[k].astype(np.float64) ** 2) for k in params_b))
        worst = max(worst, float(diff / norm))
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the LocalCluster (default 2)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--samples", type=int, default=65_536)
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler to use instead of a LocalCluster")
    args = parser.parse_args(argv)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print('this example needs Dask: pip install "tapegrad[distributed]"', file=sys.stderr)
        return 2
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        threads = str(max(1, (os.cpu_count() or 1) // args.workers))  # the cores, shared
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None,
                               env={"OPENBLAS_NUM_THREADS": threads,
                                    "TAPEGRAD_NUM_THREADS": threads})
        client = Client(cluster)
    try:
        workers = len(client.scheduler_info()["workers"]) if args.scheduler else args.workers
        rows = shard_rows(args.samples, workers)
        shards = [client.submit(make_shard, i, n, pure=False) for i, n in enumerate(rows)]
        vg = tg.value_and_grad(loss)
        dp = tg.distributed.data_parallel(vg, client, shards)
        print(f"{args.samples} samples in {workers} shards on {workers} workers")
        ours = train(dp, args.steps,
                     lambda k, value: print(f"step {k + 1:3d}: loss {value:.6e}", flush=True))
        data = [make_shard(i, n) for i, n in enumerate(rows)]
        x = np.concatenate([d[0] for d in data])
        y = np.concatenate([d[1] for d in data])
        reference = train(lambda params: vg(params, x, y), args.steps)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    d = largest_difference(ours, reference)
    print(f"data-parallel: {workers} workers, {args.steps} steps, final loss "
          f"{ours[-1][0]:.6e}, largest relative difference from one process {d:.2e}")
    return 0 if d <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
