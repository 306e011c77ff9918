"""Tracing a Python function into an IR `Function`.

The function runs once on abstract tensors (a type and an IR parameter, no
data); every operation it calls binds primitives that build instructions
instead of computing.  Concrete tensors and arrays it captures become
`constant` instructions.  Python control flow on an abstract value raises a
TracerError naming the user's line (see Tensor.__bool__ and friends).

    fn, tree = trace(f, (x, w))       # what tg.grad / tg.compile build on
    tg.make_ir(f)(x, w)               # just the Function, for inspection
"""
from __future__ import annotations

import inspect
import numbers

import numpy as np

from ..ir import dtypes
from ..ir.core import Function, Param, TensorType, Value, topo_sort
from .errors import at, user_loc
from .ops_core import filled_tensor
from .tape import tracing
from .tensor import Tensor

LEAF = "*"  # the tree of one tensor; tuples and lists of trees give tuples and lists


def arg_type(x) -> TensorType:
    """The type an argument is traced with: tensors and arrays keep theirs; Python
    numbers are 0-d float32, so a new value does not need a new trace."""
    if isinstance(x, Tensor):
        return x._type
    if isinstance(x, np.ndarray):
        return TensorType(dtypes.from_numpy(x.dtype), tuple(x.shape))
    if isinstance(x, (numbers.Number, np.number)):
        return TensorType(dtypes.f32, ())
    raise TypeError(f"cannot trace an argument of type {type(x).__name__}: pass a tg.Tensor, "
                    "a numpy array or a Python number (or mark it static with static_argnums)")


def function_name(f) -> str:
    name = getattr(f, "__name__", "f")
    return "lambda" if name == "<lambda>" else name


def param_names(f, n: int) -> list[str | None]:
    """Print hints for the parameters, from f's signature (`*args` give args0, args1, ...)."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return [None] * n
    names: list[str | None] = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            names += [f"{p.name}{i}" for i in range(n - len(names))]
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    return (names + [None] * n)[:n]


def flatten(out) -> tuple[list, object]:
    """Tensors in `out` (a tensor, or nested tuples/lists of them) and the structure."""
    if isinstance(out, (tuple, list)):
        leaves, trees = [], []
        for item in out:
            sub, tree = flatten(item)
            leaves += sub
            trees.append(tree)
        return leaves, type(out)(trees)
    return [out], LEAF


def unflatten(tree, leaves: list):
    """The inverse of flatten: rebuild the structure around new leaves."""
    return _build(tree, iter(leaves))


def _build(t, it):
    # Module level on purpose: a nested recursive closure is a reference cycle that
    # kept every call's results (and their buffers) alive until the next gc pass.
    if t == LEAF:
        return next(it)
    return type(t)(_build(s, it) for s in t)


def _result_value(x) -> Value:
    if isinstance(x, Tensor):
        return x._trace_value()
    if isinstance(x, (numbers.Number, np.number)):
        return filled_tensor(x, dtypes.f32)._trace_value()
    raise TypeError(f"a traced function must return tensors (or tuples of them), got "
                    f"{type(x).__name__}{at(user_loc())}")


def trace(f, args, static_argnums=()) -> tuple[Function, object]:
    """Trace `f(*args)`: returns the IR Function (parameters = the non-static arguments,
    in order) and the structure of its output (see `unflatten`)."""
    static = {a % len(args) for a in ((static_argnums,) if isinstance(static_argnums, int)
                                      else static_argnums)} if args else set()
    hints = param_names(f, len(args))
    params, call_args = [], []
    for i, a in enumerate(args):
        if i in static:
            call_args.append(a)
            continue
        p = Param(arg_type(a), hints[i])
        params.append(p)
        call_args.append(Tensor._abstract(p))
    with tracing():
        out = f(*call_args)
        leaves, tree = flatten(out)
        results = [_result_value(x) for x in leaves]
    return Function(function_name(f), params, topo_sort(results), results), tree


def make_ir(f, static_argnums=()):
    """`make_ir(f)(*args)`: the forward IR of `f` traced on arguments like `args`."""
    def traced(*args):
        return trace(f, args, static_argnums)[0]
    traced.__name__ = f"make_ir({function_name(f)})"
    return traced
