"""`tg.vmap`, and the Jacobians built on it: `tg.jacrev`, `tg.jacfwd`, `tg.hessian`.

    per_example = tg.vmap(tg.grad(loss), in_axes=(None, 0, 0))   # one compiled function
    tg.jacrev(f)(x), tg.jacfwd(f)(x), tg.hessian(f)(x)           # as JAX's

Each is a Transformed (tracer/transforms.py) whose lowering is registered here: vmap
traces f on one example's shapes (every mapped leaf without its batch axis) and runs
the batching pass (ir/batching.py); the Jacobians trace f and run ir/jacobians.py.
So they cache per signature, compose with grad, compile and each other (an inner
transform called inside an outer one's trace is inlined into it), and bind on the
eager tape when an argument requires grad.  `in_axes` / `out_axes` are pytree
prefixes as JAX's; `in_dims` / `out_dims` are torch.vmap's names for them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ir.batching import vmap as vmap_pass
from ..ir.core import Function, topo_sort
from ..ir.jacobians import jacfwd as jacfwd_pass
from ..ir.jacobians import jacrev as jacrev_pass
from .errors import at, user_loc
from .tensor import Tensor
from .trace import arg_type, function_name, trace
from .transforms import DEFAULT_CACHE_SIZE, Transformed, _argnums
from .transforms_lower import (EXTRA_LOWERINGS, Lowered, Spec, _check_closed, _split_aux,
                               _wrt_params, optimize)
from .tree_util import PyTreeDef, tree_flatten, tree_structure, treedef_tuple


@dataclass(frozen=True, eq=False)
class VmapSpec(Spec):
    in_axes: Any = 0
    out_axes: Any = 0
    axis_size: int | None = None


def _is_axis(a) -> bool:
    return a is None or (isinstance(a, int) and not isinstance(a, bool))


def _axes_up_to(prefix, value_def: PyTreeDef, what: str) -> list:
    """One axis per leaf of `value_def`, from `prefix`, a tree prefix of it (JAX's rule:
    an int or None stands for every leaf below it)."""
    if _is_axis(prefix):
        return [prefix] * value_def.num_leaves
    if not isinstance(prefix, (tuple, list, dict)) or value_def.is_leaf:
        raise ValueError(f"vmap {what} specification must be a tree prefix of the "
                         f"corresponding value, got specification {prefix!r} for value "
                         f"tree {value_def}{at(user_loc())}")
    children = value_def.children()
    if isinstance(prefix, dict):
        keys = sorted(prefix)
        items = [prefix[k] for k in keys]
    else:
        items = list(prefix)
    same_keys = not isinstance(prefix, dict) or (
        issubclass(value_def.node_type, dict) and tuple(value_def.node_data()[1]) == tuple(keys))
    if len(items) != len(children) or not same_keys or \
            isinstance(prefix, dict) != issubclass(value_def.node_type, dict):
        raise ValueError(f"vmap {what} specification must be a tree prefix of the "
                         f"corresponding value, got specification {prefix!r} for value "
                         f"tree {value_def}{at(user_loc())}")
    out = []
    for p, c in zip(items, children):
        out += _axes_up_to(p, c, what)
    return out


def _one_example(leaf, axis: int | None, k: int, path: str):
    """A stand-in of `leaf` without its batch axis (only its type is traced)."""
    if axis is None:
        return leaf
    t = arg_type(leaf)
    if not isinstance(leaf, (Tensor, np.ndarray)) or not t.shape:
        raise ValueError(f"vmap was requested to map its argument along axis {axis}, which "
                         f"implies that its rank should be at least {axis + 1}, but is only "
                         f"{len(t.shape)} (arg {k}{path}: {t}){at(user_loc())}")
    a = axis % len(t.shape)
    return np.broadcast_to(np.zeros((), t.dtype.np), t.shape[:a] + t.shape[a + 1:])


def _lower_vmap(f, args: tuple, static, spec: VmapSpec) -> Lowered:
    in_axes = spec.in_axes
    if not _is_axis(in_axes):
        if not isinstance(in_axes, (tuple, list)) or len(in_axes) != len(args):
            raise ValueError(f"vmap in_axes must be an int, None, or a tuple of entries "
                             f"corresponding to the positional arguments passed to the "
                             f"function, but got len(in_axes)="
                             f"{len(in_axes) if isinstance(in_axes, (tuple, list)) else '?'}, "
                             f"len(args)={len(args)}{at(user_loc())}")
    per_arg = [in_axes] * len(args) if _is_axis(in_axes) else list(in_axes)
    dims, examples, size, sizes = [], [], spec.axis_size, {}
    for k, (a, prefix) in enumerate(zip(args, per_arg)):
        leaves, tree = tree_flatten(a)
        axes = _axes_up_to(prefix, tree, "in_axes")
        stand_ins = []
        for leaf, axis, path in zip(leaves, axes, tree.paths()):
            stand_ins.append(_one_example(leaf, axis, k, "".join(map(str, path))))
            if axis is not None:
                shape = arg_type(leaf).shape
                sizes[f"arg {k}{''.join(map(str, path))}"] = shape[axis % len(shape)]
        dims += [None if d is None else d % len(arg_type(x).shape)
                 for x, d in zip(leaves, axes)]
        examples.append(tree.unflatten(stand_ins))
    found = set(sizes.values())
    if len(found) > 1 or (found and size is not None and found != {size}):
        listing = ", ".join(f"{k} has size {v}" for k, v in sizes.items())
        raise ValueError(f"vmap got inconsistent sizes for the array axes to be mapped: "
                         f"{listing}{'' if size is None else f', axis_size={size}'}"
                         f"{at(user_loc())}")
    if not found and size is None:
        raise ValueError(f"vmap must have at least one non-None value in in_axes, or be "
                         f"given axis_size{at(user_loc())}")
    size = found.pop() if found else size
    fn, tree = trace(f, tuple(examples))
    _check_closed(f, fn)
    out_dims = _axes_up_to(spec.out_axes, tree, "out_axes")
    program = vmap_pass(fn, dims, out_dims, size, name=f"vmap_{fn.name}")
    return Lowered(fn, None, optimize(program), tree)


EXTRA_LOWERINGS["vmap"] = _lower_vmap


def vmap(f=None, in_axes=0, out_axes=0, axis_size: int | None = None, *,
         in_dims=None, out_dims=None, chunk_size=None, randomness: str = "error",
         cache_size: int | None = DEFAULT_CACHE_SIZE):
    """`f` mapped over an axis of its arguments, as jax.vmap (and torch.vmap:
    `in_dims`, `out_dims`).  The batched function is traced once per signature,
    batched by the IR pass and compiled."""
    if f is None:
        return functools.partial(vmap, in_axes=in_axes, out_axes=out_axes,
                                 axis_size=axis_size, in_dims=in_dims, out_dims=out_dims,
                                 cache_size=cache_size)
    if in_dims is not None:
        in_axes = in_dims
    if out_dims is not None:
        out_axes = out_dims
    if isinstance(in_axes, list) and all(_is_axis(a) for a in in_axes):
        in_axes = tuple(in_axes)  # JAX reads a top-level list as a tuple
    return Transformed(f, VmapSpec("vmap", 0, False, in_axes, out_axes, axis_size), (),
                       cache_size)


# -------------------------------------------------------------------- Jacobians

def _blocks_tree(out_tree: PyTreeDef, grads_tree: PyTreeDef) -> PyTreeDef:
    """The output's structure with each leaf replaced by the arguments' structure."""
    inner = grads_tree.unflatten([0] * grads_tree.num_leaves)
    return tree_structure(out_tree.unflatten([inner] * out_tree.num_leaves))


def _lower_jacobian(f, args: tuple, static, spec: Spec) -> Lowered:
    fn, tree = trace(f, args, static_argnums=tuple(static))
    _check_closed(f, fn)
    wrt, grads_tree = _wrt_params(f, fn, args, static, spec.argnums)
    value_tree, aux_tree = _split_aux(f, tree, spec.has_aux)
    n_out = value_tree.num_leaves
    for r in fn.results[:n_out]:
        if not r.dtype.is_float:
            raise TypeError(f"{spec.kind} of {function_name(f)} requires floating point "
                            f"outputs, got one of type {r.type}{at(user_loc())}")
    build = jacrev_pass if spec.kind == "jacrev" else jacfwd_pass
    jac = build(fn, wrt, range(n_out), name=f"{spec.kind}_{fn.name}")
    body, results, out = list(jac.body), list(jac.results), _blocks_tree(value_tree, grads_tree)
    if spec.has_aux:
        aux = fn.results[n_out:]
        have = {id(i) for i in body}
        body += [i for i in topo_sort(aux) if id(i) not in have]
        results += aux
        out = treedef_tuple([out, aux_tree])
    program = Function(jac.name, jac.params, body, results)
    return Lowered(fn, None, optimize(program), out)


EXTRA_LOWERINGS["jacrev"] = _lower_jacobian
EXTRA_LOWERINGS["jacfwd"] = _lower_jacobian


def jacrev(f=None, argnums=0, has_aux: bool = False, *,
           cache_size: int | None = DEFAULT_CACHE_SIZE):
    """The Jacobian of `f` by reverse mode, vmapped over the outputs' basis (jax.jacrev):
    each output leaf becomes the arguments' structure of blocks out.shape + arg.shape."""
    if f is None:
        return functools.partial(jacrev, argnums=argnums, has_aux=has_aux,
                                 cache_size=cache_size)
    return Transformed(f, Spec("jacrev", _argnums(argnums), bool(has_aux)), (), cache_size)


def jacfwd(f=None, argnums=0, has_aux: bool = False, *,
           cache_size: int | None = DEFAULT_CACHE_SIZE):
    """The Jacobian of `f` by forward mode, vmapped over the inputs' basis (jax.jacfwd)."""
    if f is None:
        return functools.partial(jacfwd, argnums=argnums, has_aux=has_aux,
                                 cache_size=cache_size)
    return Transformed(f, Spec("jacfwd", _argnums(argnums), bool(has_aux)), (), cache_size)


def hessian(f=None, argnums=0, has_aux: bool = False, *,
            cache_size: int | None = DEFAULT_CACHE_SIZE):
    """jacfwd(jacrev(f)), as jax.hessian: forward over reverse."""
    if f is None:
        return functools.partial(hessian, argnums=argnums, has_aux=has_aux,
                                 cache_size=cache_size)
    inner = jacrev(f, argnums, has_aux, cache_size=cache_size)
    return jacfwd(inner, argnums, has_aux, cache_size=cache_size)
