"""Every public differentiable op, checked against central finite differences.

One table row per case: the op, its inputs (float64, requiring grad) and the
highest order checked.  `tg.autograd.gradcheck` compares first derivatives;
second order checks gradcheck of a function returning
`autograd.grad(<f, w>, xs, create_graph=True)` (so the create_graph replay of
the adjoint is itself differentiated), third order one more level for the
unary ops.  Weights `w` are random so that a wrong rule cannot hide behind a
plain `sum`.

`test_every_public_op_has_a_row` fails when a public op is added to `tg`,
`tg.nn.functional` or the Tensor methods without a row here (or an explicit
entry among the non-differentiable names).
"""
from __future__ import annotations

import types
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.tracer.ops import METHODS

grad = tg.autograd.grad
gradcheck = tg.autograd.gradcheck


# ---------------------------------------------------------------- input specs


def U(*shape, lo=-1.0, hi=1.0):
    """Uniform values."""
    return ("uniform", shape, lo, hi)


def Pos(*shape, lo=0.4, hi=1.6):
    """Positive values (log, sqrt, pow with a real exponent)."""
    return ("uniform", shape, lo, hi)


def K(*shape):
    """Values at least 0.2 away from 0 (abs, relu, sign kinks)."""
    return ("kinked", shape, 0.2, 1.0)


def Prob(*shape):
    """Probabilities away from 0 and 1."""
    return ("uniform", shape, 0.15, 0.85)


def _make(spec, rng):
    kind, shape, lo, hi = spec
    a = rng.uniform(lo, hi, size=shape)
    if kind == "kinked":
        a = a * rng.choice([-1.0, 1.0], size=shape)
    return tg.tensor(np.asarray(a, np.float64), requires_grad=True)


@dataclass
class Case:
    name: str                 # the public name (tg.*, F.* or a Tensor method) covered
    fn: Callable
    specs: tuple
    order: int = 2            # highest derivative order gradcheck'ed
    id: str = ""
    extra: dict = field(default_factory=dict)

    def inputs(self):
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return tuple(_make(s, rng) for s in self.specs)


CASES: list[Case] = []


def case(name, fn, *specs, order=2, tag=""):
    c = Case(name, fn, specs, order)
    if "float32" in tag:  # finite differences of float32 values need a larger step
        c.extra = dict(eps=1e-3, atol=1e-4, rtol=1e-3)
    c.id = f"{name}-{tag or len([k for k in CASES if k.name == name])}"
    CASES.append(c)


def t_const(a, dtype=None):
    return tg.tensor(np.asarray(a), dtype=dtype)


# ---------------------------------------------------------------- unary (third order)

UNARY = {
    # name: (function, input spec for shapes (2, 3) / (), analytic f', f'', f''')
    "exp": (tg.exp, Pos, lambda x: np.exp(x), lambda x: np.exp(x), lambda x: np.exp(x)),
    "log": (tg.log, Pos, lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
    "log1p": (tg.log1p, U, lambda x: 1 / (1 + x), lambda x: -1 / (1 + x)**2,
              lambda x: 2 / (1 + x)**3),
    "sqrt": (tg.sqrt, Pos, lambda x: 0.5 * x**-0.5, lambda x: -0.25 * x**-1.5,
             lambda x: 0.375 * x**-2.5),
    "sin": (tg.sin, U, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    "cos": (tg.cos, U, lambda x: -np.sin(x), lambda x: -np.cos(x), np.sin),
    "tanh": (tg.tanh, U, lambda x: 1 - np.tanh(x)**2,
             lambda x: -2 * np.tanh(x) * (1 - np.tanh(x)**2),
             lambda x: (1 - np.tanh(x)**2) * (6 * np.tanh(x)**2 - 2)),
    "sigmoid": (tg.sigmoid, U, lambda x: _sig(x) * (1 - _sig(x)),
                lambda x: _sig(x) * (1 - _sig(x)) * (1 - 2 * _sig(x)),
                lambda x: _sig(x) * (1 - _sig(x)) * (1 - 6 * _sig(x) + 6 * _sig(x)**2)),
    "relu": (tg.relu, K, lambda x: (x > 0) * 1.0, lambda x: 0 * x, lambda x: 0 * x),
    "abs": (tg.abs, K, np.sign, lambda x: 0 * x, lambda x: 0 * x),
    "neg": (tg.neg, U, lambda x: -1 + 0 * x, lambda x: 0 * x, lambda x: 0 * x),
    "reciprocal": (tg.reciprocal, Pos, lambda x: -1 / x**2, lambda x: 2 / x**3,
                   lambda x: -6 / x**4),
}


def _sig(x):
    return 1 / (1 + np.exp(-x))


for _name, (_f, _spec, *_) in UNARY.items():
    case(_name, _f, _spec(2, 3), order=3, tag="2x3")
    case(_name, _f, _spec(), order=3, tag="0d")
case("negative", tg.negative, U(3), order=3)
case("sign", lambda x: tg.sign(x) * x, K(4), order=3)  # sign's own derivative is 0
case("sigmoid", lambda x: x.sigmoid(), U(1, 3), order=3, tag="method")
case("exp", lambda x: x.exp(), U(3, 1), order=3, tag="method")

# ---------------------------------------------------------------- pow

case("pow", lambda x, y: tg.pow(x, y), Pos(2, 3), U(2, 3), tag="tensor-exp")
case("pow", lambda x, y: x ** y, Pos(2, 3), U(3), tag="tensor-exp-broadcast")
case("pow", lambda x: x ** 3, U(2, 3), order=3, tag="int-exp")
case("pow", lambda x: x ** 2.5, Pos(4), order=3, tag="real-exp")
case("pow", lambda x: x ** -1.5, Pos(), order=3, tag="neg-exp-0d")
case("pow", lambda x: x.pow(0.5), Pos(3), tag="method")
case("pow", lambda y: 2.0 ** y, U(2, 3), order=3, tag="scalar-base")
case("pow", lambda y: tg.pow(1.7, y), U(), tag="scalar-base-fn")

# ---------------------------------------------------------------- binary arithmetic

BROADCAST_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)),
                    ((4, 1, 3), (2, 1)), ((1,), ())]

