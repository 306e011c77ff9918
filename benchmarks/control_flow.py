"""Control flow workloads (issue 18): rows for benchmarks/run.py (`--only CF`).

    CF1  compile time of a fori_loop at 10 / 1,000 / 100,000 steps (one region: the
         100,000-step compile must be within 1.5x of the 10-step one), beside the same
         loop as a Python `for` (unrolled by tracing) at 10 and 100 steps
    CF2  a tanh RNN as a scan (hidden 128, batch 32, 1,000 steps): forward + gradient
         with respect to the weights, beside JAX's lax.scan under jit when installed
         (steady state, and the cold compile).  Its gradient vanishes through the
         denormal range, which XLA flushes: the like-for-like row runs tapegrad with
         tg.set_flush_denormal(True); the other keeps PyTorch's default
    CF3  Newton's square root to a tolerance as a data-dependent while_loop, beside numpy
"""
from __future__ import annotations

import itertools
import time

import numpy as np

import tapegrad as tg
from benchmarks.run import Row, check, side_by_side

_unique = itertools.count()


def _first_call_seconds(make, x) -> float:
    """Trace + lower + LLVM + one run of a new function (a constant no other compile
    used, so no cache answers)."""
    f = tg.compile(make(1.0 + next(_unique) * 1e-6))
    t0 = time.perf_counter()
    f(x)
    return time.perf_counter() - t0


def _fori(steps: int):
    def make(k):
        return lambda x: tg.lax.fori_loop(0, steps, lambda i, v: v * 0.999 + tg.sin(v) * k, x)
    return make


def _python_for(steps: int):
    def make(k):
        def f(x):
            for _ in range(steps):
                x = x * 0.999 + tg.sin(x) * k
            return x
        return f
    return make


def compile_rows(quick: bool) -> list[Row]:
    x = tg.ones(16)
    runs = 3 if quick else 5
    med = lambda make: float(np.median([_first_call_seconds(make, x) for _ in range(runs)]))  # noqa: E731
    base = med(_fori(10))
    rows = [Row("CF1 compile fori_loop, 10 steps", base, "", None, "")]
    for steps in (1000, 100_000):
        rows.append(Row(f"CF1 compile fori_loop, {steps:,} steps", med(_fori(steps)),
                        "fori_loop 10 steps", base, "<= 1.5x"))
    for steps in (10, 100):  # unrolled: 1,000 steps take minutes to trace and compile
        rows.append(Row(f"CF1 compile Python for (unrolled), {steps:,} steps",
                        med(_python_for(steps)), "fori_loop 10 steps", base, ""))
    return rows


HIDDEN, BATCH, STEPS = 128, 32, 1000


def _rnn_data(seed=0):
    r = np.random.default_rng(seed)
    wh = (r.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)).astype(np.float32)
    wx = (r.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)).astype(np.float32)
    b = np.zeros(HIDDEN, np.float32)
    xs = r.standard_normal((STEPS, BATCH, HIDDEN)).astype(np.float32)
    h0 = np.zeros((BATCH, HIDDEN), np.float32)
    return wh, wx, b, xs, h0


def rnn_loss(params, h0, xs):
    wh, wx, b = params

    def cell(h, x):
        h = tg.tanh(h @ wh + x @ wx + b)
        return h, None
    h, _ = tg.lax.scan(cell, h0, xs)
    return (h * h).sum()


def _jax_rnn():
    import jax
    import jax.numpy as jnp

    def loss(params, h0, xs):
        wh, wx, b = params

        def cell(h, x):
            h = jnp.tanh(h @ wh + x @ wx + b)
            return h, None
        h, _ = jax.lax.scan(cell, h0, xs)
        return (h * h).sum()
    return jax, jax.jit(jax.value_and_grad(loss))


def _flushed(f):
    """`f` run with denormals flushed (XLA's default; tg.set_flush_denormal, PyTorch's
    switch): the RNN's gradient vanishes through the denormal range, where x86 is slow."""
    def run():
        tg.set_flush_denormal(True)
        try:
            return f()
        finally:
            tg.set_flush_denormal(False)
    return run


