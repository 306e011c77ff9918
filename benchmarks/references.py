"""The PyTorch and JAX sides of benchmarks/run.py's workloads (issue 17's anchors).

Each function takes the workload's numpy inputs and returns `Ref`s: a label
("PyTorch eager", "JAX jit", "torch.compile"), a callable that runs one step the
way a user of that library writes it, and the target tapegrad's row has against
it.  A library that does not import gives no Refs (its rows are skipped, and the
table's header says so); nothing here is a dependency of tapegrad.  Every
callable's result is checked against the numpy reference by run.py before it is
timed (`Ref.result` turns it into numpy).

PyTorch eager sits beside tapegrad's eager rows; JAX jit and torch.compile beside
its compiled rows.  torch.compile compiles through inductor (a C++ compiler, tens
of seconds per workload here): the first call happens here, outside the timing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

# PyTorch's OpenMP workers spin after every parallel call by default (libgomp's active
# wait), and in turns with tapegrad they take the cores its native pool and OpenBLAS
# threads run on: W2's compiled row read 970 us beside them and 536 us with passive
# waiting, while JAX jit's and torch.compile's own W2 times did not move (1.58/1.60 and
# 1.69/1.59 ms).  Read by libgomp when torch loads it, so set before the import; a value
# the caller exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None
try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)  # W4a is float64, as tapegrad's row
except ImportError:  # pragma: no cover - depends on the machine
    jax = jnp = None


@dataclass
class Ref:
    label: str
    fn: Callable[[], object]
    target: str = ""  # tapegrad's target against this baseline ("<= 0.8x"), if any

    def result(self):
        return to_numpy(self.fn())


def to_numpy(out):
    """A (nested) result of either library as numpy arrays."""
    if isinstance(out, (tuple, list)):
        return [to_numpy(o) for o in out]
    if torch is not None and isinstance(out, torch.Tensor):
        return out.detach().numpy()
    return np.asarray(out)


def installed() -> str:
    found = [n for n, m in (("torch " + torch.__version__ if torch else "", torch),
                            ("jax " + jax.__version__ if jax else "", jax)) if m is not None]
    return ", ".join(found) if found else "none (PyTorch and JAX rows skipped)"


#: labels run.py's --skip-refs leaves out (torch.compile's inductor takes tens of seconds
#: per workload: skipping it makes a quick eager comparison quick)
SKIP: set[str] = set()


def _add(refs: list, ref: Ref) -> None:
    if ref.label not in SKIP:
        refs.append(ref)


def _compiled(fn):
    """torch.compile of fn (inductor, no graph breaks allowed: a fallback would time eager)."""
    return torch.compile(fn, fullgraph=True)


# ---------------------------------------------------------------- W1: two-layer network


def w1(x, y, w1_0, w2_0, lr, eager_target="", compiled_target=""):
    """The SGD step: JAX jit of value_and_grad + update (donated weights), torch.compile
    of torch.func's, and PyTorch's tutorial loop verbatim.  Each keeps its own weights,
    started from w1_0, w2_0; `weights()` of each Ref's holder gives them back."""
    refs = []
    if jax is not None:
        def loss(w1, w2, x, y):
            return jnp.sum((jnp.maximum(x @ w1, 0) @ w2 - y) ** 2)

        def step(w1, w2, x, y):
            val, (g1, g2) = jax.value_and_grad(loss, argnums=(0, 1))(w1, w2, x, y)
            return val, w1 - lr * g1, w2 - lr * g2
        step = jax.jit(step, donate_argnums=(0, 1))
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        state = [jnp.asarray(w1_0), jnp.asarray(w2_0)]

        def jax_step():
            val, state[0], state[1] = step(state[0], state[1], xj, yj)
            return val.block_until_ready()
        jax_step.weights = lambda: [np.asarray(w) for w in state]
        _add(refs, Ref("JAX jit", jax_step, compiled_target))
    if torch is not None:
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def tloss(w1, w2):
            return (xt.mm(w1).clamp(min=0).mm(w2) - yt).pow(2).sum()

        tc_state = [torch.tensor(w1_0), torch.tensor(w2_0)]

        @_compiled
        def tc(w1, w2):
            (g1, g2), val = torch.func.grad_and_value(tloss, argnums=(0, 1))(w1, w2)
            return val, w1 - lr * g1, w2 - lr * g2

        def torch_compiled_step():
            val, tc_state[0], tc_state[1] = tc(tc_state[0], tc_state[1])
            return val
        torch_compiled_step.weights = lambda: [w.numpy() for w in tc_state]
        w1t = torch.tensor(w1_0, requires_grad=True)
        w2t = torch.tensor(w2_0, requires_grad=True)

        def torch_eager_step():  # the tutorial, as run.py's tapegrad eager step
            y_pred = xt.mm(w1t).clamp(min=0).mm(w2t)
            loss = (y_pred - yt).pow(2).sum()
            loss.item()
            loss.backward()
            with torch.no_grad():
                w1t.sub_(lr * w1t.grad)
                w2t.sub_(lr * w2t.grad)
                w1t.grad.zero_()
                w2t.grad.zero_()
        torch_eager_step.weights = lambda: [w1t.detach().numpy(), w2t.detach().numpy()]
        _add(refs, Ref("torch.compile", torch_compiled_step, ""))
        _add(refs, Ref("PyTorch eager", torch_eager_step, eager_target))
    return refs