for _name, _f in [("add", tg.add), ("sub", tg.sub), ("mul", tg.mul), ("div", tg.div)]:
    for _a, _b in BROADCAST_SHAPES:
        _bspec = Pos(*_b) if _name == "div" else U(*_b)
        case(_name, _f, U(*_a), _bspec, tag=f"{_a}-{_b}")
case("add", lambda x: x + 2.5, U(2, 3), tag="scalar-right")
case("add", lambda x: 2.5 + x, U(2, 3), tag="scalar-left")
case("add", lambda x, y: tg.add(x, y, alpha=-2.0), U(2, 3), U(3), tag="alpha")
case("sub", lambda x: x - 2.5, U(2, 3), tag="scalar-right")
case("sub", lambda x: 2.5 - x, U(2, 3), tag="scalar-left")
case("sub", lambda x, y: x.sub(y, alpha=3), U(2, 3), U(2, 1), tag="alpha")
case("mul", lambda x: x * 3, U(2, 3), tag="scalar-right")
case("mul", lambda x: -1.5 * x, U(), tag="scalar-left")
case("mul", lambda x: x * x, U(2, 3), order=3, tag="self")
case("div", lambda x: x / 4.0, U(2, 3), tag="scalar-right")
case("div", lambda x: 3.0 / x, Pos(2, 3), order=3, tag="scalar-left")
case("div", lambda x: x / x.sum(), Pos(3), tag="fan-out")
case("subtract", tg.subtract, U(2, 3), U(3))
case("multiply", tg.multiply, U(2, 3), U(2, 1))
case("divide", tg.divide, U(3), Pos(2, 3))
case("add", lambda x, y: x.add(y), U(2, 3), U(1, 3), tag="method")
case("mul", lambda x, y: x.mul(y), U(2, 3), U(3), tag="method")

# ---------------------------------------------------------------- max/min/clamp/where

for _name, _f in [("maximum", tg.maximum), ("minimum", tg.minimum)]:
    case(_name, _f, U(2, 3), U(2, 3))
    case(_name, _f, U(2, 3), U(3), tag="broadcast")
    case(_name, _f, U(), U(2, 2), tag="0d")
    case(_name, lambda x: getattr(tg, _name.replace("imum", ""))(x, tg.tensor(0.1, dtype=tg.float64)),
         U(2, 3), tag="tensor-other-max")
case("maximum", lambda x, y: x.maximum(y), U(3), U(3), tag="method")
case("clamp", lambda x: tg.clamp(x, min=-0.3, max=0.4), U(3, 4), tag="both")
case("clamp", lambda x: x.clamp(min=0.1), U(3, 4), tag="min")
case("clamp", lambda x: x.clamp(max=-0.1), U(3, 4), tag="max")
case("clamp", lambda x, lo: tg.clamp(x, min=lo), U(2, 3), U(3), tag="tensor-min")
case("clip", lambda x: tg.clip(x, -0.5, 0.5), U(3, 4))
_COND = t_const([[True, False, True], [False, False, True]])
case("where", lambda x, y: tg.where(_COND, x, y), U(2, 3), U(2, 3))
case("where", lambda x, y: tg.where(_COND, x, y), U(3), U(2, 1), tag="broadcast")
case("where", lambda x: tg.where(x > 0, x * x, -x), K(2, 3), order=3, tag="self")
case("where", lambda x: tg.where(_COND, x, 0.5), U(2, 3), tag="scalar")
# torch.cond (tapegrad/lax): eagerly the taken branch's operations are recorded
case("cond", lambda x: tg.cond(x.sum() > -100, lambda a: a.sin() * a, lambda a: a * a, (x,)),
     U(2, 3), tag="true")