def _timed(fns, repeat: int) -> list[tuple[float, float]]:
    """(median wall seconds, median CPU seconds) per call of each fn, in turns (the
    machine may be shared: CPU time is what the process itself spent)."""
    side_by_side(fns, 1, 1)  # the shared warm-up
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for k, f in enumerate(fns):
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            walls[k].append(time.perf_counter() - t0)
            cpus[k].append(time.process_time() - c0)
    return [(float(np.median(w)), float(np.median(c))) for w, c in zip(walls, cpus)]


def rnn_rows(quick: bool) -> list[Row]:
    wh, wx, b, xs, h0 = _rnn_data()
    ours = tg.value_and_grad(rnn_loss)
    args = ((tg.from_numpy(wh), tg.from_numpy(wx), tg.from_numpy(b)), tg.from_numpy(h0),
            tg.from_numpy(xs))
    t0 = time.perf_counter()
    value, grads = ours(*args)
    cold = time.perf_counter() - t0
    fns = [_flushed(lambda: ours(*args)), lambda: ours(*args)]
    try:
        jax, jvg = _jax_rnn()
    except ImportError:
        jax = None
    if jax is not None:
        jargs = ((wh, wx, b), h0, xs)
        t0 = time.perf_counter()
        jv, jg = jvg(*jargs)
        jax.block_until_ready(jg)
        jax_cold = time.perf_counter() - t0
        check("CF2 RNN loss", value.item(), float(jv), rtol=1e-3)
        check("CF2 RNN grad wh", grads[0].numpy(), np.asarray(jg[0]), rtol=1e-2, atol=1e-3)
        fns.append(lambda: jax.block_until_ready(jvg(*jargs)))
    times = _timed(fns, 3 if quick else 7)
    name = f"CF2 RNN scan h{HIDDEN} b{BATCH} {STEPS} steps, value_and_grad"
    flushed, kept = f"{name}, denormals flushed", f"{name}, denormals kept (PyTorch's default)"
    if jax is None:
        return [Row(flushed, times[0][0], "", None, ""), Row(kept, times[1][0], "", None, ""),
                Row("CF2 RNN cold compile", cold, "", None, "")]
    cpu = lambda k: f"CPU time {times[k][1] / times[2][1]:.2f}x JAX's"  # noqa: E731
    return [Row(flushed, times[0][0], "JAX jit lax.scan (flushes)", times[2][0], "<= 0.8x",
                cpu(0)),
            Row(kept, times[1][0], "JAX jit lax.scan (flushes)", times[2][0], "", cpu(1)),
            Row("CF2 RNN cold compile (first call)", cold, "JAX jit first call", jax_cold,
                "<= 1.0x")]


def newton_sqrt(a):
    def keep_going(s):
        x, _ = s
        return tg.abs(x * x - a).max() > 1e-9 * a.max()

    def step(s):
        x, n = s
        return 0.5 * (x + a / x), n + 1
    return tg.lax.while_loop(keep_going, step, (a, tg.tensor(0)))


def _numpy_newton(a):
    x, n = a.copy(), 0
    while np.abs(x * x - a).max() > 1e-9 * a.max():
        x, n = 0.5 * (x + a / x), n + 1
    return x, n


def newton_rows(quick: bool) -> list[Row]:
    a = np.random.default_rng(1).uniform(0.5, 1e4, 10_000)
    ours = tg.compile(newton_sqrt)
    ta = tg.from_numpy(a)
    x, n = ours(ta)
    want, n_np = _numpy_newton(a)
    check("CF3 Newton sqrt", x.numpy(), np.sqrt(a), rtol=1e-8)
    assert n.item() == n_np, (n.item(), n_np)
    times = side_by_side([lambda: ours(ta), lambda: _numpy_newton(a)], 5 if quick else 21, 5)
    return [Row(f"CF3 Newton sqrt while_loop, 1e4 f64 ({n_np} steps)", times[0], "numpy loop",
                times[1], "")]


def control_flow_rows(quick: bool = False) -> list[Row]:
    return compile_rows(quick) + rnn_rows(quick) + newton_rows(quick)
