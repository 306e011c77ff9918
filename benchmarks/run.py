"""tapegrad's performance workloads, each measured side by side with its baselines.

    .venv/bin/python benchmarks/run.py            # the full table (a few minutes)
    .venv/bin/python benchmarks/run.py --quick    # fewer repeats, small sizes only
    .venv/bin/python benchmarks/run.py --only W1,W5  # some workloads only

Every row times tapegrad and its baseline in the same run, interleaved (A, B,
A, B, ...), and reports medians; every result is checked against numpy before
it is timed.  Baselines: hand-written numpy gradients always, np.copyto of the
W2 array (the memory floor), PyTorch and JAX when installed (else skipped).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TAPEGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="tapegrad-bench-"))

import tapegrad as tg  # noqa: E402
from benchmarks import references as refs  # noqa: E402

F = tg.nn.functional


@dataclass
class Row:
    name: str
    ours: float  # seconds
    base_name: str
    base: float | None
    target: str  # "<= 0.8x" (ratio) or "<= 2 us" (absolute)
    note: str = ""

    def ratio(self) -> float | None:
        return None if self.base is None else self.ours / self.base

    def met(self) -> str:
        """'yes' / 'NO' against the target: "<= 0.8x" a ratio, "<= 2 us" a time."""
        if not self.target:
            return ""
        words = self.target.split()
        if words[1].endswith("x"):
            r = self.ratio()
            return "" if r is None else ("yes" if r <= float(words[1][:-1]) else "NO")
        limit = float(words[1]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[words[2]]
        return "yes" if self.ours <= limit else "NO"


#: How long each row's functions run, in turns, before any of them is timed.
WARMUP_SECONDS = 0.3


def side_by_side(fns: list[Callable], repeat: int, number: int) -> list[float]:
    """Median seconds per call of each fn, timed in turns so noise hits all alike."""
    times: list[list[float]] = [[] for _ in fns]
    # Warm up every side in turns for a while, not once: a process's first fraction of
    # a second here runs BLAS's threads (and the clock) slower, for numpy as for us.
    end = time.perf_counter() + WARMUP_SECONDS
    while True:
        for f in fns:
            f()
        if time.perf_counter() >= end:
            break
    for _ in range(repeat):
        for k, f in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            times[k].append((time.perf_counter() - t0) / number)
    return [statistics.median(t) for t in times]


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def check(label: str, got, want, rtol=1e-4, atol=1e-6, who="tapegrad") -> None:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - want) / (atol + rtol * np.abs(want)))
        raise AssertionError(f"{label}: {who} disagrees with numpy (worst {err:.3g} x tol)")


def check_refs(label: str, references: list, want, **tol) -> None:
    """Each PyTorch / JAX side's result against the numpy reference, before timing."""
    for r in references:
        got = r.result()
        if isinstance(want, (list, tuple)):
            for k, (a, b) in enumerate(zip(got, want)):
                check(f"{label} [{k}]", a, b, who=r.label, **tol)
        else:
            check(label, got, want, who=r.label, **tol)


def ref_rows(name: str, ours: float, references: list, times: list[float]) -> list[Row]:
    """tapegrad's time beside each PyTorch / JAX side measured in the same turns."""
    return [Row(name, ours, r.label, t, r.target) for r, t in zip(references, times)]


# ---------------------------------------------------------------- W1: two-layer network

def _w1_data(N, D_in, H, D_out, seed=0):
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return f(N, D_in), f(N, D_out), f(D_in, H), f(H, D_out)


def _loss(w1, w2, x, y):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    return (y_pred - y).pow(2).sum()


def _numpy_w1_grads(w1, w2, x, y):
    h = x @ w1
    hr = np.maximum(h, 0)
    d = hr @ w2 - y
    loss = np.einsum("ij,ij->", d, d)
    gyp = 2 * d
    gw2 = hr.T @ gyp
    gh = gyp @ w2.T
    gh[h < 0] = 0
    return loss, x.T @ gh, gw2