case("cond", lambda x: tg.cond(x.sum() < -100, lambda a: a.sin() * a, lambda a: a.exp(), (x,)),
     U(2, 3), tag="false")
case("where", lambda x, y: x.where(_COND, y), U(2, 3), U(), tag="method")

# ---------------------------------------------------------------- reductions

for _name in ("sum", "mean"):
    _f = getattr(tg, _name)
    case(_name, _f, U(2, 3), tag="all")
    case(_name, _f, U(), tag="0d")
    case(_name, lambda x, f=_f: f(x, 1), U(2, 3), tag="dim")
    case(_name, lambda x, f=_f: f(x, -1, keepdim=True), U(2, 3), tag="keepdim")
    case(_name, lambda x, f=_f: f(x, (0, 2)), U(2, 3, 2), tag="tuple")
    case(_name, lambda x, f=_f: f(x, (0, -1), keepdim=True), U(2, 1, 3), tag="tuple-keepdim")
    case(_name, lambda x, n=_name: getattr(x * x, n)(0), U(1, 3), tag="method")
for _name in ("max", "min"):
    _f = getattr(tg, _name)
    case(_name, _f, U(2, 3), tag="all")
    case(_name, _f, U(), tag="0d")
    case(_name, lambda x, f=_f: f(x, 1)[0], U(2, 3), tag="dim")
    case(_name, lambda x, f=_f: f(x, 0, keepdim=True).values, U(3, 2), tag="keepdim")
    case(_name, lambda x, n=_name: getattr(x, n)(-1)[0], U(4), tag="method")
    case(_name, lambda x, y, f=_f: f(x, y), U(3), U(2, 3), tag="pairwise")
case("amax", lambda x: tg.amax(x, (0, 1)), U(2, 3, 2))
case("amin", lambda x: tg.amin(x, 1, keepdim=True), U(2, 3))
case("norm", tg.norm, K(2, 3), tag="2")
case("norm", lambda x: x.norm(p=1), K(2, 3), tag="1")
case("norm", lambda x: tg.norm(x, p=3), K(4), tag="3")
case("norm", lambda x: tg.norm(x, dim=1), K(2, 3), tag="dim")
case("norm", lambda x: tg.norm(x, p=float("inf")), K(5), tag="inf")

# ---------------------------------------------------------------- matmul

MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
                 ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)), ((2, 1, 2, 3), (3, 3, 2)),
                 ((2, 3, 1), (1, 2))]
for _a, _b in MATMUL_SHAPES:
    case("matmul", tg.matmul, U(*_a), U(*_b), tag=f"{_a}@{_b}")
case("matmul", lambda x, y: x @ y, U(2, 3), U(3, 2), tag="operator")
case("matmul", lambda x: x @ x, U(3, 3), order=3, tag="square")
case("mm", tg.mm, U(2, 3), U(3, 2))
case("mm", lambda x, y: x.mm(y), U(1, 3), U(3, 1), tag="method")
case("bmm", tg.bmm, U(2, 2, 3), U(2, 3, 2))
case("dot", tg.dot, U(4), U(4))

# ---------------------------------------------------------------- shapes and views

case("t", tg.t, U(2, 3))
case("t", lambda x: x.t() * 2, U(3), tag="1d")
case("T", lambda x: x.T, U(2, 3, 4))
case("transpose", lambda x: tg.transpose(x, 0, 2), U(2, 3, 4))
case("transpose", lambda x: x.transpose(-1, 0), U(2, 3), tag="method")
case("swapaxes", lambda x: tg.swapaxes(x, 0, 1), U(2, 3))
case("permute", lambda x: tg.permute(x, (2, 0, 1)), U(2, 3, 4))
case("permute", lambda x: x.permute(1, 0), U(2, 3), tag="method")
case("reshape", lambda x: tg.reshape(x, (3, 2)), U(2, 3))
case("reshape", lambda x: x.reshape(-1), U(2, 3), tag="infer")
case("reshape", lambda x: x.reshape(1, 1), U(), tag="0d")
case("reshape", lambda x: x.t().reshape(6), U(2, 3), tag="noncontiguous")
case("view", lambda x: x.view(3, 2), U(2, 3))
case("view", lambda x: x.view(-1, 1), U(2, 3), tag="infer")
case("view_as", lambda x, y: x.view_as(y) * y, U(2, 3), U(3, 2))
case("reshape_as", lambda x, y: x.reshape_as(y) * y, U(6), U(3, 2))
case("flatten", tg.flatten, U(2, 3, 2))
case("flatten", lambda x: x.flatten(1), U(2, 3, 2), tag="start")
case("flatten", lambda x: x.flatten(), U(), tag="0d")
case("unsqueeze", lambda x: tg.unsqueeze(x, 1), U(2, 3))
case("unsqueeze", lambda x: x.unsqueeze(-1), U(), tag="0d")
case("squeeze", tg.squeeze, U(2, 1, 3, 1))
case("squeeze", lambda x: x.squeeze(1), U(2, 1, 3), tag="dim")
case("squeeze", lambda x: x.squeeze(0), U(2, 3), tag="noop")
case("expand", lambda x: x.expand(2, 3), U(1, 3))
case("expand", lambda x: x.expand(4, -1, 3), U(2, 1), tag="lead")
case("expand", lambda x: x.expand(2, 2), U(), tag="0d")
case("expand_as", lambda x, y: x.expand_as(y) * y, U(3), U(2, 3))
case("broadcast_to", lambda x: tg.broadcast_to(x, (2, 2, 3)), U(2, 1, 3))
case("contiguous", lambda x: x.t().contiguous(), U(2, 3))
case("clone", tg.clone, U(2, 3))
case("clone", lambda x: x.clone() * x, U(), tag="0d")
case("float", lambda x: (x.float() * 2).double(), U(3), order=3,
     tag="float32-round-trip")  # checked with a float32-sized eps, see `case`
