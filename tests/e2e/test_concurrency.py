"""Threads and processes: results are exactly those of sequential runs, grad mode is per thread,
and processes sharing one disk cache both succeed and leave one valid entry."""
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.demo import loss_fn
from tapegrad.runtime import cache

ROOT = Path(__file__).resolve().parents[2]
THREADS = 4
LR = 2e-4


def _data(seed, n=16, d_in=40, h=20, d_out=5):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32)
            for s in ((n, d_in), (n, d_out), (d_in, h), (h, d_out))]


def _train_eager(seed, steps=60):
    """The tutorial's eager loop (tapegrad.demo's loss), from seed-dependent data."""
    x, y, w1, w2 = _data(seed)
    x, y = tg.tensor(x), tg.tensor(y)
    w1, w2 = tg.tensor(w1, requires_grad=True), tg.tensor(w2, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = loss_fn(w1, w2, x, y)
        loss.backward()
        with tg.no_grad():
            w1 -= LR * w1.grad
            w2 -= LR * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
        losses.append(loss.item())
    return losses, w1.detach().numpy().copy(), w2.detach().numpy().copy()


def _in_threads(work, args):
    results, errors = [None] * len(args), []
    start = threading.Barrier(len(args))

    def run(i):
        try:
            start.wait()
            results[i] = work(*args[i])
        except BaseException as e:  # reported below, never lost in a thread
            errors.append((i, e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results


@pytest.mark.parametrize("mode", ["interpret", "compile", "auto"])
def test_four_threads_training_eager_models_match_sequential_runs(monkeypatch, mode):
    monkeypatch.setenv("TAPEGRAD_EAGER", mode)
    seeds = [(s,) for s in range(THREADS)]
    sequential = [_train_eager(*s) for s in seeds]
    threaded = _in_threads(_train_eager, seeds)
    for (l1, a1, b1), (l2, a2, b2) in zip(sequential, threaded):
        assert l1 == l2  # bit for bit
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(b1, b2)
    assert sequential[0][0][0] != sequential[1][0][0]  # the models really differ


def test_four_threads_calling_one_compiled_gradient_match_sequential_calls():
    step = tg.value_and_grad(lambda w1, w2, x, y: loss_fn(w1, w2, x, y), argnums=(0, 1))
    inputs = [tuple(_data(s)[i] for i in (2, 3, 0, 1)) for s in range(THREADS)]

    def many(*args):
        outs = []
        for _ in range(50):
            value, (g1, g2) = step(*args)
            outs.append((value.numpy().copy(), g1.numpy().copy(), g2.numpy().copy()))
        return outs

    sequential = [many(*a) for a in inputs]
    threaded = _in_threads(many, inputs)
    for seq, thr in zip(sequential, threaded):
        for (v1, a1, b1), (v2, a2, b2) in zip(seq, thr):
            np.testing.assert_array_equal(v1, v2)
            np.testing.assert_array_equal(a1, a2)
            np.testing.assert_array_equal(b1, b2)
    info = step.cache_info()
    assert info.traces == 1  # one signature, traced once whatever the threads did


def test_first_calls_racing_from_threads_trace_once():
    f = tg.grad(lambda x: (x.tanh() * x).sum())
    x = np.linspace(-1, 1, 33).astype(np.float32)
    results = _in_threads(lambda: f(x).numpy(), [()] * THREADS)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    assert f.cache_info().traces == 1


def test_grad_mode_does_not_leak_between_threads():
    in_no_grad, checked = threading.Event(), threading.Event()
    seen = {}

    def quiet():
        with tg.no_grad():
            in_no_grad.set()
            checked.wait(30)
            seen["quiet"] = (tg.ones(2, requires_grad=True) * 2).requires_grad

    def busy():
        in_no_grad.wait(30)
        seen["enabled"] = tg.is_grad_enabled()
        seen["busy"] = (tg.ones(2, requires_grad=True) * 2).requires_grad
        checked.set()

    _in_threads(lambda f: f(), [(quiet,), (busy,)])
    assert seen == {"quiet": False, "enabled": True, "busy": True}
    assert tg.is_grad_enabled()


_COMPILER = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from tapegrad.ir import Builder, f32, tensor_type
    from tapegrad.runtime.compiler import compile_function
    b = Builder("shared")
    x = b.param(tensor_type(f32, (257,)), "x")
    y = x
    for k in range(40):  # enough work that the two compiles overlap
        y = b.add(b.mul(b.sin(y), b.full(x.type, 1.0 + k / 64)), x)
    fn = b.build(b.reduce_sum(y, axes=(0,)))
    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.001)
    cf = compile_function(fn)
    out = cf(np.linspace(-1, 1, 257).astype(np.float32))[0]
    print(json.dumps({"source": cf.source, "value": float(out)}))
""")


def test_two_processes_compiling_into_one_disk_cache(cache_dir):
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(cache_dir))
    start = time.time() + 3.0  # both children wait for the same instant
    procs = [subprocess.Popen([sys.executable, "-c", _COMPILER, str(start)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        assert p.returncode == 0, stderr
        assert "Warning" not in stderr, stderr
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert outs[0]["value"] == outs[1]["value"]
    entries = list(cache_dir.iterdir())
    assert len(entries) == 1 and entries[0].suffix == cache.SUFFIX, entries  # no temp files left
    # the one entry is valid: a third process loads it instead of compiling
    p = subprocess.run([sys.executable, "-c", _COMPILER, "0"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    third = json.loads(p.stdout.strip().splitlines()[-1])
    assert third == {"source": "disk", "value": outs[0]["value"]}
