"""Tracing a Python function into an IR `Function`.

The function runs once on abstract tensors (a type and an IR parameter, no
data); every operation it calls binds primitives that build instructions
instead of computing.  Concrete tensors and arrays it captures become
`constant` instructions.  Arguments and results are pytrees (tracer/tree_util): each
leaf of an argument is one typed parameter, named after its path (`p['w']` prints as
`%p_w`), and the results are the leaves of what `f` returns.  Python control flow on an abstract value raises a
TracerError naming the user's line (see Tensor.__bool__ and friends).

    fn, tree = trace(f, (x, w))       # what tg.grad / tg.compile build on
    tg.make_ir(f)(x, w)               # just the Function, for inspection
"""
from __future__ import annotations

import inspect
import numbers
import re

import numpy as np

from ..ir import dtypes
from ..ir.core import Function, Param, TensorType, Value, topo_sort
from .errors import at, user_loc
from .ops_core import filled_tensor
from .tape import tracing
from .tensor import Tensor
from .tree_util import LEAF, DictKey, GetAttrKey, PyTreeDef, keystr, tree_flatten  # noqa: F401

_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_]")


def arg_type(x) -> TensorType:
    """The type an argument is traced with: tensors, arrays and numpy scalars keep theirs
    (np.float64(x) is f64[], as tg.tensor makes it); Python numbers are 0-d float32, so
    a new value does not need a new trace."""
    if isinstance(x, Tensor):
        return x._type
    if isinstance(x, (np.ndarray, np.generic)):
        return TensorType(dtypes.from_numpy(x.dtype), tuple(np.shape(x)))
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


def unflatten(tree: PyTreeDef, leaves: list):
    """The structure `tree` around new leaves (PyTreeDef.unflatten)."""
    return tree.unflatten(leaves)


def leaf_hint(name: str | None, path: tuple) -> str | None:
    """The print name of a leaf's parameter: the argument's name and the path's keys
    joined by `_` (`p['layers'][0]['w']` -> `p_layers_0_w`); the printer falls back to
    `argN` for anything that is still not an identifier."""
    if name is None or not path:
        return name
    steps = [k.key if isinstance(k, DictKey) else k.name if isinstance(k, GetAttrKey)
             else getattr(k, "idx", getattr(k, "key", k)) for k in path]
    return _NOT_IN_A_NAME.sub("_", "_".join([name, *map(str, steps)]))


def _result_value(x, path: tuple) -> Value:
    if isinstance(x, Tensor):
        return x._trace_value()
    if isinstance(x, (numbers.Number, np.number)):
        return filled_tensor(x, dtypes.f32)._trace_value()
    where = f" at output{keystr(path)}" if path else ""
    raise TypeError(f"a traced function must return tensors (or pytrees of them), got "
                    f"{type(x).__name__}{where}{at(user_loc())}")


def trace(f, args, static_argnums=()) -> tuple[Function, PyTreeDef]:
    """Trace `f(*args)`: returns the IR Function (parameters = the leaves of the
    non-static arguments, in order) and the structure of its output (see `unflatten`)."""
    static = {a % len(args) for a in ((static_argnums,) if isinstance(static_argnums, int)
                                      else static_argnums)} if args else set()
    hints = param_names(f, len(args))
    params, call_args = [], []
    for i, a in enumerate(args):
        if i in static:
            call_args.append(a)
            continue
        leaves, treedef = tree_flatten(a)
        paths = treedef.paths()
        abstract = []
        for leaf, path in zip(leaves, paths):
            p = Param(_arg_type(leaf, i, path), leaf_hint(hints[i], path))
            params.append(p)
            abstract.append(Tensor._abstract(p))
        call_args.append(treedef.unflatten(abstract))
    with tracing():
        out = f(*call_args)
        leaves, tree = tree_flatten(out)
        results = [_result_value(x, p) for x, p in zip(leaves, tree.paths())]
    return Function(function_name(f), params, topo_sort(results), results), tree


def _arg_type(leaf, i: int, path: tuple) -> TensorType:
    try:
        return arg_type(leaf)
    except TypeError as e:
        raise TypeError(f"arg {i}{keystr(path)}: {e}") from None


def make_ir(f, static_argnums=()):
    """`make_ir(f)(*args)`: the forward IR of `f` traced on arguments like `args`."""
    def traced(*args):
        return trace(f, args, static_argnums)[0]
    traced.__name__ = f"make_ir({function_name(f)})"
    return traced
