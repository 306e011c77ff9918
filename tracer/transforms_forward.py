"""Forward mode for traced functions: `tg.jvp` and `tg.linearize`, as JAX's.

    y, ty = tg.jvp(f, (x, w), (tx, tw))      # f(x, w) and its derivative along (tx, tw)
    y, f_jvp = tg.linearize(f, x, w)         # f_jvp(tx, tw): the linear part alone

`jvp` traces f on the primals, runs the forward-mode pass (ir/forward_mode.py) and
compiles the program through the same Transformed machinery as grad, so it caches per
signature, inlines into an enclosing trace (grad of jvp, jvp of grad) and binds on
the eager tape when an argument requires grad.  `linearize` splits the JVP program:
the primal part runs once; each call of `f_jvp` runs only the linear part on the
saved residuals.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ..ir.core import Function, Param
from ..ir.forward_mode import jvp as jvp_pass
from ..ir.forward_mode import linearize as linearize_pass
from .errors import at, user_loc
from .inline import apply_function
from .tensor import Tensor
from .trace import function_name, trace
from .transforms import DEFAULT_CACHE_SIZE, Transformed
from .transforms_lower import EXTRA_LOWERINGS, Lowered, Spec, _check_closed, optimize
from .tree_util import tree_flatten, tree_structure, treedef_tuple


@dataclass(frozen=True)
class JvpSpec(Spec):
    """`kind` "jvp": the first `n_primals` arguments are primals, the rest tangents."""

    n_primals: int = 0


class _Primals:
    """Calls f on the primals alone (the Transformed around it takes primals + tangents)."""

    def __init__(self, f, n: int):
        self.f, self.n = f, n
        self.__name__ = function_name(f)
        self.__code__ = getattr(f, "__code__", None)

    def __call__(self, *primals):
        return self.f(*primals)


def _tangent_params(f, fn: Function, primals: tuple, tangents: tuple) -> list[Param]:
    """One parameter per tangent leaf, checked against its primal (JAX's errors)."""
    p_leaves, p_tree = tree_flatten(primals)
    t_leaves, t_tree = tree_flatten(tangents)
    if p_tree != t_tree:
        raise TypeError(f"jvp of {function_name(f)}: primal and tangent arguments must have "
                        f"the same tree structure; got primals {p_tree} and tangents "
                        f"{t_tree}{at(user_loc())}")
    from .trace import arg_type
    out = []
    for k, (p, t) in enumerate(zip(fn.params, t_leaves)):
        tt = arg_type(t)
        if tt != p.type:
            raise TypeError(f"jvp of {function_name(f)}: the tangent of primal leaf {k} "
                            f"must have its type {p.type}, got {tt}{at(user_loc())}")
        out.append(Param(tt, f"t_{p.hint}" if p.hint else None))
    return out


def _lower_jvp(f, args: tuple, static, spec: JvpSpec) -> Lowered:
    n = spec.n_primals
    primals, tangents = args[:n], args[n:]
    fn, tree = trace(f, primals)
    _check_closed(f, fn)
    params = _tangent_params(f.f, fn, primals, tangents)
    program = jvp_pass(fn, fn.params, tangent_params=params, name=f"jvp_{fn.name}")
    results = program.results
    if spec.has_aux:
        out_tree, aux_tree = tree.children()
        n_out, n_res = out_tree.num_leaves, len(fn.results)
        results = results[:n_out] + results[n_res:n_res + n_out] + results[n_out:n_res]
        out = treedef_tuple([out_tree, out_tree, aux_tree])
    else:
        out = treedef_tuple([tree, tree])
    program = Function(program.name, program.params, program.body, results)
    return Lowered(fn, None, optimize(program), out)


EXTRA_LOWERINGS["jvp"] = _lower_jvp

#: one Transformed per (function, number of primals), while the function lives
_JVP_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def jvp(fun, primals, tangents, has_aux: bool = False):
    """`(fun(*primals), J tangents)` (and `aux` third with has_aux), as jax.jvp.

    `primals` and `tangents` are tuples or lists of the same structure, each tangent of
    its primal's type; integer primals' tangents are ignored."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"jvp: primal and tangent arguments must be tuples or lists; found "
                        f"{type(primals).__name__} and {type(tangents).__name__}"
                        f"{at(user_loc())}")
    if len(primals) != len(tangents):
        raise TypeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents"
                        f"{at(user_loc())}")
    n = len(primals)
    key = (n, bool(has_aux))
    try:
        per_fun = _JVP_CACHE.setdefault(fun, {})
    except TypeError:  # not weakly referable: no cache across calls
        per_fun = {}
    transformed = per_fun.get(key)
    if transformed is None:
        transformed = per_fun[key] = Transformed(
            _Primals(fun, n), JvpSpec("jvp", 0, bool(has_aux), n), (), DEFAULT_CACHE_SIZE)
    return transformed(*primals, *tangents)


# -------------------------------------------------------------------- linearize

def _is_traced(leaves) -> bool:
    return any(isinstance(x, Tensor) and (x._data is None or x.requires_grad) for x in leaves)


def _run(program: Function, leaves: list, traced: bool) -> list:
    """The program on leaves: bound on the tape (inside a trace, or when grads flow),
    else compiled once and called."""
    if traced:
        tensors = [x if isinstance(x, Tensor) else Tensor._from_array(np.asarray(x))
                   for x in leaves]
        return apply_function(program, tensors)
    lowered = Lowered(program, None, program, tree_structure(tuple(range(len(
        program.results)))))
    arrays = [x._data if isinstance(x, Tensor) else np.asarray(x, p.dtype.np)
              for x, p in zip(leaves, program.params)]
    outs = lowered.native()(*arrays)
    return [Tensor._make(o, t) for o, t in zip(outs, program.result_types)]


def linearize(fun, *primals):
    """`(fun(*primals), f_jvp)` as jax.linearize: `f_jvp(*tangents)` gives the tangents
    of the outputs, running only the linear part of the JVP program."""
    fn, tree = trace(fun, primals)
    _check_closed(fun, fn)
    program = optimize(jvp_pass(fn, fn.params, name=f"linearize_{fn.name}",
                                merge_regions=False))  # the primal part runs alone
    known, linear = linearize_pass(program, len(fn.params), len(fn.results))
    known, linear = optimize(known), optimize(linear)
    leaves, p_tree = tree_flatten(primals)
    traced = _is_traced(leaves)
    outs = _run(known, leaves, traced)
    n_out = len(fn.results)
    values, residuals = outs[:n_out], outs[n_out:]

    def f_jvp(*tangents):
        t_leaves, t_tree = tree_flatten(tangents)
        if t_tree != p_tree:
            raise TypeError(f"linearize of {function_name(fun)}: the tangents must have the "
                            f"primals' structure {p_tree}, got {t_tree}{at(user_loc())}")
        for k, (t, p) in enumerate(zip(t_leaves, fn.params)):
            shape = tuple(getattr(t, "shape", np.shape(t)))
            if shape != p.shape:
                raise TypeError(f"linearize of {function_name(fun)}: tangent {k} has shape "
                                f"{shape}, its primal {p.type}{at(user_loc())}")
        got = _run(linear, residuals + t_leaves, traced or _is_traced(t_leaves))
        return tree.unflatten(got)
    return tree.unflatten(values), f_jvp