def w1_rows(label, sizes, repeat, number, target_compiled, eager_target=None, lr=1e-6):
    """lr: the tutorial's 1e-6 diverges at W1b's sizes; the work is the same at any lr."""
    x, y, w1_0, w2_0 = _w1_data(*sizes)
    lr = np.float32(lr)
    vg = tg.value_and_grad(_loss, argnums=(0, 1))
    (loss, (g1, g2)) = vg(w1_0, w2_0, x, y)
    nl, ng1, ng2 = _numpy_w1_grads(w1_0, w2_0, x, y)
    check(f"{label} loss", loss.item(), nl, rtol=1e-3)
    check(f"{label} grad w1", g1.numpy(), ng1, rtol=1e-3, atol=1e-2 * np.abs(ng1).max())
    check(f"{label} grad w2", g2.numpy(), ng2, rtol=1e-3, atol=1e-3 * np.abs(ng2).max())

    @tg.compile(donate_argnums=(0, 1))
    def sgd_step(w1, w2, x, y):
        """The whole step under one compile, as a JAX user jits the update (donating the
        old weights, as numpy's step updates them in place): the SGD update fuses with
        the gradient's gemm and accumulates into the weights' own arrays."""
        loss, (g1, g2) = vg(w1, w2, x, y)
        return loss, w1 - lr * g1, w2 - lr * g2

    w_c = [w1_0.copy(), w2_0.copy()]
    w_v = [w1_0.copy(), w2_0.copy()]
    w_n = [w1_0.copy(), w2_0.copy()]

    def compiled_step():
        loss, w1, w2 = sgd_step(w_c[0], w_c[1], x, y)
        w_c[0], w_c[1] = w1.numpy(), w2.numpy()
        return loss

    def vg_numpy_update_step():
        loss, (g1, g2) = vg(w_v[0], w_v[1], x, y)
        w_v[0] -= lr * g1.numpy()
        w_v[1] -= lr * g2.numpy()
        return loss

    def numpy_step():
        loss, g1, g2 = _numpy_w1_grads(w_n[0], w_n[1], x, y)
        w_n[0] -= lr * g1
        w_n[1] -= lr * g2
        return loss

    fns = [compiled_step, numpy_step, vg_numpy_update_step]
    w1_refs = refs.w1(x, y, w1_0.copy(), w2_0.copy(), lr, "<= 0.7x") \
        if eager_target is not None else []
    if eager_target is not None:
        xt, yt = tg.from_numpy(x), tg.from_numpy(y)
        w1t = tg.tensor(w1_0.copy(), requires_grad=True)
        w2t = tg.tensor(w2_0.copy(), requires_grad=True)

        def eager_step():  # exactly as the tutorial writes it
            nonlocal w1t, w2t
            y_pred = xt.mm(w1t).clamp(min=0).mm(w2t)
            loss = (y_pred - yt).pow(2).sum()
            loss.item()
            loss.backward()
            with tg.no_grad():
                w1t -= lr * w1t.grad
                w2t -= lr * w2t.grad
                w1t.grad.zero_()
                w2t.grad.zero_()

        fns.append(eager_step)
    n_ours = len(fns)
    times = side_by_side(fns + [r.fn for r in w1_refs], repeat, number)
    for w in (w_c, w_v):  # every side ran the same number of steps
        check(f"{label} weights after the run", w[1], w_n[1], rtol=1e-3, atol=1e-3)
    for r in w1_refs:
        check(f"{label} weights after the run", r.fn.weights()[1], w_n[1], rtol=1e-3,
              atol=1e-3, who=r.label)
    ref_times = times[n_ours:]
    rows = [Row(f"{label} compiled step", times[0], "numpy", times[1], target_compiled),
            Row(f"{label} value_and_grad + numpy update", times[2], "numpy", times[1], "")]
    if eager_target is not None:
        rows.append(Row(f"{label} eager loop (tutorial)", times[3], "numpy", times[1],
                        eager_target))
    for r, t in zip(w1_refs, ref_times):
        ours = times[3] if r.label == "PyTorch eager" else times[0]
        kind = "eager loop (tutorial)" if r.label == "PyTorch eager" else "compiled step"
        rows.append(Row(f"{label} {kind}", ours, r.label, t, r.target))
    return rows