# ---------------------------------------------------------------- W2: fused transcendental chain


def w2(x, target=""):
    refs = []
    if jax is not None:
        g = jax.jit(jax.grad(lambda x: jnp.sum(jnp.tanh(x) * jax.nn.sigmoid(x) * jnp.exp(-x * x)
                                               + jnp.log(1 + x * x))))
        xj = jnp.asarray(x)
        _add(refs, Ref("JAX jit", lambda: g(xj).block_until_ready(), target))
    if torch is not None:
        def f(x):
            return (torch.tanh(x) * torch.sigmoid(x) * torch.exp(-x * x)
                    + torch.log(1 + x * x)).sum()
        tg_ = _compiled(torch.func.grad(f))
        xt = torch.from_numpy(x)
        _add(refs, Ref("torch.compile", lambda: tg_(xt)))
    return refs


# ---------------------------------------------------------------- W3: scalar latency


def w3(x: float, eager_target=""):
    refs = []
    if jax is not None:
        g = jax.jit(jax.grad(lambda x: x ** 2 * jnp.sin(x) + jnp.exp(x) / (1 + x * x)))
        xj = np.float32(x)
        _add(refs, Ref("JAX jit", lambda: g(xj).item()))
    if torch is not None:
        def f(x):
            return x ** 2 * torch.sin(x) + torch.exp(x) / (1 + x * x)
        tg_ = _compiled(torch.func.grad(f))
        xc = torch.tensor(x)
        _add(refs, Ref("torch.compile", lambda: tg_(xc).item()))

        def eager():  # as run.py's tapegrad eager W3
            t = torch.tensor(x, requires_grad=True)
            f(t).backward()
            return t.grad.item()
        _add(refs, Ref("PyTorch eager", eager, eager_target))
    return refs


# ---------------------------------------------------------------- W4: second order


def w4a(x, compiled_target="", eager_target=""):
    """Compiled: the elementwise second derivative of sum(x**3 sin x) as a transform of a
    transform; eager: `grad(create_graph=True)` then `grad`, as a PyTorch user writes it."""
    refs = []
    if jax is not None:
        f = lambda x: jnp.sum(x ** 3 * jnp.sin(x))  # noqa: E731
        d2 = jax.jit(jax.grad(lambda x: jnp.sum(jax.grad(f)(x))))
        xj = jnp.asarray(x)
        _add(refs, Ref("JAX jit", lambda: d2(xj).block_until_ready(), compiled_target))
    if torch is not None:
        def tf(x):
            return (x ** 3 * torch.sin(x)).sum()
        tc = _compiled(torch.func.grad(lambda x: torch.func.grad(tf)(x).sum()))
        xt = torch.from_numpy(x)
        _add(refs, Ref("torch.compile", lambda: tc(xt)))
        _add(refs, Ref("PyTorch eager", lambda: w4a_eager(torch, xt), eager_target))
    return refs


def w4a_eager(lib, x0):
    """One W4a eager step in PyTorch's API (lib: torch, or tapegrad)."""
    x = x0.detach().requires_grad_()
    y = (x ** 3 * lib.sin(x)).sum()
    (g,) = lib.autograd.grad(y, x, create_graph=True)
    (h,) = lib.autograd.grad(g.sum(), x)
    return h


