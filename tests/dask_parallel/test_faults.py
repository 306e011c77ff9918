"""Faults: a shard that raises gives the user's exception and traceback (no hang), and a
worker process killed in the middle of a step has its tasks run again elsewhere, with
the very same numbers (shards are rebuilt from their function; the reduction order is
fixed)."""
import os
import signal
import time
import traceback

import numpy as np
import pytest

import tapegrad as tg


def wide_loss(p, x, y):
    return ((((x @ p["w1"]).tanh() @ p["w2"]) - y) ** 2).mean()


def wide_shard(i, rows=12_000):
    rng = np.random.default_rng(i + 30)
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    return x, np.cos(x[:, :4]).astype(np.float32)


def wide_params():
    rng = np.random.default_rng(3)
    return {"w1": (rng.standard_normal((64, 256)) / 8).astype(np.float32),
            "w2": (rng.standard_normal((256, 4)) / 16).astype(np.float32)}


def unreadable_shard(i):
    if i == 1:
        raise OSError(f"shard {i}: cannot read part-0001.npy")
    return wide_shard(i, 16)


def test_a_shard_that_raises_gives_the_users_exception(client):
    shards = tg.distributed.shards(client, unreadable_shard, 2)
    with pytest.raises(OSError, match="shard 1: cannot read part-0001.npy") as info:
        tg.distributed.data_parallel(tg.value_and_grad(wide_loss), client, shards)
    text = "".join(traceback.format_exception(info.value))
    assert "unreadable_shard" in text and "raise OSError" in text


def _scheduler_state(client, key):
    def state(dask_scheduler, key=key):
        task = dask_scheduler.tasks.get(key)
        return None if task is None else task.state
    return client.run_on_scheduler(state)


def test_a_step_holds_its_parameters_until_gathered(client):
    """Once the shard tasks have run, only the step's caller can keep the scattered
    parameters: a worker dying before the reduction finishes makes Dask recompute lost
    shard results from them (released, the step was cancelled: "lost dependencies")."""
    shards = tg.distributed.shards(client, wide_shard, 2, 64)
    dp = tg.distributed.data_parallel(tg.value_and_grad(wide_loss), client, shards)
    step = dp.submit(wide_params())
    deadline = time.monotonic() + 60
    while not step.root.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert step.root.done()
    assert _scheduler_state(client, step.params.key) == "memory"
    dp.gather(step)
    deadline = time.monotonic() + 10  # and a gathered step keeps nothing
    while _scheduler_state(client, step.params.key) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _scheduler_state(client, step.params.key) is None


def test_a_worker_killed_mid_step_changes_nothing(client):
    shards = tg.distributed.shards(client, wide_shard, 4)
    dp = tg.distributed.data_parallel(tg.value_and_grad(wide_loss), client, shards)
    p = wide_params()
    want = [leaf.numpy() for leaf in tg.tree_util.tree_leaves(dp(p))]
    pids = client.run(os.getpid)
    holders = client.who_has(dp.shards)
    victim = holders[dp.shards[0].key][0]
    submitted = dp.submit(p)
    os.kill(pids[victim], signal.SIGKILL)
    in_flight = not submitted[0].done()
    got = [leaf.numpy() for leaf in tg.tree_util.tree_leaves(dp.gather(submitted))]
    assert in_flight, "the step finished before the worker was killed: make it longer"
    for g, w in zip(got, want):
        assert g.tobytes() == w.tobytes()
    # the next step runs where the shards are now (rebuilt from wide_shard): same bits
    again = [leaf.numpy() for leaf in tg.tree_util.tree_leaves(dp(p))]
    for g, w in zip(again, want):
        assert g.tobytes() == w.tobytes()
    deadline = time.monotonic() + 60  # leave the cluster whole for whoever comes next
    while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