case("double", lambda x: x.double(), U(3))
case("to", lambda x: x.to(tg.float64) * 2, U(3))
case("type_as", lambda x, y: x.type_as(y) * y, U(3), U(3))

# ---------------------------------------------------------------- indexing

case("getitem", lambda x: x[1], U(3, 4), tag="int")
case("getitem", lambda x: x[-1, 2], U(3, 4), tag="ints")
case("getitem", lambda x: x[:, ::2], U(3, 5), tag="step")
case("getitem", lambda x: x[1:, 0:5:3], U(3, 5), tag="step3")
case("getitem", lambda x: x[None, 1:3], U(4, 2), tag="none")
case("getitem", lambda x: x[..., 0], U(2, 3, 4), tag="ellipsis")
case("getitem", lambda x: x[0, ..., None, ::2], U(2, 3, 4), tag="mixed")
case("getitem", lambda x: x[...], U(2, 3), tag="alias")
case("getitem", lambda x: x[:2] * x[1:], U(3), tag="overlap")
case("select", lambda x: tg.select(x, 1, 2), U(2, 3))
# advanced indexing (more in test_advanced_indexing.py)
case("getitem", lambda x: x[[0, 2, 2], 1:], U(3, 3), tag="list")
case("getitem", lambda x: x[x > 0.5], U(3, 3), tag="mask")
case("setitem", lambda x, v: _put(x, v), U(3, 3), U(2))
case("gather", lambda x: tg.gather(x, 1, t_const([[0, 0], [2, 1]])), U(2, 3))
case("index_select", lambda x: tg.index_select(x, 0, t_const([1, 1, 0])), U(2, 3))
case("take", lambda x: tg.take(x, t_const([5, 0, -1])), U(2, 3))
case("masked_fill", lambda x: tg.masked_fill(x, x > 0.5, 2.0), U(2, 3))
case("masked_select", lambda x: tg.masked_select(x, x > 0.5), U(2, 3))
case("scatter", lambda x, s: tg.scatter(x, 1, t_const([[2, 0]]), s), U(2, 3), U(1, 2))
case("scatter_add", lambda x, s: tg.scatter_add(x, 0, t_const([[1, 1, 0]]), s), U(2, 3),
     U(1, 3))
case("index_add", lambda x, s: tg.index_add(x, 1, t_const([0, 0]), s, alpha=2.0), U(2, 3),
     U(2, 2))
case("index_put", lambda x, v: tg.index_put(x, (t_const([0, 1, 0]),), v, accumulate=True),
     U(2, 3), U(3, 3))



def _put(x, v):
    y = x * 1.0
    y[[2, 0], 1] = v
    return y


# ---------------------------------------------------------------- cat / stack

case("cat", lambda x, y: tg.cat([x, y]), U(2, 3), U(1, 3))
case("cat", lambda x, y: tg.cat((x, y, x), dim=-1), U(2, 3), U(2, 1), tag="last")
case("concat", lambda x, y: tg.concat([x, y], 1), U(2, 1), U(2, 2))
case("stack", lambda x, y: tg.stack([x, y]), U(2, 3), U(2, 3))
case("stack", lambda x, y: tg.stack([x, y, x], dim=-1), U(3), U(3), tag="last")
case("stack", lambda x, y: tg.stack([x, y], 0), U(), U(), tag="0d")

# ---------------------------------------------------------------- nn.functional