def w4b(x, y, w1, w2, v, compiled_target="", eager_target=""):
    refs = []
    if jax is not None:
        def loss(w1, w2, x, y):
            return jnp.sum((jnp.maximum(x @ w1, 0) @ w2 - y) ** 2)
        gl = jax.grad(loss)
        hvp = jax.jit(jax.grad(lambda w1, w2, x, y, v: jnp.sum(gl(w1, w2, x, y) * v)))
        args = [jnp.asarray(a) for a in (w1, w2, x, y, v)]
        _add(refs, Ref("JAX jit", lambda: hvp(*args).block_until_ready(), compiled_target))
    if torch is not None:
        def tloss(w1, w2, x, y):
            return (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        tgl = torch.func.grad(tloss)
        thvp = _compiled(torch.func.grad(lambda w1, w2, x, y, v: (tgl(w1, w2, x, y) * v).sum()))
        targs = [torch.from_numpy(a) for a in (w1, w2, x, y, v)]
        _add(refs, Ref("torch.compile", lambda: thvp(*targs)))
        _add(refs, Ref("PyTorch eager", lambda: w4b_eager(torch, *targs), eager_target))
    return refs


def w4b_eager(lib, w1_0, w2, x, y, v):
    """Double backward: the HVP of W1's loss w.r.t. w1 with `grad(create_graph=True)`."""
    w1 = w1_0.detach().requires_grad_()
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    (g,) = lib.autograd.grad(loss, w1, create_graph=True)
    (h,) = lib.autograd.grad((g * v).sum(), w1)
    return h


# ---------------------------------------------------------------- W6: the tutorial's BCE


def w6(x, w, b, y, compiled_target="", eager_target=""):
    refs = []
    if jax is not None:
        def bce(x, w, b, y):
            z = x @ w + b
            return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))
        g = jax.jit(jax.grad(bce, argnums=(1, 2)))
        args = [jnp.asarray(a) for a in (x, w, b, y)]

        def jax_call():
            gw, gb = g(*args)
            return gw.block_until_ready(), gb
        _add(refs, Ref("JAX jit", jax_call, compiled_target))
    if torch is not None:
        F = torch.nn.functional
        tgr = _compiled(torch.func.grad(
            lambda w, b, x, y: F.binary_cross_entropy_with_logits(x @ w + b, y), argnums=(0, 1)))
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        wc, bc = torch.from_numpy(w), torch.from_numpy(b)
        _add(refs, Ref("torch.compile", lambda: tgr(wc, bc, xt, yt)))
        wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        _add(refs, Ref("PyTorch eager", lambda: w6_eager(torch, xt, wt, bt, yt), eager_target))
    return refs


def w6_eager(lib, x, w, b, y):
    """The tutorial's step (seed 002's first cell) on existing tensors: forward, backward."""
    w.grad = b.grad = None
    z = lib.matmul(x, w) + b
    loss = lib.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    return w.grad, b.grad


# ---------------------------------------------------------------- seed 002's programs


def seed002_pow(lib):
    """`y = pow(x, 2)`, `grad(y, x, create_graph=True)`, then `grad` again, x = [3.]."""
    x = lib.tensor([3.0], requires_grad=True)
    y = lib.pow(x, 2)
    grad_1 = lib.autograd.grad(y, x, create_graph=True)
    grad_2 = lib.autograd.grad(grad_1[0], x)
    return grad_1[0], grad_2[0]


def seed002_bce(lib):
    """Seed 002's first cell with its tensor creation (no reseeding: the values are
    checked against the formula on the drawn w and b)."""
    x = lib.ones(5)
    y = lib.zeros(3)
    w = lib.randn(5, 3, requires_grad=True)
    b = lib.randn(3, requires_grad=True)
    z = lib.matmul(x, w) + b
    loss = lib.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    return w, b


def seed002(target=""):
    """PyTorch eager for both programs (tapegrad runs the same functions)."""
    if torch is None:
        return [], []
    pow_refs, bce_refs = [], []
    _add(pow_refs, Ref("PyTorch eager", lambda: seed002_pow(torch), target))
    _add(bce_refs, Ref("PyTorch eager", lambda: seed002_bce(torch), target))
    return pow_refs, bce_refs
