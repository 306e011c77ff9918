"""The floor of a pure-Python eager tape, beside tapegrad eager and PyTorch eager.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TAPEGRAD_NUM_THREADS=1 \
        TAPEGRAD_REFS_SITE=/path/to/side-venv/lib/python3.11/site-packages \
        .venv/bin/python -m benchmarks.eager_floor [rounds]

Issue 17 asks W3's eager step (nine recorded primitives, `backward()`, `.item()`)
in 20 us.  What does Python itself allow?  `FloorTensor` is the least an eager tape
in Python can do: a slotted object whose operators call numpy once and keep the
operands for backward, a backward that walks those records in reverse and calls
numpy once per rule.  No dtypes or shapes checked, no promotion or broadcasting,
no source lines, no saved-value versions, no hooks, no IR: none of what tapegrad's
tape records for its errors, its printed graphs and its compiled adjoints.  Its
time is the floor any design built from Python objects per operation stands on;
the rows print the step split into its forward and its backward, thread CPU time,
the three in turns in one process (medians), each checked against the formula.
"""
from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

import tapegrad as tg

if os.environ.get("TAPEGRAD_REFS_SITE"):  # PyTorch from a side venv, after this venv
    sys.path.append(os.environ["TAPEGRAD_REFS_SITE"])
try:
    import torch
except ImportError:  # the floor and tapegrad alone
    torch = None


class FloorTensor:
    """A value and how it was made: (backward rule, operands), nothing else."""

    __slots__ = ("data", "rule", "args", "grad")

    def __init__(self, data, rule=None, args=()):
        self.data, self.rule, self.args, self.grad = data, rule, args, None

    def __add__(self, other):
        other = _wrap(other, self)
        return FloorTensor(np.add(self.data, other.data), _add_rule, (self, other))

    __radd__ = __add__

    def __mul__(self, other):
        other = _wrap(other, self)
        return FloorTensor(np.multiply(self.data, other.data), _mul_rule, (self, other))

    def __truediv__(self, other):
        return FloorTensor(np.divide(self.data, other.data), _div_rule, (self, other))

    def __pow__(self, k):
        return FloorTensor(np.power(self.data, k), _pow_rule, (self, k))

    def backward(self):
        """Reverse topological order of the records, one numpy call per rule."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:
            t, done = stack.pop()
            if done:
                order.append(t)
                continue
            if id(t) in seen or t.rule is None:
                continue
            seen.add(id(t))
            stack.append((t, True))
            stack.extend((a, False) for a in t.args if type(a) is FloorTensor)
        grads = {id(self): np.ones_like(self.data)}
        for t in reversed(order):
            for a, g in zip(t.args, t.rule(t, grads.pop(id(t)))):
                if type(a) is FloorTensor and g is not None:
                    if a.rule is None:  # a leaf
                        a.grad = g if a.grad is None else a.grad + g
                    else:
                        prev = grads.get(id(a))
                        grads[id(a)] = g if prev is None else prev + g


def _wrap(other, like):
    return other if type(other) is FloorTensor else FloorTensor(np.asarray(other, like.data.dtype))


def _add_rule(t, g):
    return g, g


def _mul_rule(t, g):
    a, b = t.args
    return g * b.data, g * a.data


def _div_rule(t, g):
    a, b = t.args
    q = g / b.data
    return q, -q * t.data


def _pow_rule(t, g):
    a, k = t.args
    return g * k * np.power(a.data, k - 1), None


def floor_sin(x):
    return FloorTensor(np.sin(x.data), lambda t, g: (g * np.cos(x.data),), (x,))


def floor_exp(x):
    return FloorTensor(np.exp(x.data), lambda t, g: (g * t.data,), (x,))


# ---------------------------------------------------------------- W3 three ways


def w3_forward(sin, exp, leaf):
    x = leaf()
    return x, x ** 2 * sin(x) + exp(x) / (1 + x * x)


def _sides():
    """name -> (forward, step): the same W3 body on each tape."""
    floor_leaf = lambda: FloorTensor(np.array(1.5, np.float32))  # noqa: E731
    sides = {
        "floor": (floor_leaf, floor_sin, floor_exp, lambda x: float(x.grad)),
        "tapegrad": (lambda: tg.tensor(1.5, requires_grad=True), tg.sin, tg.exp,
                     lambda x: x.grad.item()),
    }
    if torch is not None:
        sides["PyTorch"] = (lambda: torch.tensor(1.5, requires_grad=True), torch.sin,
                            torch.exp, lambda x: x.grad.item())
    out = {}
    for name, (leaf, sin, exp, item) in sides.items():
        def forward(leaf=leaf, sin=sin, exp=exp):
            return w3_forward(sin, exp, leaf)

        def step(forward=forward, item=item):
            x, y = forward()
            y.backward()
            return item(x)
        out[name] = (forward, step)
    return out


def expected() -> float:
    x = 1.5
    return 2 * x * math.sin(x) + x * x * math.cos(x) + \
        math.exp(x) * (1 + x * x - 2 * x) / (1 + x * x) ** 2


def table(rounds: int = 11, number: int = 2000, warm: int = 200) -> dict[str, tuple[float, float]]:
    """name -> (forward seconds, step seconds): thread CPU medians, sides in turns, after
    `warm` steps of each (tapegrad's adjoint native from its second use)."""
    sides = _sides()
    for name, (_, step) in sides.items():
        got = step()
        if abs(got - expected()) > 1e-5 * abs(expected()):
            raise AssertionError(f"{name}: W3 gradient {got}, expected {expected()}")
        for _ in range(warm):
            step()
    times = {name: ([], []) for name in sides}
    for _ in range(rounds):
        for name, fns in sides.items():
            for k, f in enumerate(fns):
                t0 = time.thread_time()
                for _ in range(number):
                    f()
                times[name][k].append((time.thread_time() - t0) / number)
    return {name: tuple(sorted(t)[len(t) // 2] for t in pair) for name, pair in times.items()}


def main(argv):
    rounds = int(argv[0]) if argv else 11
    print(f"W3 (9 recorded primitives, backward, item); PyTorch "
          f"{torch.__version__ if torch else 'not importable'}; thread CPU, medians of {rounds}")
    for name, (fwd, step) in table(rounds).items():
        print(f"{name:9s} forward {fwd * 1e6:7.1f} us   backward + item {(step - fwd) * 1e6:7.1f} us"
              f"   step {step * 1e6:7.1f} us")


if __name__ == "__main__":
    main(sys.argv[1:])
