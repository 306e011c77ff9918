"""tapegrad.lax: JAX's structured control flow (as `jax.lax`).

    tg.lax.cond(pred, true_fun, false_fun, *operands)
    tg.lax.while_loop(cond_fun, body_fun, init_val)
    tg.lax.fori_loop(lower, upper, body_fun, init_val)
    tg.lax.scan(f, init, xs=None, length=None, reverse=False)

Eagerly each runs its Python functions and records ordinary operations, so
`backward()` works through them.  Inside tg.compile / tg.grad each is one region
instruction (ir/region_rules.py), traced once whatever the trip count; the
tracing lives in tracer/control_flow.py.  Carries, operands, xs and ys are
pytrees (tapegrad.tree_util).
"""
from __future__ import annotations

from ..ir import dtypes
from ..ir import primitives as P
from ..ir.core import TensorType
from ..tracer.control_flow import (
    ControlFlowError, as_tensor_leaf, check_same, close_region, flatten_tensors, free_values,
    region_outputs, trace_function)
from ..tracer.trace import function_name
from ..tracer.errors import at, user_loc
from ..tracer.ops_core import filled_tensor
from ..tracer.tape import _tracing
from ..tracer.tensor import Tensor
from ..tracer.tree_util import tree_flatten, tree_map, tree_unflatten, treedef_tuple

__all__ = ["cond", "while_loop", "fori_loop", "scan", "ControlFlowError"]


def _traced(*trees) -> bool:
    """Whether to build a region: tracing, or an abstract leaf anywhere."""
    if _tracing():
        return True
    return any(isinstance(x, Tensor) and x._data is None
               for t in trees for x in tree_flatten(t)[0])


def _predicate(pred, what: str, loc) -> Tensor | bool:
    """A Python bool, or a 0-d bool tensor (one element of any dtype: `!= 0`)."""
    if not isinstance(pred, Tensor):
        return bool(pred)
    if pred.numel() != 1:
        raise ControlFlowError(f"{what}: the predicate must have one element, got shape "
                               f"{tuple(pred.shape)}{at(loc)}")
    pred = pred.reshape(())
    return pred if pred.dtype is dtypes.bool_ else pred != 0


# ---------------------------------------------------------------- cond