# ---------------------------------------------------------------- W2: fused transcendental chain

def _w2_f(x):
    return (tg.tanh(x) * tg.sigmoid(x) * tg.exp(-x * x) + tg.log(1 + x * x)).sum()


def _w2_numpy(x):
    t, e = np.tanh(x), np.exp(-x * x)
    s = 1 / (1 + np.exp(-x))
    return (1 - t * t) * s * e + t * s * (1 - s) * e - 2 * x * t * s * e + 2 * x / (1 + x * x)


def w2_rows(n, repeat, number):
    x = np.random.default_rng(1).standard_normal(n).astype(np.float32)
    g = tg.grad(_w2_f)
    check(f"W2 n={n:.0e}", g(x).numpy(), _w2_numpy(x.astype(np.float64)), rtol=1e-4,
          atol=1e-5)
    out = np.empty_like(x)
    w2_refs = refs.w2(x, "<= 0.5x" if n == 10 ** 6 else "")
    check_refs(f"W2 n={n:.0e}", w2_refs, _w2_numpy(x.astype(np.float64)), rtol=1e-4, atol=1e-5)
    ours, copy, numpy_ref, *more = side_by_side(
        [lambda: g(x), lambda: np.copyto(out, x), lambda: _w2_numpy(x)]
        + [r.fn for r in w2_refs], repeat, number)
    return [Row(f"W2 grad, {n:.0e} f32", ours, "np.copyto", copy, "<= 2.0x"),
            Row(f"W2 grad, {n:.0e} f32", ours, "numpy grad", numpy_ref, "")] \
        + ref_rows(f"W2 grad, {n:.0e} f32", ours, w2_refs, more)


# ---------------------------------------------------------------- W3: scalar latency

def _w3_f(x):
    return x ** 2 * tg.sin(x) + tg.exp(x) / (1 + x * x)


def _w3_numpy(x):
    x = np.float32(x)
    q = 1 + x * x
    return 2 * x * np.sin(x) + x * x * np.cos(x) + np.exp(x) / q - np.exp(x) * 2 * x / (q * q)


def w3_rows(repeat, number):
    g = tg.grad(_w3_f)
    check("W3 compiled", g(1.5).item(), _w3_numpy(1.5), rtol=1e-5)

    def eager():
        x = tg.tensor(1.5, requires_grad=True)
        _w3_f(x).backward()
        return x.grad.item()

    check("W3 eager", eager(), _w3_numpy(1.5), rtol=1e-5)
    w3_refs = refs.w3(1.5)
    check_refs("W3", w3_refs, _w3_numpy(1.5), rtol=1e-5)
    ours, eag, numpy_ref, *more = side_by_side(
        [lambda: g(1.5), eager, lambda: _w3_numpy(1.5)] + [r.fn for r in w3_refs],
        repeat, number)
    return [Row("W3 grad at a scalar, compiled", ours, "numpy", numpy_ref, "<= 2 us"),
            Row("W3 grad at a scalar, eager", eag, "numpy", numpy_ref, "<= 20 us")] \
        + [Row("W3 grad at a scalar, " + ("eager" if r.label == "PyTorch eager" else "compiled"),
               eag if r.label == "PyTorch eager" else ours, r.label, t, r.target)
           for r, t in zip(w3_refs, more)]


# ---------------------------------------------------------------- W4: second order

