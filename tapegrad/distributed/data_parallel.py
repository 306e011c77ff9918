"""Data-parallel evaluation of a transformed function over shards held by Dask workers.

    shards = tg.distributed.shards(client, make_shard, 8)     # futures, built by a function
    dp = tg.distributed.data_parallel(tg.value_and_grad(loss), client, shards)
    loss, grads = dp(params)                                   # as vg(params, *all_data)

One step: the parameters (a pytree) are scattered once to every worker; each shard's
task runs the exported, compiled function on (params, *shard) where the shard lives;
the per-shard results, each weighted by its share of the rows (`combine="mean"`, for
losses that are means) or not (`"sum"`), are added pairwise in a fixed tree of tasks
on the workers; the client receives only the root: one loss and one gradient.  The
order of the additions is fixed by the tree, not by which worker finishes first, so a
step gives the same bits however tasks are placed, retried or rescheduled.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from ..ir import dtypes
from ..ir.core import TensorType
from ..tracer.tensor import Tensor
from ..tracer.transforms_signature import TREE
from ..tracer.tree_util import tree_flatten
from . import worker

COMBINES = ("mean", "sum")


#: how many times a step is submitted again after the cluster lost data it needed
RETRIES = 3


class Step(NamedTuple):
    """One submitted step.  `params` keeps the scattered parameters wanted until the step
    is gathered: they exist only in the workers' memory, and if a worker dies after the
    shard tasks finished but before the reduction did, Dask recomputes the lost shard
    results from them (released, they would be forgotten and the step cancelled).
    `arrays` and `example` let `gather` submit the step again when the cluster lost
    scattered data anyway (every worker holding it died)."""
    root: object
    out_tree: object
    params: object
    arrays: list
    example: object


class DataParallel:
    """`dp(params)`: the transformed function's results over all shards, combined."""

    def __init__(self, transformed, client, shards, *, combine: str = "mean"):
        if not callable(getattr(transformed, "export", None)):
            raise TypeError(f"data_parallel expects a transformed function (tg.value_and_grad, "
                            f"tg.grad, tg.compile), got {type(transformed).__name__}")
        if combine not in COMBINES:
            raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}")
        self.transformed = transformed
        self.client = client
        self.combine = combine
        self.shards = _shard_futures(client, shards)
        if not self.shards:
            raise ValueError("data_parallel needs at least one shard")
        described = client.gather(client.map(worker.describe_shard, self.shards, pure=False))
        self.rows = [rows for rows, _ in described]
        self._layouts = [layout for _, layout in described]
        total = sum(self.rows)
        self.weights = [r / total if combine == "mean" else 1.0 for r in self.rows]
        self._payloads: dict = {}  # (params signature, shard layout) -> (key, future, out_tree)
        self.step_count = 0
        self._name = f"tapegrad-{_token()}"  # task keys of this instance's steps
        #: seconds of the last call: scatter (params to every worker), submit (the graph
        #: to the scheduler), wait (compute, reduction, result back), total
        self.last_timings: dict[str, float] = {}

    def __call__(self, params):
        """The combined results for `params`, in the transformed function's structure."""
        return self.gather(self.submit(params))

    def submit(self, params) -> Step:
        """Start one step; returns its `Step` (the root's future first), for `gather`."""
        t0 = time.perf_counter()
        arrays, example = _param_arrays(params)
        return self._start(arrays, example, t0)

    def _start(self, arrays: list, example, t0: float) -> Step:
        shipped = self._payloads_for(example)
        t1 = time.perf_counter()
        params_future = self.client.scatter([arrays], broadcast=True, hash=False)[0]
        t2 = time.perf_counter()
        self.step_count += 1
        parts = []
        for i, (shard, weight) in enumerate(zip(self.shards, self.weights)):
            key, payload, _ = shipped[self._layouts[i]]
            parts.append(self.client.submit(
                worker.run_shard, key, payload, params_future, shard, weight, pure=False,
                key=f"{self._name}-shard-{self.step_count}-{i}"))
        root = _tree_sum(self.client, parts, f"{self._name}-sum-{self.step_count}")
        out_tree = next(iter(shipped.values()))[2]
        self.last_timings = {"export": t1 - t0, "scatter": t2 - t1,
                             "submit": time.perf_counter() - t2, "_start": t0}
        return Step(root, out_tree, params_future, arrays, example)

    def gather(self, step: Step):
        """The step's combined results; releases what the step held on the cluster.

        Dask recomputes lost shards and partial sums by itself; a step whose scattered
        parameters or payload were lost from every worker is cancelled, and is submitted
        again here (same tasks, same reduction tree: the same bits)."""
        from distributed.client import FutureCancelledError
        t0 = time.perf_counter()
        for attempt in range(RETRIES + 1):
            try:
                leaves = step.root.result()
                break
            except FutureCancelledError:
                if attempt == RETRIES:
                    raise
            finally:
                step.params.release()
            step = self._start(step.arrays, step.example, t0)
        t1 = time.perf_counter()
        self.last_timings["wait"] = t1 - t0
        self.last_timings["total"] = t1 - self.last_timings.pop("_start", t0)
        return step.out_tree.unflatten([Tensor._make(a, _type(a)) for a in leaves])

    def _payloads_for(self, example) -> dict:
        """The export payload of each distinct shard layout for these parameters' signature,
        exported on the client and scattered to every worker once."""
        found = {}
        for layout in dict.fromkeys(self._layouts):
            cache_key = (_params_key(example), layout)
            entry = self._payloads.get(cache_key)
            if entry is None or entry[1].status != "finished":  # new, or lost with workers
                fakes = [np.broadcast_to(np.zeros((), np.dtype(dt)), shape)
                         for shape, dt in layout]
                exported = self.transformed.export(example, *fakes)
                payload = exported.serialize()
                future = self.client.scatter([payload], broadcast=True, hash=False)[0]
                entry = self._payloads[cache_key] = (worker.digest(payload), future,
                                                     exported.out_tree)
            found[layout] = entry
        return found

    def close(self) -> None:
        """Release the shards and payloads held on the cluster."""
        self.shards = []
        self._payloads.clear()

    def __repr__(self) -> str:
        return (f"<tapegrad.distributed.DataParallel {self.transformed!r} over "
                f"{len(self.shards)} shards ({sum(self.rows)} rows, combine={self.combine})>")


