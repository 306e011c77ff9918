"""tg.distributed.data_parallel on a real LocalCluster: the combined value and gradients
equal one process's, from futures, delayed objects and dask.arrays alike, and the client
steps compiled optimizers on them."""
import subprocess
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.optim import functional as F

ROWS = 96


def loss(p, x, y):
    h = (x @ p["w1"] + p["b1"]).tanh()
    return ((h @ p["w2"] - y) ** 2).mean()


def make_shard(i, rows=ROWS):
    rng = np.random.default_rng(i + 10)
    x = rng.standard_normal((rows, 5)).astype(np.float32)
    return x, np.sin(x[:, :2] * 1.5).astype(np.float32)


def params():
    rng = np.random.default_rng(1)
    return {"w1": rng.standard_normal((5, 7)).astype(np.float32) * 0.4,
            "b1": np.zeros(7, np.float32),
            "w2": rng.standard_normal((7, 2)).astype(np.float32) * 0.4}


def one_process(shards, p=None, combine="mean"):
    x = np.concatenate([s[0] for s in shards])
    y = np.concatenate([s[1] for s in shards])
    value, grads = tg.value_and_grad(loss)(p or params(), x, y)
    if combine == "sum":  # the sum of the per-shard means
        value, grads = None, None
    return value, grads


def assert_close(got, want, rtol=2e-6):
    gv, gg = got
    wv, wg = want
    np.testing.assert_allclose(gv.numpy(), wv.numpy(), rtol=rtol)
    assert set(gg) == set(wg)
    for k in wg:
        np.testing.assert_allclose(gg[k].numpy(), wg[k].numpy(), rtol=rtol, atol=1e-7)


def test_futures_from_a_function_match_one_process(client):
    shards = tg.distributed.shards(client, make_shard, 3)
    dp = tg.distributed.data_parallel(tg.value_and_grad(loss), client, shards)
    assert dp.rows == [ROWS] * 3
    got = dp(params())
    assert_close(got, one_process([make_shard(i) for i in range(3)]))
    again = dp(params())  # a second step: the same bits (fixed reduction order)
    assert again[0].numpy().tobytes() == got[0].numpy().tobytes()
    assert set(dp.last_timings) >= {"scatter", "submit", "wait", "total"}


def test_unequal_shards_are_weighted_by_rows_and_sum_adds(client):
    rows = [64, 32, 17]
    futures = [client.submit(make_shard, i, n, pure=False) for i, n in enumerate(rows)]
    data = [make_shard(i, n) for i, n in enumerate(rows)]
    dp = tg.distributed.data_parallel(tg.value_and_grad(loss), client, futures)
    assert_close(dp(params()), one_process(data))
    dp_sum = tg.distributed.data_parallel(tg.value_and_grad(loss), client, futures,
                                          combine="sum")
    value, grads = dp_sum(params())
    parts = [tg.value_and_grad(loss)(params(), *d) for d in data]
    np.testing.assert_allclose(value.numpy(), sum(float(v) for v, _ in parts), rtol=2e-6)
    np.testing.assert_allclose(grads["w2"].numpy(), sum(g["w2"].numpy() for _, g in parts),
                               rtol=2e-6, atol=1e-7)


def test_dask_arrays_and_delayed_shards(client):
    import dask
    import dask.array as da
    data = [make_shard(i) for i in range(2)]
    x = da.concatenate([da.from_delayed(dask.delayed(make_shard)(i)[0], (ROWS, 5), np.float32)
                        for i in range(2)])
    y = da.concatenate([da.from_delayed(dask.delayed(make_shard)(i)[1], (ROWS, 2), np.float32)
                        for i in range(2)])
    dp = tg.distributed.data_parallel(tg.value_and_grad(loss), client, (x, y))
    assert dp.rows == [ROWS, ROWS]
    assert_close(dp(params()), one_process(data))
    delayed = [dask.delayed(make_shard)(i) for i in range(2)]
    dp = tg.distributed.data_parallel(tg.value_and_grad(loss), client, delayed)
    assert_close(dp(params()), one_process(data))
    with pytest.raises(ValueError, match="chunked along axis 0"):
        tg.distributed.data_parallel(tg.value_and_grad(loss), client,
                                     (x.rechunk((ROWS, 2)), y))


def test_bad_arguments_are_named(client):
    with pytest.raises(TypeError, match="shards must be Dask futures"):
        tg.distributed.data_parallel(tg.value_and_grad(loss), client, [make_shard(0)])
    with pytest.raises(TypeError, match="transformed function"):
        tg.distributed.data_parallel(loss, client, [])
    with pytest.raises(ValueError, match="combine"):
        tg.distributed.data_parallel(tg.value_and_grad(loss), client, [], combine="max")


def test_training_with_a_compiled_adam_step_matches_one_process(client):
    shards = tg.distributed.shards(client, make_shard, 2)
    data = [make_shard(i) for i in range(2)]
    x = np.concatenate([d[0] for d in data])
    y = np.concatenate([d[1] for d in data])
    vg = tg.value_and_grad(loss)
    dp = tg.distributed.data_parallel(vg, client, shards)
    step = tg.compile(lambda p, g, s: F.adam(p, g, s, lr=1e-2))
    results = []
    for run in (dp, lambda p: vg(p, x, y)):
        p = {k: tg.tensor(v) for k, v in params().items()}
        state = F.init_state("adam", p)
        for _ in range(4):
            value, grads = run(p)
            p, state = step(p, grads, state)
        results.append((float(value), p))
    (v_dp, p_dp), (v_one, p_one) = results
    assert abs(v_dp - v_one) <= 1e-5 * abs(v_one)
    for k in p_one:
        np.testing.assert_allclose(p_dp[k].numpy(), p_one[k].numpy(), rtol=1e-5, atol=1e-6)


def test_importing_tapegrad_does_not_import_dask():
    code = ("import sys, tapegrad, tapegrad.distributed, tapegrad.export\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