def w4a_rows(repeat, number):
    x = np.random.default_rng(2).standard_normal(100_000)
    f = lambda x: (x ** 3 * tg.sin(x)).sum()  # noqa: E731
    d2 = tg.grad(lambda x: tg.grad(f)(x).sum())

    def numpy_ref(x=x):
        s, c = np.sin(x), np.cos(x)
        return 6 * x * s + 6 * x * x * c - x ** 3 * s

    check("W4a", d2(x).numpy(), numpy_ref(), rtol=1e-9, atol=1e-9)
    xt = tg.from_numpy(x)
    check("W4a eager", refs.w4a_eager(tg, xt).numpy(), numpy_ref(), rtol=1e-9, atol=1e-9)
    w4_refs = refs.w4a(x, "<= 0.2x", "<= 0.5x")
    check_refs("W4a", w4_refs, numpy_ref(), rtol=1e-9, atol=1e-9)
    ours, base, eag, *more = side_by_side(
        [lambda: d2(x), numpy_ref, lambda: refs.w4a_eager(tg, xt)] + [r.fn for r in w4_refs],
        repeat, number)
    return [Row("W4a grad(grad), 1e5 f64", ours, "numpy", base, "<= 0.03x"),
            Row("W4a eager: grad(create_graph) + grad, 1e5 f64", eag, "numpy", base, "")] \
        + [Row("W4a eager: grad(create_graph) + grad, 1e5 f64" if r.label == "PyTorch eager"
               else "W4a grad(grad), 1e5 f64", eag if r.label == "PyTorch eager" else ours,
               r.label, t, r.target) for r, t in zip(w4_refs, more)]


def w4b_rows(repeat, number):
    x, y, w1, w2 = _w1_data(64, 1000, 100, 10)
    v = np.random.default_rng(3).standard_normal(w1.shape).astype(np.float32)
    gl = tg.grad(_loss)
    hvp = tg.grad(lambda w1, w2, x, y, v: (gl(w1, w2, x, y) * v).sum())

    def numpy_ref():
        mask = (x @ w1) > 0
        dyp = (mask * (x @ v)) @ w2
        return x.T @ (mask * ((2 * dyp) @ w2.T))

    want = numpy_ref()
    tol = dict(rtol=1e-3, atol=1e-3 * np.abs(want).max())
    check("W4b", hvp(w1, w2, x, y, v).numpy(), want, **tol)
    targs = [tg.from_numpy(a) for a in (w1, w2, x, y, v)]
    check("W4b eager", refs.w4b_eager(tg, *targs).numpy(), want, **tol)
    w4_refs = refs.w4b(x, y, w1, w2, v, "", "<= 0.8x")
    check_refs("W4b", w4_refs, want, **tol)
    ours, base, eag, *more = side_by_side(
        [lambda: hvp(w1, w2, x, y, v), numpy_ref, lambda: refs.w4b_eager(tg, *targs)]
        + [r.fn for r in w4_refs], repeat, number)
    name, ename = "W4b Hessian-vector product (W1 loss, w1)", "W4b eager: double backward (HVP)"
    return [Row(name, ours, "numpy", base, "<= 0.9x"), Row(ename, eag, "numpy", base, "")] \
        + [Row(ename if r.label == "PyTorch eager" else name,
               eag if r.label == "PyTorch eager" else ours, r.label, t, r.target)
           for r, t in zip(w4_refs, more)]


# ---------------------------------------------------------------- W5: compile latency

_CHILD = """
import os, sys, time
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
import tapegrad as tg
t2 = time.perf_counter()
sys.path.insert(0, {root!r})
from benchmarks.run import _loss, _w1_data
x, y, w1, w2 = _w1_data(64, 1000, 100, 10)
vg = tg.value_and_grad(_loss, argnums=(0, 1))
t3 = time.perf_counter()
vg(w1, w2, x, y)
t4 = time.perf_counter()
print(t2 - t1, t4 - t3)
"""


def w5_rows(runs):
    cold, warm, imports = [], [], []
    code = _CHILD.format(root=ROOT)
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, TAPEGRAD_CACHE_DIR=cache)
            for bucket in (cold, warm):
                out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
                imports.append(float(out[0]))
                bucket.append(float(out[1]))
    med = statistics.median
    return [Row("W5 first call of W1 value_and_grad, empty cache", med(cold), "", None,
                "<= 100 ms"),
            Row("W5 first call of W1 value_and_grad, warm cache", med(warm), "", None,
                "<= 10 ms"),
            Row("W5 import tapegrad (after numpy)", med(imports), "", None, "<= 250 ms")]