def data_parallel(transformed, client, shards, *, combine: str = "mean") -> DataParallel:
    """`transformed` (tg.value_and_grad(loss), ...) over `shards`, on Dask's `client`.

    `shards`: Dask futures (each a tuple of arrays, or one array: the arguments after the
    parameters), dask.delayed objects, a dask.array, or a tuple of dask.arrays split
    along axis 0 only (their blocks pair up into shards).  Build shards with a function
    (`tg.distributed.shards`, delayed, dask.array) so Dask can compute them again when a
    worker dies; data scattered from the client lives only in the workers' memory.
    `combine="mean"` weights each shard's results by its share of the rows (for losses
    that average over their rows), `"sum"` adds them as they are."""
    return DataParallel(transformed, client, shards, combine=combine)


def shards(client, make_shard, count: int, *args):
    """`count` shard futures, shard i being `make_shard(i, *args)` computed on a worker."""
    return [client.submit(worker.build_shard, make_shard, i, *args, pure=False,
                          key=f"tapegrad-build-shard-{_token()}-{i}")
            for i in range(count)]


def _shard_futures(client, shards) -> list:
    import dask
    from dask.array import Array
    from distributed import Future
    if isinstance(shards, Array):
        shards = (shards,)
    if isinstance(shards, tuple) and shards and all(isinstance(a, Array) for a in shards):
        return client.compute(_array_shards(shards))
    shards = list(shards)
    if all(isinstance(s, Future) for s in shards):
        return shards
    if all(dask.is_dask_collection(s) for s in shards):
        return client.compute(shards)
    kinds = sorted({type(s).__name__ for s in shards})
    raise TypeError(f"data_parallel: shards must be Dask futures, dask.delayed objects or "
                    f"dask.arrays, got {', '.join(kinds)}; build them with "
                    f"tg.distributed.shards(client, make_shard, n)")


def _array_shards(arrays: tuple) -> list:
    import dask
    counts = {a.numblocks[0] for a in arrays}
    chunks = {a.chunks[0] for a in arrays}
    if len(chunks) != 1 or any(n != 1 for a in arrays for n in a.numblocks[1:]):
        raise ValueError(f"data_parallel: dask arrays must be chunked along axis 0 only, "
                         f"with the same chunks (got chunks "
                         f"{[a.chunks for a in arrays]})")
    blocks = [a.to_delayed().reshape(-1) for a in arrays]
    return [dask.delayed(worker.pack_blocks)(*[b[i] for b in blocks])
            for i in range(counts.pop())]


def _param_arrays(params) -> tuple[list, object]:
    """The parameters' leaves as numpy arrays (what travels) and the pytree of them."""
    leaves, treedef = tree_flatten(params)
    arrays = []
    for leaf in leaves:
        if isinstance(leaf, Tensor):
            a = leaf.numpy() if leaf._data is not None else None
            if a is None:
                raise TypeError("data_parallel: the parameters must be concrete tensors or "
                                "arrays, not values traced by a transform")
        else:
            a = np.asarray(leaf, np.float32 if isinstance(leaf, (int, float)) else None)
        arrays.append(np.ascontiguousarray(a))
    if treedef.is_leaf:
        raise TypeError("data_parallel: pass the parameters as a pytree (a dict, tuple or "
                        "list of arrays), e.g. {'w': w}")
    return arrays, treedef.unflatten(arrays)


def _params_key(example) -> tuple:
    leaves, treedef = tree_flatten(example)
    return (TREE, treedef, tuple((a.shape, a.dtype.str) for a in leaves))


def _tree_sum(client, parts: list, name: str):
    """The sum of the parts by pairs, level by level: (p0+p1)+(p2+p3)...; depth log2(n)."""
    level = 0
    while len(parts) > 1:
        pairs = [client.submit(worker.add_results, parts[k], parts[k + 1], pure=False,
                               key=f"{name}-{level}-{k // 2}")
                 for k in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            pairs.append(parts[-1])
        parts, level = pairs, level + 1
    return parts[0]


def _type(a: np.ndarray) -> TensorType:
    return TensorType(dtypes.from_numpy(a.dtype), tuple(a.shape))


def _token() -> str:
    import uuid
    return uuid.uuid4().hex[:12]