_LABELS = t_const([2, 0, 1])
case("F.relu", F.relu, K(2, 3))
case("F.sigmoid", F.sigmoid, U(2, 3), order=3)
case("F.tanh", F.tanh, U(2, 3), order=3)
case("F.softmax", lambda x: F.softmax(x, dim=1), U(2, 3), order=3)
case("F.softmax", lambda x: F.softmax(x, dim=0), U(3, 2), tag="dim0")
case("F.softmax", lambda x: F.softmax(x * 40, dim=-1), U(4), tag="large")
case("F.log_softmax", lambda x: F.log_softmax(x, dim=1), U(2, 3), order=3)
case("F.log_softmax", lambda x: F.log_softmax(x, dim=0), U(4), tag="1d")
case("softmax", lambda x: x.softmax(dim=1), U(2, 3), order=3)
case("softmax", lambda x: tg.softmax(x, 0), U(3, 2), tag="dim0")
case("log_softmax", lambda x: x.log_softmax(axis=1), U(2, 3), order=3, tag="axis")
case("log_softmax", lambda x: tg.log_softmax(x * 40, -1), U(4), tag="large")
case("F.linear", F.linear, U(2, 3), U(4, 3), U(4), tag="bias")
case("F.linear", F.linear, U(2, 3), U(4, 3), tag="nobias")
case("F.linear", F.linear, U(3), U(2, 3), U(2), tag="1d")
case("F.linear", F.linear, U(2, 2, 3), U(2, 3), U(2), tag="3d")
case("F.mse_loss", F.mse_loss, U(2, 3), U(2, 3))
case("F.mse_loss", lambda x, y: F.mse_loss(x, y, reduction="sum"), U(4), U(4), tag="sum")
case("F.mse_loss", lambda x, y: F.mse_loss(x, y, reduction="none"), U(4), U(4), tag="none")
case("F.binary_cross_entropy", lambda x: F.binary_cross_entropy(
    x, t_const([[0.0, 1.0, 0.3], [1.0, 0.0, 0.8]], tg.float64)), Prob(2, 3))
case("F.binary_cross_entropy", F.binary_cross_entropy, Prob(4), Prob(4), tag="target")
case("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
     U(2, 3), Prob(2, 3))
case("F.binary_cross_entropy_with_logits", lambda x: F.binary_cross_entropy_with_logits(
    x * 30, t_const([1.0, 0.0, 1.0], tg.float64), reduction="sum"), K(3), tag="large")
case("F.cross_entropy", lambda x: F.cross_entropy(x, _LABELS), U(3, 4))
case("F.cross_entropy", lambda x, p: F.cross_entropy(x, p.softmax(1) if hasattr(p, "softmax")
                                                     else F.softmax(p, 1)),
     U(2, 3), U(2, 3), tag="probs")
case("F.cross_entropy", lambda x: F.cross_entropy(x, _LABELS, reduction="sum"), U(3, 3),
     tag="sum")
case("F.nll_loss", lambda x: F.nll_loss(x, _LABELS), U(3, 4))
# the nn branch's activations and losses (away from their kinks: K keeps |x| in [0.2, 1])
case("F.leaky_relu", lambda x: F.leaky_relu(x, 0.2), K(2, 3))
case("F.elu", lambda x: F.elu(x, 0.7), K(2, 3))
case("F.gelu", F.gelu, U(2, 3), order=3)
case("F.gelu", lambda x: F.gelu(x, approximate="tanh"), U(2, 3), tag="tanh")
case("F.silu", F.silu, U(2, 3), order=3)
case("F.softplus", F.softplus, U(2, 3))
case("F.softplus", lambda x: F.softplus(x * 10, beta=2.0, threshold=5.0), K(4), tag="threshold")
case("F.hardtanh", lambda x: F.hardtanh(x * 0.8), K(2, 3))
case("F.hardtanh", lambda x: F.hardtanh(x * 6), K(2, 3), tag="clamped")
case("F.l1_loss", lambda x: F.l1_loss(x, t_const([0.0, 0.0, 0.0], tg.float64)), K(3))
case("F.smooth_l1_loss", lambda x: F.smooth_l1_loss(
    x * 3, t_const([0.0, 0.0, 0.0, 0.0], tg.float64), beta=0.5), K(4))
case("F.huber_loss", lambda x: F.huber_loss(
    x * 1.5, t_const([0.0, 0.0, 0.0, 0.0], tg.float64), delta=2.0), K(4))
case("F.huber_loss", lambda x: F.huber_loss(
    x * 12, t_const([0.0, 0.0, 0.0, 0.0], tg.float64), delta=2.0), K(4), tag="linear")
case("F.kl_div", lambda x, p: F.kl_div(F.log_softmax(x, 1), F.softmax(p, 1),
                                       reduction="batchmean"), U(2, 3), U(2, 3))
case("F.cross_entropy", lambda x: F.cross_entropy(x, _LABELS, label_smoothing=0.2), U(3, 4),
     tag="smoothing")
case("F.bilinear", F.bilinear, U(2, 3), U(2, 2), U(4, 3, 2), U(4))


