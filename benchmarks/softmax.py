"""Rows for softmax, log_softmax and cross_entropy (one kernel each, PyTorch's CPU
arithmetic): compiled forward and gradient beside PyTorch eager, which runs the same
kernels.

    python benchmarks/run.py --only SM

CPU time of the calling thread (the kernels are single-threaded; so are PyTorch's at
these sizes on 2 cores, nearly), both sides in turns, medians.
"""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from benchmarks import references as refs
from benchmarks.native_math import cpu_side_by_side
from benchmarks.run import Row

torch = refs.torch
SHAPES = [(64, 10), (256, 1000), (32, 32768)]


def _ours(shape):
    F = tg.nn.functional
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal(shape).astype(np.float32))
    t = tg.tensor(rng.integers(0, shape[1], shape[0]))
    fwd = tg.compile(lambda x: tg.softmax(x, 1))
    grad = tg.grad(lambda x, t: F.cross_entropy(x, t))
    return x, t, (lambda: fwd(x)), (lambda: grad(x, t))


def _torchs(x, t):
    xt = torch.from_numpy(x.numpy()).requires_grad_()
    tt = torch.from_numpy(t.numpy())

    def grad():
        xt.grad = None
        torch.nn.functional.cross_entropy(xt, tt).backward()
        return xt.grad

    return (lambda: torch.softmax(xt.detach(), 1)), grad


def softmax_rows(quick: bool) -> list[Row]:
    rows = []
    for shape in SHAPES[:2] if quick else SHAPES:
        x, t, fwd, grad = _ours(shape)
        np.testing.assert_allclose(fwd().numpy(), tg.softmax(x, 1).numpy(), rtol=1e-6)
        number = 200 if shape[1] <= 10 else 10
        base = _torchs(x, t) if torch is not None and "PyTorch eager" not in refs.SKIP \
            else (None, None)
        for name, ours, theirs in (("softmax", fwd, base[0]),
                                   ("grad cross_entropy", grad, base[1])):
            fns = [ours] + ([theirs] if theirs is not None else [])
            times = cpu_side_by_side(fns, 5 if quick else 15, number)
            rows.append(Row(f"SM compiled {name} {shape[0]}x{shape[1]} f32", times[0],
                            "PyTorch eager", times[1] if len(times) > 1 else None, "",
                            "CPU time; the same kernels' arithmetic"))
    return rows