def cond(pred, true_fun, false_fun, *operands):
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`; both must return
    the same structure of the same types."""
    loc = user_loc()
    p = _predicate(pred, "tg.lax.cond", loc)
    if isinstance(p, bool) or not _traced(p, operands):
        return (true_fun if bool(p) else false_fun)(*operands)
    leaves, tree = flatten_tensors(operands, "operands", loc)
    types = [t._type for t in leaves]
    branches, outs = [], []
    for name, fun in (("true", true_fun), ("false", false_fun)):
        params, results, out_tree = trace_function(fun, tree, types, f"{name}_fun", loc,
                                                   hoist=False)  # a branch not taken: nothing
        branches.append((params, results))
        outs.append((out_tree, [r.type for r in results]))
    if outs[0] != outs[1]:
        check_same("tg.lax.cond: false_fun's output against true_fun's", *outs[0], *outs[1],
                   loc)
    consts = _union(free_values(*b) for b in branches)
    regions = {name: close_region(function_name(fun), consts, *b)
               for name, fun, b in zip(("true", "false"), (true_fun, false_fun), branches)}
    # the branches take (consts..., operands...)
    values = [p._trace_value()] + consts + [t._trace_value() for t in leaves]
    # close_region put the consts first: pass them before the operands
    out = region_outputs(P.cond, values, regions, loc)
    return tree_unflatten(outs[0][0], out)


def _union(groups) -> list:
    seen: dict[int, object] = {}
    for g in groups:
        for v in g:
            seen.setdefault(id(v), v)
    return list(seen.values())


# ---------------------------------------------------------------- while_loop

def while_loop(cond_fun, body_fun, init_val):
    """`val = init_val; while cond_fun(val): val = body_fun(val)`.  Reverse-mode
    differentiation is not defined for it (the trip count is data): use fori_loop
    with static bounds or scan."""
    loc = user_loc()
    if not _traced(init_val):
        val = init_val
        while bool(_predicate(cond_fun(val), "tg.lax.while_loop's cond_fun", loc)):
            val = body_fun(val)
        return val
    leaves, tree = flatten_tensors(init_val, "init_val", loc)
    types = [t._type for t in leaves]
    args_tree = treedef_tuple([tree])
    cparams, cres, ctree = trace_function(
        lambda v: _predicate(cond_fun(v), "tg.lax.while_loop's cond_fun", loc),
        args_tree, types, "cond_fun", loc)
    if len(cres) != 1 or cres[0].type != TensorType(dtypes.bool_, ()):
        raise ControlFlowError(f"tg.lax.while_loop: cond_fun must return one boolean scalar, "
                               f"got {[str(r.type) for r in cres]}{at(loc)}")
    bparams, bres, btree = trace_function(body_fun, args_tree, types, "body_fun", loc)
    check_same("tg.lax.while_loop: body_fun's output against init_val", tree, types,
               btree, [r.type for r in bres], loc)
    consts = _union([free_values(cparams, cres), free_values(bparams, bres)])
    attrs = {"cond": close_region(function_name(cond_fun), consts, cparams, cres),
             "body": close_region(function_name(body_fun), consts, bparams, bres),
             "num_consts": len(consts)}
    out = region_outputs(P.while_loop, consts + [t._trace_value() for t in leaves], attrs, loc)
    return tree_unflatten(tree, out)


# ---------------------------------------------------------------- fori_loop

def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for i in [lower, upper).  With Python int bounds it is a
    scan (reverse-differentiable); with tensor bounds a while_loop.  `i` is an int64
    scalar tensor."""
    static = not isinstance(lower, Tensor) and not isinstance(upper, Tensor)
    if not _traced(init_val, lower, upper):
        val = init_val
        for i in range(int(lower), int(upper)):
            val = body_fun(filled_tensor(i, dtypes.i64), val)
        return val
    if static:
        lo, hi = int(lower), int(upper)

        def step(carry, _):
            i, val = carry
            return (i + 1, body_fun(i, val)), None

        (_, val), _ = scan(step, (filled_tensor(lo, dtypes.i64), init_val), None,
                           length=max(hi - lo, 0))
        return val

    def keep_going(carry):
        return carry[0] < carry[1]

    def body(carry):
        i, hi, val = carry
        return i + 1, hi, body_fun(i, val)

    lo, hi = (x.to(dtypes.i64) if isinstance(x, Tensor) else filled_tensor(int(x), dtypes.i64)
              for x in (lower, upper))
    return while_loop(keep_going, body, (lo, hi, init_val))[2]


# ---------------------------------------------------------------- scan

def scan(f, init, xs=None, length=None, reverse=False):
    """`carry, y = f(carry, x)` over the leading axis of `xs`; returns the final carry
    and the ys stacked along a new leading axis (as jax.lax.scan)."""
    loc = user_loc()
    x_leaves, x_tree = tree_flatten(xs)
    lengths = {int(x.shape[0]) for x in x_leaves if len(getattr(x, "shape", ())) > 0}
    if any(len(getattr(x, "shape", ())) == 0 for x in x_leaves):
        raise ControlFlowError(f"tg.lax.scan: every leaf of xs needs a leading axis to scan "
                               f"over{at(loc)}")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) != 1:
        raise ControlFlowError(f"tg.lax.scan: " + (
            "give length= when xs is None" if not lengths else
            f"the leading axes of xs (and length) disagree: {sorted(lengths)}") + at(loc))
    n = lengths.pop()
    if not _traced(init, xs):
        return _scan_eager(f, init, xs, n, reverse, loc)
    c_leaves, c_tree = flatten_tensors(init, "init", loc)
    xl, _ = flatten_tensors(xs, "xs", loc)
    c_types = [t._type for t in c_leaves]
    x_types = [t._type.with_shape(t._type.shape[1:]) for t in xl]
    args_tree = treedef_tuple([c_tree, x_tree])
    params, results, out_tree = trace_function(f, args_tree, c_types + x_types, "f", loc)
    carry_tree, y_tree = _split_output(out_tree, loc)
    m = carry_tree.num_leaves
    check_same("tg.lax.scan: f's carry output against init", c_tree, c_types,
               carry_tree, [r.type for r in results[:m]], loc)
    consts = free_values(params, results)
    attrs = {"body": close_region(function_name(f), consts, params, results), "num_consts": len(consts),
             "num_carry": m, "length": n, "reverse": bool(reverse)}
    operands = consts + [t._trace_value() for t in c_leaves] + [t._trace_value() for t in xl]
    out = region_outputs(P.scan, operands, attrs, loc)
    return tree_unflatten(carry_tree, out[:m]), tree_unflatten(y_tree, out[m:])


def _split_output(out_tree, loc):
    """(carry, y)'s two structures from the structure of f's output."""
    kids = out_tree.children()
    if out_tree.node_type not in (tuple, list) or len(kids) != 2:
        raise ControlFlowError(f"tg.lax.scan: f must return a pair (carry, y), got "
                               f"{out_tree}{at(loc)}")
    return kids[0], kids[1]


def _scan_eager(f, init, xs, n: int, reverse: bool, loc):
    from ..tracer.ops import stack
    carry, ys = init, [None] * n
    for i in (reversed(range(n)) if reverse else range(n)):
        carry, ys[i] = f(carry, tree_map(lambda x: x[i], xs))
    if n == 0:
        return carry, _no_steps_ys(f, init, xs, loc)
    leaves0, y_tree = tree_flatten(ys[0])
    columns = [[tree_flatten(y)[0][k] for y in ys] for k in range(len(leaves0))]
    return carry, tree_unflatten(y_tree, [stack([as_tensor_leaf(v, "f's y", loc) for v in col])
                                          for col in columns])


def _no_steps_ys(f, init, xs, loc):
    """The ys of a scan of length 0, as JAX gives them: f traced once on abstract values
    for the structure and types of one step's y, each stacked zero times."""
    c_leaves, c_tree = flatten_tensors(init, "init", loc)
    x_leaves, x_tree = flatten_tensors(xs, "xs", loc)
    types = [t._type for t in c_leaves] + [t._type.with_shape(t._type.shape[1:])
                                           for t in x_leaves]
    _, results, out_tree = trace_function(f, treedef_tuple([c_tree, x_tree]), types, "f", loc)
    carry_tree, y_tree = _split_output(out_tree, loc)
    ys = [filled_tensor(0, r.type.dtype).expand(0, *r.type.shape).clone()
          for r in results[carry_tree.num_leaves:]]
    return tree_unflatten(y_tree, ys)


def torch_cond(pred, true_fn, false_fn, operands=()):
    """PyTorch's `torch.cond(pred, true_fn, false_fn, operands)`: one tuple (or list) of
    operands; the same region as tg.lax.cond."""
    if not isinstance(operands, (tuple, list)):
        raise ControlFlowError(f"tg.cond: operands must be a tuple or list of tensors, got "
                               f"{type(operands).__name__}{at(user_loc())}")
    return cond(pred, true_fn, false_fn, *operands)