def _seeded_dropout(x):
    """F.dropout with the same mask on every call, so finite differences see one function."""
    tg.manual_seed(0)
    return F.dropout(x, 0.4)


case("F.dropout", _seeded_dropout, U(3, 4))
# the nn branch's lookups and normalisations (tests/nn/test_norm_gradcheck.py checks more)
_TOKENS = t_const([[0, 2, 2], [4, 1, 0]])
case("F.embedding", lambda w: F.embedding(_TOKENS, w) ** 2, U(5, 3))
case("F.layer_norm", lambda x, w, b: F.layer_norm(x, (3,), w, b), U(2, 3), U(3), U(3))
case("F.batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     U(4, 3), U(3), U(3))
case("F.batch_norm", lambda x: F.batch_norm(x, t_const([0.1, -0.2], tg.float64),
                                            t_const([0.5, 2.0], tg.float64)), U(3, 2),
     tag="eval")

# ---------------------------------------------------------------- in place (on non-leaves)


def _inplace(op):
    def f(x, *rest):
        y = x * 1.0
        op(y, *rest)
        return y * x
    return f


case("add_", _inplace(lambda y, z: y.add_(z)), U(2, 3), U(3))
case("sub_", _inplace(lambda y, z: y.sub_(z)), U(2, 3), U(2, 3))
case("mul_", _inplace(lambda y, z: y.mul_(z)), U(2, 3), U(1, 3))
case("div_", _inplace(lambda y, z: y.div_(z)), U(2, 3), Pos(3))
case("pow_", _inplace(lambda y: y.pow_(2)), U(2, 3))
case("clamp_", _inplace(lambda y: y.clamp_(-0.3, 0.3)), U(2, 3))
case("clip_", _inplace(lambda y: y.clip_(min=0.1)), U(2, 3))
case("relu_", _inplace(lambda y: y.relu_()), K(2, 3))
case("zero_", _inplace(lambda y: y.zero_()), U(2, 3), order=1)
case("fill_", _inplace(lambda y: y.fill_(2.0)), U(2, 3), order=1)
case("copy_", _inplace(lambda y, z: y.copy_(z)), U(2, 3), U(3))
case("setitem", _inplace(lambda y, z: y.__setitem__((0, slice(None, None, 2)), z)),
     U(2, 3), U(2))

# ---------------------------------------------------------------- the maths surface (issue 15)

from .math_surface_cases import NON_DIFFERENTIABLE as _MATH_NON_DIFFERENTIABLE  # noqa: E402
from .math_surface_cases import ROWS as _MATH_ROWS  # noqa: E402

for _row in _MATH_ROWS:  # (own names: the lambdas above read `_name` late)
    case(_row[0], _row[1], *_row[2], order=_row[3], tag=_row[4])


# ---------------------------------------------------------------- the checks

#: Public names that are not differentiable operations (no gradient can flow, or not ops).
NON_DIFFERENTIABLE = {
    "argmax", "argmin", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "is_tensor",
    "long", "bool", "int", "short", "char", "byte", "floor_divide",  # integer/bool results
    "nonzero", "argwhere",  # positions (tests/tracer/test_advanced_indexing.py)
} | _MATH_NON_DIFFERENTIABLE
NOT_OPERATIONS = {
    # creation, random, devices, dtypes-as-functions
    "arange", "as_tensor", "empty", "empty_like", "eye", "from_numpy", "full", "full_like",
    "from_dlpack",
    "linspace", "manual_seed", "ones", "ones_like", "rand", "rand_like", "randint", "randn",
    "randn_like", "tensor", "zeros", "zeros_like", "device", "Size", "Tensor",
    "Generator", "bernoulli", "get_rng_state", "initial_seed", "normal", "randint_like",
    "randperm", "seed", "set_rng_state", "multinomial",  # random streams: tests/tracer/test_random_streams.py
    "new_empty", "new_full", "new_ones", "new_tensor", "new_zeros",
    # grad mode, transforms, tracing (tested elsewhere)
    "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled", "compile", "jit", "grad",
    "inference_mode", "is_inference_mode_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    # the transforms beyond grad (tests/tracer/test_transforms_beyond_grad.py, test_checkpoint.py)
    "jvp", "linearize", "vmap", "jacrev", "jacfwd", "hessian", "checkpoint", "remat",
    "value_and_grad", "make_ir",
    # Tensor plumbing
    "cpu", "cuda", "element_size", "is_floating_point",
    # dtypes: float16 is too coarse for finite differences, so the gradients through
    # .half() and .type() are compared with PyTorch's in tests/tracer/test_dtypes.py
    "half", "type", "can_cast", "finfo", "iinfo", "promote_types", "result_type",
    "get_default_dtype", "set_default_dtype", "dtype", "BoolTensor", "ByteTensor",
    "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor", "IntTensor", "LongTensor",
    "ShortTensor", "set_flush_denormal",
}
#: helpers tg.nn.functional imports for itself
F_HELPERS = {"bind", "convert", "grad_node", "annotations"}


def _public_tg_ops():
    names = set()
    for n in dir(tg):
        obj = getattr(tg, n)
        if n.startswith("_") or isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        names.add(n)
    return names


def _public_f_ops():
    return {f"F.{n}" for n in dir(F) if not n.startswith("_") and n not in F_HELPERS
            and callable(getattr(F, n)) and not isinstance(getattr(F, n), (type, types.ModuleType))}


def _public_methods():
    return {n for n in METHODS if not n.startswith("_")} | {"getitem", "setitem"}


def test_every_public_op_has_a_row():
    covered = {c.name for c in CASES}
    public = _public_tg_ops() | _public_f_ops() | _public_methods()
    missing = sorted(public - covered - NON_DIFFERENTIABLE - NOT_OPERATIONS)
    assert not missing, f"public ops without a gradient row in {__file__}: {missing}"
    stale = sorted((NON_DIFFERENTIABLE | NOT_OPERATIONS) & covered)
    assert not stale, f"listed as non-differentiable but also in the table: {stale}"


def test_non_differentiable_ops_give_no_gradient():
    x = tg.tensor([0.5, -1.0, 2.0], dtype=tg.float64, requires_grad=True)
    for name in ("argmax", "argmin", "eq", "ne", "lt", "le", "gt", "ge", "logical_not"):
        fn = getattr(tg, name)
        out = fn(x) if name in ("argmax", "argmin", "logical_not") else fn(x, 0.5)
        assert not out.requires_grad and out.grad_fn is None, name
        assert not out.dtype.is_float, name
    assert not x.long().requires_grad and not x.bool().requires_grad


def _weights(out, seed):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.uniform(0.5, 1.5, size=tuple(out.shape)), dtype=out.dtype)


