"""`python -m tapegrad demo`: the tutorials' two-layer network, compiled and eager, side by side.

The network is the one from the PyTorch tutorials ("Learning PyTorch with
Examples"): `relu(x @ w1) @ w2`, squared-error sum, plain SGD.  Each step runs
twice from the same weights' history: once as a `tg.value_and_grad` step
(traced once, differentiated into adjoint IR, compiled to native code) and
once as the tutorial's eager loop (`loss.backward()` on the tape).  The demo
prints both losses, the step's IR, how the eager backward passes ran, and the
median time per step of each.

The eager engine interprets an adjoint the first time it sees a tape's
structure and compiles it the second (runtime/execute.py): from the second
step on every backward should run native code.  A tape whose structure
changed from step to step (a lost cache hit) would run on the interpreter
every time, slowly but correctly, so the demo prints the tier's counters.
"""
from __future__ import annotations

import dataclasses
import statistics
import time

import tapegrad as tg
from .ir import print_function
from .runtime import execute

N, D_IN, H, D_OUT = 64, 1000, 100, 10
LEARNING_RATE = 1e-6
PRINT_EVERY = 50
ADJOINT_LINES = 12  # of the adjoint's body shown; the rest is summarised


def loss_fn(w1, w2, x, y):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    return (y_pred - y).pow(2).sum()


def sgd(w1, w2, g1, g2) -> None:
    """The tutorial's update, shared by both loops so only the gradient step differs."""
    with tg.no_grad():
        w1 -= LEARNING_RATE * g1
        w2 -= LEARNING_RATE * g2


def eager_step(w1, w2, x, y) -> float:
    """The tutorial's loop body: forward on the tape, backward, update, zero the grads."""
    loss = loss_fn(w1, w2, x, y)
    loss.backward()
    sgd(w1, w2, w1.grad, w2.grad)
    w1.grad.zero_()
    w2.grad.zero_()
    return loss.item()


def abbreviate(text: str, keep: int) -> str:
    """The first `keep` instructions of printed IR, a count of the rest, and the return."""
    lines = text.splitlines()
    body = lines[1:-2]
    if len(body) <= keep + 1:
        return text
    skipped = f"  ... {len(body) - keep} more instructions ..."
    return "\n".join(lines[:1 + keep] + [skipped] + lines[-2:])


def _milliseconds(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


def run_demo(steps: int = 500) -> int:
    tg.manual_seed(0)
    x, y = tg.randn(N, D_IN), tg.randn(N, D_OUT)
    w1_start, w2_start = tg.randn(D_IN, H), tg.randn(H, D_OUT)
    step = tg.value_and_grad(loss_fn, argnums=(0, 1))

    print(f"tapegrad demo: two-layer network N={N} D_in={D_IN} H={H} D_out={D_OUT}, "
          f"lr={LEARNING_RATE}, {steps} steps")
    print("each step runs as a compiled tg.value_and_grad step and as the eager tutorial loop\n")
    w1, w2 = w1_start.clone(), w2_start.clone()  # the compiled loop's weights
    v1, v2 = w1_start.clone().requires_grad_(), w2_start.clone().requires_grad_()  # eager's
    compiled_times, eager_times = [], []
    worst = 0.0
    tier_before = dataclasses.replace(execute.stats)
    print(f"{'step':>5}  {'loss (compiled)':>16}  {'loss (eager)':>14}")
    for t in range(steps):
        t0 = time.perf_counter()
        loss, (g1, g2) = step(w1, w2, x, y)
        sgd(w1, w2, g1, g2)
        t1 = time.perf_counter()
        eager_loss = eager_step(v1, v2, x, y)
        t2 = time.perf_counter()
        if t > 0:  # the first compiled step traces and compiles: reported apart
            compiled_times.append(t1 - t0)
            eager_times.append(t2 - t1)
        worst = max(worst, abs(loss.item() - eager_loss) / max(abs(eager_loss), 1e-30))
        if t % PRINT_EVERY == 0 or t == steps - 1:
            print(f"{t:>5}  {loss.item():>16.6g}  {eager_loss:>14.6g}")

    tier = {k: v - getattr(tier_before, k) for k, v in vars(execute.stats).items()}

    lowered = step.lower(w1, w2, x, y)
    print("\nThe step's forward IR (traced once, on abstract tensors):")
    print(print_function(lowered.ir, locs=False))  # locations would all point into tapegrad
    print("\nIts adjoint IR (the differentiation pass's output), abbreviated:")
    print(abbreviate(print_function(lowered.adjoint, locs=False), ADJOINT_LINES))

    info = step.cache_info()
    native = lowered.native()
    print(f"\ncompiled once: {info.misses} trace, {info.hits} cache hits, "
          f"{info.compile_seconds * 1e3:.0f} ms to trace, differentiate and compile "
          f"(code from {'the disk cache' if native.source == 'disk' else 'LLVM'})")
    print(f"eager backward: {tier['native']} of {steps} steps ran native code "
          f"({tier['interpreted']} interpreted, {tier['compiled']} compiled)")
    print(f"losses agree: largest relative difference compiled vs eager {worst:.1e}")
    if compiled_times:
        fast, slow = _milliseconds(compiled_times), _milliseconds(eager_times)
        print(f"time per step (median of {len(compiled_times)}): compiled {fast:.3f} ms, "
              f"eager {slow:.3f} ms ({slow / fast:.1f}x)")
    return 0