# ---------------------------------------------------------------- W6: the tutorial's BCE

def w6_rows(repeat, number):
    rng = np.random.default_rng(7)
    x, y = np.ones(5, np.float32), np.zeros(3, np.float32)
    w, b = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    g = tg.grad(lambda x, w, b, y: F.binary_cross_entropy_with_logits(x @ w + b, y),
                argnums=(1, 2))

    def numpy_ref():
        z = x @ w + b
        dz = (1 / (1 + np.exp(-z)) - y) / z.size
        return np.outer(x, dz), dz

    gw, gb = g(x, w, b, y)
    nw, nb = numpy_ref()
    check("W6 grad w", gw.numpy(), nw, rtol=1e-5)
    check("W6 grad b", gb.numpy(), nb, rtol=1e-5)
    targs = [tg.from_numpy(x), tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True),
             tg.from_numpy(y)]
    check_refs("W6 eager", [refs.Ref("tapegrad", lambda: refs.w6_eager(tg, *targs))], [nw, nb],
               rtol=1e-5)
    w6_refs = refs.w6(x, w, b, y, "", "<= 0.8x")
    check_refs("W6", w6_refs, [nw, nb], rtol=1e-5)
    ours, base, eag, *more = side_by_side(
        [lambda: g(x, w, b, y), numpy_ref, lambda: refs.w6_eager(tg, *targs)]
        + [r.fn for r in w6_refs], repeat, number)
    name, ename = "W6 grad of BCE-with-logits (5x3)", "W6 eager: BCE step, backward()"
    return [Row(name, ours, "numpy", base, "<= 3 us"), Row(ename, eag, "numpy", base, "")] \
        + [Row(ename if r.label == "PyTorch eager" else name,
               eag if r.label == "PyTorch eager" else ours, r.label, t, r.target)
           for r, t in zip(w6_refs, more)]


# ---------------------------------------------------------------- seed 002's two programs

def seed002_rows(repeat, number):
    """Seed 002's `pow` create_graph program and its BCE step with its tensor creation,
    eager in both libraries (the same functions, references.seed002_*)."""
    g1, g2 = refs.seed002_pow(tg)
    check("seed 002 pow", [g1.item(), g2.item()], [6.0, 2.0], rtol=1e-6)

    def bce_check(lib_result, who):
        w, b = lib_result
        wn, bn = refs.to_numpy(w), refs.to_numpy(b)
        z = np.ones(5, np.float32) @ wn + bn
        dz = 1 / (1 + np.exp(-z)) / 3
        check("seed 002 BCE", refs.to_numpy(w.grad), np.outer(np.ones(5), dz), rtol=1e-5, who=who)
        check("seed 002 BCE", refs.to_numpy(b.grad), dz, rtol=1e-5, who=who)

    bce_check(refs.seed002_bce(tg), "tapegrad")
    pow_refs, bce_refs = refs.seed002("<= 0.8x")
    for r in pow_refs:
        check("seed 002 pow", r.result(), [[6.0], [2.0]], rtol=1e-6, who=r.label)
    for r in bce_refs:
        bce_check(r.fn(), r.label)
    rows = []
    for name, ours, more in (("seed 002 pow: grad(create_graph) + grad", lambda: refs.seed002_pow(tg),
                              pow_refs),
                             ("seed 002 BCE step with tensor creation", lambda: refs.seed002_bce(tg),
                              bce_refs)):
        t, *ts = side_by_side([ours] + [r.fn for r in more], repeat, number)
        rows += [Row(name, t, "", None, "")] if not more else ref_rows(name, t, more, ts)
    return rows