def _lift(fn, seed):
    """x -> grad(<fn(x), w>, x, create_graph=True): one derivative order up."""
    def lifted(*xs):
        out = fn(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        total = None
        for k, o in enumerate(outs):
            term = (o * _weights(o, seed + k)).sum()
            total = term if total is None else total + term
        if not total.requires_grad:  # a constant derivative (relu'', x * 2): zero from here on
            return tuple(tg.zeros_like(x) for x in xs)
        return grad(total, xs, create_graph=True)
    return lifted


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_gradcheck(c):
    xs = c.inputs()
    fn = c.fn
    assert gradcheck(fn, xs, **c.extra), c.id
    for order in range(2, c.order + 1):
        fn = _lift(fn, order)
        assert gradcheck(fn, xs, **c.extra), f"{c.id}: order {order}"


# ---------------------------------------------------------------- the acceptance line


#: unary ops whose first derivative is a constant: as in PyTorch, create_graph gives it no
#: grad_fn, and differentiating it again is the "does not require grad" error
CONSTANT_SLOPE = {"neg"}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_derivatives_are_analytic(name):
    """grad(grad(y, x, create_graph=True)[0], x) is f''(x), and once more f'''(x)."""
    f, spec, d1, d2, d3 = UNARY[name]
    for value in ((0.7, 1.3) if spec is Pos else (0.7, -0.45)):
        x = tg.tensor(value, dtype=tg.float64, requires_grad=True)
        g1 = grad(f(x), x, create_graph=True)[0]
        assert g1.item() == pytest.approx(d1(value), rel=1e-12, abs=1e-15)
        if name in CONSTANT_SLOPE:
            assert not g1.requires_grad and g1.grad_fn is None
            with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
                grad(g1, x)
            continue
        assert g1.grad_fn is not None, name
        second = grad(grad(f(x), x, create_graph=True)[0], x)[0]
        assert second.item() == pytest.approx(d2(value), rel=1e-12, abs=1e-15)
        g2 = grad(g1, x, create_graph=True)[0]
        assert g2.item() == pytest.approx(d2(value), rel=1e-12, abs=1e-15)
        if g2.requires_grad:
            third = grad(grad(grad(f(x), x, create_graph=True)[0], x, create_graph=True)[0], x)[0]
            assert third.item() == pytest.approx(d3(value), rel=1e-12, abs=1e-15)
            assert grad(g2, x)[0].item() == pytest.approx(d3(value), rel=1e-12, abs=1e-15)
        else:  # piecewise linear (relu, abs): f'' is the constant 0, where PyTorch stops too
            assert d2(value) == 0 and d3(value) == 0, name


def test_acceptance_line_on_a_vector_with_grad_outputs():
    x = tg.tensor([0.3, 0.9, 1.7], dtype=tg.float64, requires_grad=True)
    y = tg.sin(x) * tg.exp(x)
    g = tg.autograd.grad(y.sum(), x, create_graph=True)[0]
    h = tg.autograd.grad(g, x, grad_outputs=tg.ones_like(g))[0]
    xn = np.array([0.3, 0.9, 1.7])
    np.testing.assert_allclose(h.numpy(), 2 * np.cos(xn) * np.exp(xn), rtol=1e-12)


# ---------------------------------------------------------------- shapes, sorting, products
# (rows appended after the checks: pytest reads CASES when it collects, after the import)

case("repeat", lambda x: x.repeat(2, 1, 3), U(2, 3))
case("tile", lambda x: tg.tile(x, (2,)), U(2, 3))
case("flip", lambda x: tg.flip(x, (0, 1)), U(2, 3))
case("fliplr", tg.fliplr, U(2, 3))
case("flipud", tg.flipud, U(3, 2))
case("roll", lambda x: tg.roll(x, (1, -1), (0, 1)), U(2, 3))
case("roll", lambda x: x.roll(2), U(2, 3), tag="flat")
case("narrow", lambda x: tg.narrow(x, 1, 1, 2), U(2, 3))
case("chunk", lambda x: tg.chunk(x, 2, 1), U(2, 3))
case("split", lambda x: tg.split(x, [1, 2], 1), U(2, 3))
case("split", lambda x: x.split(2), U(3, 2), tag="int")
case("unbind", lambda x: tg.unbind(x, 1), U(2, 3))
case("movedim", lambda x: tg.movedim(x, 0, 2), U(2, 3, 2))
case("moveaxis", lambda x: tg.moveaxis(x, (0, 1), (1, 0)), U(2, 3))
case("swapdims", lambda x: tg.swapdims(x, 0, 1), U(2, 3))
case("unflatten", lambda x: tg.unflatten(x, 1, (2, 2)), U(3, 4))
case("tril", lambda x: tg.tril(x, 1), U(3, 4))
case("triu", lambda x: tg.triu(x, -1), U(3, 4))
case("diagonal", lambda x: tg.diagonal(x, 1, 0, 2), U(3, 2, 4))
case("diag", tg.diag, U(3))
case("diag", lambda x: tg.diag(x, -1), U(3, 4), tag="2d")
case("sort", lambda x: tg.sort(x, 0, descending=True)[0], U(3, 2))
case("topk", lambda x: tg.topk(x, 2).values, U(2, 4))
case("kthvalue", lambda x: tg.kthvalue(x, 2, 1, True).values, U(2, 3))
case("median", tg.median, U(2, 3))
case("median", lambda x: tg.median(x, 0).values, U(3, 2), tag="dim")
case("mode", lambda x: tg.mode(x).values, U(2, 3))
case("vdot", tg.vdot, U(3), U(3))
case("mv", tg.mv, U(2, 3), U(3))
case("outer", tg.outer, U(3), U(2))
case("ger", tg.ger, U(2), U(3))
case("addmm", lambda c, a, b: tg.addmm(c, a, b, beta=0.5, alpha=2.0), U(2, 1), U(2, 3), U(3, 2))
case("addmv", tg.addmv, U(2), U(2, 3), U(3))
case("baddbmm", tg.baddbmm, U(2, 2, 2), U(2, 2, 3), U(2, 3, 2))
case("addbmm", tg.addbmm, U(2, 2), U(3, 2, 3), U(3, 3, 2))
case("einsum", lambda a, b: tg.einsum("bij,bkj->bik", a, b), U(2, 2, 3), U(2, 4, 3))
case("einsum", lambda a: tg.einsum("ii->i", a), U(3, 3), tag="diagonal")
case("einsum", lambda a, b: tg.einsum("...i,i", a, b), U(2, 3), U(3), tag="ellipsis")
case("tensordot", lambda a, b: tg.tensordot(a, b, dims=([0, 2], [2, 0])), U(2, 3, 4), U(4, 2, 2))

NON_DIFFERENTIABLE |= {"argsort", "stride", "storage_offset", "is_contiguous"}
NOT_OPERATIONS |= {"asarray", "logspace", "get_default_device", "set_default_device"}
NOT_OPERATIONS |= {"save", "load"}  # checkpoints: tests/serialization

# issue 15's remaining gaps (branch torchgaps)
case("erfinv", tg.erfinv, U(2, 3, lo=-0.9, hi=0.9), order=3)
case("erfinv", lambda x: x.erfinv(), U(3, lo=-0.5, hi=0.99), tag="method")
case("repeat_interleave", lambda x: tg.repeat_interleave(x, 2, dim=1), U(2, 3))
case("repeat_interleave", lambda x: x.repeat_interleave(tg.tensor([2, 0, 1])), U(3), tag="tensor")
case("repeat_interleave", lambda x: tg.repeat_interleave(x, 3), U(2, 2), tag="flat")
NON_DIFFERENTIABLE |= {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"}
