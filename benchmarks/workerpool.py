"""Rows for the native worker pool (issue 17: runtime/native_pool.py, codegen/pool_module.py).

    python benchmarks/run.py --only POOL

All in one process, wall clock, every side in turns (run.side_by_side), medians:
W2 at 1e6 and W4a (compiled) with the pool splitting their loops, the same code kept
on one thread (the pool's threshold raised for the call: the same object code), and
JAX jit with its default threads beside them; a size sweep of W2 across the
threshold (does splitting ever make a small call slower?); and the hand-over cost
itself: a loop of 256 floats forced to split, against the same loop unsplit.
"""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from benchmarks import references as refs
from benchmarks.run import Row, _w2_f, _w2_numpy, check, side_by_side
from tapegrad.runtime import native_pool

jax, jnp = refs.jax, refs.jnp
NEVER = 1 << 62


def _kept_on(min_work: int, f):
    """f with the pool's threshold set to `min_work` for the call (both sides of a
    comparison pay the same two writes)."""
    def call():
        native_pool.configure(min_work=min_work)
        f()
    return call


def _threaded_and_alone(f):
    return [_kept_on(native_pool.MIN_WORK, f), _kept_on(NEVER, f)]


def _w2(n):
    x = np.random.default_rng(1).standard_normal(n).astype(np.float32)
    g = tg.grad(_w2_f)
    want = _w2_numpy(x.astype(np.float64))
    check(f"POOL W2 n={n}", g(x).numpy(), want, rtol=1e-4, atol=1e-5)
    refs_ = []
    if jax is not None:
        gj = jax.jit(jax.grad(lambda x: jnp.sum(jnp.tanh(x) * jax.nn.sigmoid(x)
                                                * jnp.exp(-x * x) + jnp.log(1 + x * x))))
        xj = jnp.asarray(x)
        check(f"POOL W2 n={n}", np.asarray(gj(xj)), want, rtol=1e-4, atol=1e-5, who="JAX")
        refs_.append(lambda: gj(xj).block_until_ready())
    return (lambda: g(x)), refs_


def _w4a():
    x = np.random.default_rng(2).standard_normal(100_000)
    f = lambda x: (x ** 3 * tg.sin(x)).sum()  # noqa: E731
    d2 = tg.grad(lambda x: tg.grad(f)(x).sum())
    s, c = np.sin(x), np.cos(x)
    want = 6 * x * s + 6 * x * x * c - x ** 3 * s
    check("POOL W4a", d2(x).numpy(), want, rtol=1e-9, atol=1e-9)
    refs_ = []
    if jax is not None:
        fj = lambda x: jnp.sum(x ** 3 * jnp.sin(x))  # noqa: E731
        dj = jax.jit(jax.grad(lambda x: jnp.sum(jax.grad(fj)(x))))
        xj = jnp.asarray(x)
        check("POOL W4a", np.asarray(dj(xj)), want, rtol=1e-9, atol=1e-9, who="JAX")
        refs_.append(lambda: dj(xj).block_until_ready())
    return (lambda: d2(x)), refs_


def _handover():
    """A 256-float loop compiled with a part function (emit.PARALLEL_WORK lowered for it)."""
    from tapegrad.codegen import emit
    from tapegrad.ir import Builder, dtypes, tensor_type
    from tapegrad.runtime.compiler import compile_function
    saved, emit.PARALLEL_WORK = emit.PARALLEL_WORK, 1
    try:
        b = Builder("pool_handover")
        x = b.param(tensor_type(dtypes.f32, (256,)), "x")
        cf = compile_function(b.build(b.exp(x)))
    finally:
        emit.PARALLEL_WORK = saved
    xs = np.ones(256, np.float32)
    return lambda: cf(xs)


def pool_rows(quick: bool) -> list[Row]:
    if native_pool.address() is None:
        return []
    rep = 7 if quick else 31
    rows = []
    for label, (ours, theirs), number, target in (
            ("W2 grad 1e6 f32", _w2(10 ** 6), 5, "<= 0.5x"),
            ("W4a grad(grad) 1e5 f64", _w4a(), 10, "<= 0.2x")):
        times = side_by_side(_threaded_and_alone(ours) + theirs, rep, number)
        split, alone = times[0], times[1]
        rows.append(Row(f"POOL {label}, {native_pool.threads()} threads", split,
                        "one thread", alone, ""))
        if theirs:
            rows.append(Row(f"POOL {label}, {native_pool.threads()} threads", split,
                            "JAX jit", times[2], target))
            rows.append(Row(f"POOL {label}, one thread", alone, "JAX jit", times[2], ""))
    for n in (10 ** 3, 10 ** 4, 10 ** 5) if not quick else (10 ** 4,):
        ours, _ = _w2(n)
        split, alone = side_by_side(_threaded_and_alone(ours), rep, max(1, 200_000 // n))
        rows.append(Row(f"POOL W2 grad {n:.0e} f32, threshold {native_pool.MIN_WORK}", split,
                        "never split", alone, ""))
    forced, alone = side_by_side([_kept_on(0, _handover()), _kept_on(NEVER, _handover())],
                                 rep, 200)
    rows.append(Row("POOL hand-over: 256-float loop split (difference = its cost)", forced,
                    "unsplit", alone, ""))
    native_pool.configure(min_work=native_pool.MIN_WORK)
    return rows


def main(rounds: int = 101) -> None:
    """`python -m benchmarks.workerpool [rounds]`: the headline comparisons with many rounds,
    median and minimum of each side (on a shared machine the minimum is the closest to
    what a quiet one gives; the median says what this one gave)."""
    import os
    import statistics
    import time
    for label, (ours, theirs), number in (("W2 grad 1e6 f32", _w2(10 ** 6), 3),
                                          ("W4a grad(grad) 1e5 f64", _w4a(), 10)):
        fns = {f"tapegrad, {native_pool.threads()} threads": _threaded_and_alone(ours)[0],
               "tapegrad, one thread": _threaded_and_alone(ours)[1]}
        if theirs:
            fns["JAX jit"] = theirs[0]
        side_by_side(list(fns.values()), 1, number)  # warm up in turns
        times = {k: [] for k in fns}
        for _ in range(rounds):
            for k, f in fns.items():
                t0 = time.perf_counter()
                for _ in range(number):
                    f()
                times[k].append((time.perf_counter() - t0) / number)
        ref = times.get("JAX jit")
        for k, v in times.items():
            line = f"{label:24s} {k:22s} median {statistics.median(v) * 1e6:8.1f} us  " \
                   f"min {min(v) * 1e6:8.1f} us"
            if ref:
                line += (f"  / JAX: median {statistics.median(v) / statistics.median(ref):.3f}x"
                         f"  min {min(v) / min(ref):.3f}x")
            print(line)
    print("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    native_pool.configure(min_work=native_pool.MIN_WORK)


if __name__ == "__main__":
    import sys
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 101)