# ---------------------------------------------------------------- the table

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import llvmlite
    return (f"{cpu}, {cores} cores usable; Python {platform.python_version()}, numpy "
            f"{np.__version__}, llvmlite {llvmlite.__version__}; "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")


def print_table(rows: list[Row]) -> None:
    head = ("workload", "tapegrad", "baseline", "base time", "ratio", "target", "met")
    lines = [(r.name, fmt(r.ours), r.base_name or "-", fmt(r.base),
              "-" if r.ratio() is None else f"{r.ratio():.3g}x", r.target or "-", r.met() or "-")
             for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    for k, line in enumerate([head] + lines):
        print(" | ".join(str(x).ljust(w) for x, w in zip(line, widths)))
        if k == 0:
            print("-|-".join("-" * w for w in widths))


def optional_frameworks() -> str:
    return refs.installed()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the big sizes")
    ap.add_argument("--only", default="", metavar="W1,W3",
                    help="comma-separated workloads to run (default: all)")
    ap.add_argument("--skip-refs", default="", metavar="torch.compile",
                    help="comma-separated baselines to leave out (PyTorch eager, JAX jit, "
                         "torch.compile)")
    args = ap.parse_args(argv)
    refs.SKIP.update(w.strip() for w in args.skip_refs.split(",") if w.strip())
    q = args.quick
    only = {w.strip().upper() for w in args.only.split(",") if w.strip()}

    def want(workload: str) -> bool:
        return not only or workload in only
    rep = 5 if q else 21
    print(f"machine: {machine()}")
    print(f"optional baselines installed: {optional_frameworks()}")
    rows: list[Row] = []
    if want("W1"):
        rows += w1_rows("W1", (64, 1000, 100, 10), rep, 5 if q else 20, "<= 0.8x", "<= 1.5x")
    if want("W1B") and not q:
        rows += w1_rows("W1b", (512, 4096, 1024, 10), 9, 1, "<= 1.05x", lr=1e-9)
    for n in ((10 ** 6,) if q else (10 ** 6, 10 ** 7)) if want("W2") else ():
        rows += w2_rows(n, rep, 1 if n > 10 ** 6 else 5)
    if want("W3"):
        rows += w3_rows(rep, 200 if q else 2000)
    if want("W4A"):
        rows += w4a_rows(rep, 5 if q else 20)
    if want("W4B"):
        rows += w4b_rows(rep, 5 if q else 20)
    if want("W5"):
        rows += w5_rows(1 if q else 5)
    if want("W6"):
        rows += w6_rows(rep, 200 if q else 2000)
    if want("SEED002"):
        rows += seed002_rows(rep, 100 if q else 1000)
    if want("CF"):  # control flow: benchmarks/control_flow.py (imports this module)
        from benchmarks.control_flow import control_flow_rows
        rows += control_flow_rows(q)
    if want("NN"):  # benchmarks/nn_optim.py: nn + optim three ways beside PyTorch and JAX
        from benchmarks.nn_optim import nn_rows
        rows += nn_rows(rep, 5 if q else 20)
    if "DIST" in only:  # Dask clusters, minutes: only when named (benchmarks/data_parallel.py)
        from benchmarks.data_parallel import dist_rows
        rows += dist_rows(q)
    if want("RNG") or want("W2T"):  # benchmarks/native_math.py: random draws, W2 threads pinned
        from benchmarks import native_math
        rows += native_math.rng_rows(q) if want("RNG") else []
        rows += native_math.w2_thread_rows(q) if want("W2T") else []
    if want("POOL"):  # benchmarks/workerpool.py: the native worker pool beside JAX jit
        from benchmarks.workerpool import pool_rows
        rows += pool_rows(q)
    if want("SM"):  # benchmarks/softmax.py: softmax / cross_entropy kernels
        from benchmarks.softmax import softmax_rows
        rows += softmax_rows(q)
    if want("T"):  # the transforms beyond grad (issue 19)
        from benchmarks.transforms import transforms_rows
        rows += transforms_rows(q)
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
