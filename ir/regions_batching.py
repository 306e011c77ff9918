"""Batching rules of the region primitives, registered into batching_rules.BATCHING_RULES.

The batching pass keeps a batched value's batch axis first.  Inside a region that
holds too (a batched carry or const is (B, ...)), except for what a scan slices: a
batched xs operand is moved to (L, B, ...) so the scan walks its leading axis and
the body sees a slice (B, ...) with the batch first, and its stacked ys come out
(L, B, ...) and are moved back to (B, L, ...).  A region's answer is a list of
(value, batched) pairs, one per output, which `output`'s rule reads.

  output      the pair of its index
  scan        a scan of the body batched by the batching pass; a carry is batched
              when its initial value is or when one step makes it so (iterated to a
              fixed point, as JAX does), its unbatched initial value then broadcast
  cond        unbatched predicate: a cond of the batched branches; batched predicate:
              both branches run batched and `select` picks per example (as JAX does);
              a branch that indexes by data (or loops) runs only when some example
              takes it, its other rows reading a taking example's operands (the
              predicate may be what keeps its index in range)
  while_loop  unbatched predicate: a while of the batched body; batched predicate:
              every carry batched, run while any example's predicate holds, and a step
              updates only the examples whose predicate holds (select), as JAX does;
              a body that indexes by data steps the stopped rows on a running
              example's state
"""
from __future__ import annotations

from . import primitives as P
from .primitives import OpGroup
from .batching import vmap
from .batching_rules import defbatch
from .builder import Builder
from .core import Function, Instr, Value, regions
from .dtypes import i32
from .regions_vjp import inline


def batched_results(fn: Function, batched_params: list[bool]) -> list[bool]:
    """Which results of `fn` may depend on a batched parameter (a superset of what the
    batching pass makes batched, so an unbatched answer here is unbatched there)."""
    batched = {id(p) for p, bt in zip(fn.params, batched_params) if bt}
    for instr in fn.body:
        if any(id(o) in batched for o in instr.operands):
            batched.add(id(instr))
    return [id(r) in batched for r in fn.results]


def _dims(flags) -> list[int | None]:
    return [0 if bt else None for bt in flags]


def _broadcast(b: Builder, v: Value, size: int) -> Value:
    return b.broadcast(v, shape=(size,) + v.shape)


def _swap01(b: Builder, v: Value) -> Value:
    """(A, B, ...) -> (B, A, ...)."""
    return b.transpose(v, perm=(1, 0) + tuple(range(2, len(v.shape))))


def _carry_fixed_point(body: Function, consts_b: list[bool], carry_b: list[bool],
                       rest_b: list[bool]) -> list[bool]:
    """Carries batched at the start or by some step, iterating until nothing changes."""
    m = len(carry_b)
    while True:
        after = batched_results(body, consts_b + carry_b + rest_b)[:m]
        new = [a or c for a, c in zip(after, carry_b)]
        if new == carry_b:
            return carry_b
        carry_b = new


def _select_per_example(b: Builder, pred: Value, on_true: Value, on_false: Value) -> Value:
    """Row k of on_true where pred[k], else of on_false; pred is bool (B,)."""
    shape = on_true.shape
    mask = b.reshape(pred, shape=(shape[0],) + (1,) * (len(shape) - 1))
    return b.select(b.broadcast(mask, shape=shape), on_true, on_false)


@defbatch(P.output)
def _output_batch(b, instr, operands, batched, size):
    (parts,) = operands
    return parts[instr.attrs["index"]]


@defbatch(P.scan)
def _scan_batch(b, instr, operands, batched, size):
    a = instr.attrs
    body, nc, m = a["body"], a["num_consts"], a["num_carry"]
    consts, init, xs = operands[:nc], list(operands[nc:nc + m]), operands[nc + m:]
    consts_b, init_b, xs_b = list(batched[:nc]), list(batched[nc:nc + m]), list(batched[nc + m:])
    carry_b = _carry_fixed_point(body, consts_b, init_b, xs_b)
    init = [_broadcast(b, v, size) if cb and not ib else v
            for v, cb, ib in zip(init, carry_b, init_b)]
    xs = [_swap01(b, x) if xb else x for x, xb in zip(xs, xs_b)]
    ys_b = batched_results(body, consts_b + carry_b + xs_b)[m:]
    new_body = vmap(body, _dims(consts_b + carry_b + xs_b), _dims(carry_b + ys_b), size,
                    name=f"{body.name}_batched")
    t = b.emit(P.scan, *consts, *init, *xs, **{**a, "body": new_body})
    parts = [(b.output(t, index=k), cb) for k, cb in enumerate(carry_b)]
    for k, yb in enumerate(ys_b):
        y = b.output(t, index=m + k)
        parts.append((_swap01(b, y), True) if yb else (y, False))
    return parts


@defbatch(P.cond)
def _cond_batch(b, instr, operands, batched, size):
    pred, *ops = operands
    pred_b, ops_b = batched[0], list(batched[1:])
    branches = {k: instr.attrs[k] for k in ("true", "false")}
    if not pred_b:
        outs_b = [x or y for x, y in zip(batched_results(branches["true"], ops_b),
                                         batched_results(branches["false"], ops_b))]
        batched_branches = {k: vmap(fn, _dims(ops_b), _dims(outs_b), size,
                                    name=f"{fn.name}_batched") for k, fn in branches.items()}
        t = b.emit(P.cond, pred, *ops, **batched_branches)
        return [(b.output(t, index=k), ob) for k, ob in enumerate(outs_b)]
    # a predicate per example: both branches run on the whole batch, select picks
    n = len(instr.type.types)
    batched_branches = {k: vmap(fn, _dims(ops_b), [0] * n, size, name=f"{fn.name}_batched")
                        for k, fn in branches.items()}
    takes = {"true": pred, "false": b.select(pred, b.full(pred.type, False),
                                             b.full(pred.type, True))} if size else {}
    results = {k: _where_taken(b, fn, takes[k], list(ops), ops_b) if takes and _may_fail(fn)
               else inline(b, fn, list(ops)) for k, fn in batched_branches.items()}
    return [(_select_per_example(b, pred, t, f), True)
            for t, f in zip(results["true"], results["false"])]


def _where_taken(b: Builder, branch: Function, takes: Value, ops: list[Value],
                 ops_b: list[bool]) -> list[Value]:
    """A batched branch's results for the examples that take it (`takes`, bool (B,)):
    the others' rows are garbage, dropped by the caller's select.  The branch may not
    accept the state of an example that does not take it (an index the predicate
    guards), so those rows read the first taking example's operands instead, and
    when no example takes it, it does not run (zeros)."""
    flag = b.convert(takes, dtype=i32)
    some = b.reduce_max(flag, axes=(0,))
    gb = Builder(f"{branch.name}_where_taken")
    g_takes = gb.param(takes.type)
    g_ops = [gb.param(o.type, getattr(o, "hint", None)) for o in ops]
    first = gb.emit(P.argmax, gb.convert(g_takes, dtype=i32), axis=0)
    inputs = [_select_per_example(gb, g_takes, p, _row_everywhere(gb, p, first)) if ob else p
              for p, ob in zip(g_ops, ops_b)]
    taken = gb.build(*inline(gb, branch, inputs))
    zb = Builder(f"{branch.name}_not_taken")
    zb.param(takes.type)
    for o in ops:
        zb.param(o.type)
    skipped = zb.build(*[zb.full(t, 0) for t in branch.result_types])
    t = b.emit(P.cond, b.gt(some, b.full(some.type, 0)), takes, *ops, true=taken,
               false=skipped)
    return [b.output(t, index=k) for k in range(len(branch.results))]


@defbatch(P.while_loop)
def _while_batch(b, instr, operands, batched, size):
    a = instr.attrs
    cond, body, nc = a["cond"], a["body"], a["num_consts"]
    consts, init = operands[:nc], list(operands[nc:])
    consts_b, init_b = list(batched[:nc]), list(batched[nc:])
    carry_b = _carry_fixed_point(body, consts_b, init_b, [])
    (pred_b,) = batched_results(cond, consts_b + carry_b)
    if pred_b:  # examples stop at different steps: every carry is per example
        carry_b = [True] * len(init)
    init = [_broadcast(b, v, size) if cb and not ib else v
            for v, cb, ib in zip(init, carry_b, init_b)]
    dims = _dims(consts_b + carry_b)
    new_body = vmap(body, dims, _dims(carry_b), size, name=f"{body.name}_batched")
    new_cond = vmap(cond, dims, [0 if pred_b else None], size, name=f"{cond.name}_batched")
    if pred_b:
        new_cond, new_body = _any_example(new_cond, new_body, nc, consts_b, size)
    t = b.emit(P.while_loop, *consts, *init, cond=new_cond, body=new_body, num_consts=nc)
    return [(b.output(t, index=k), cb) for k, cb in enumerate(carry_b)]


def _any_example(cond: Function, body: Function, nc: int, consts_b: list[bool],
                 size: int) -> tuple[Function, Function]:
    """From a batched cond (-> bool (B,)) and body: a cond true while any example's
    holds, and a body that steps only those examples (the others keep their carry).

    The body runs on the whole batch, but a stopped example's state may be one the
    body cannot take (its counter past the end of what it indexes: the loop stopped
    for that reason), so the stopped rows read a running example's state instead,
    and their results are dropped."""
    cb = Builder(f"{cond.name}_any")
    params = [cb.param(p.type, p.hint) for p in cond.params]
    (pred,) = inline(cb, cond, params)
    flags = cb.convert(pred, dtype=i32)
    some = cb.reduce_max(flags, axes=(0,))
    any_cond = cb.build(cb.gt(some, cb.full(some.type, 0)))
    bb = Builder(f"{body.name}_masked")
    params = [bb.param(p.type, p.hint) for p in body.params]
    (pred,) = inline(bb, cond, params)
    inputs = list(params)
    if size and _may_fail(body):
        running = bb.emit(P.argmax, bb.convert(pred, dtype=i32), axis=0)  # the first
        for k, p in enumerate(params):
            if k >= nc or consts_b[k]:
                inputs[k] = _select_per_example(bb, pred, p, _row_everywhere(bb, p, running))
    stepped = inline(bb, body, inputs)
    kept = [_select_per_example(bb, pred, new, old)
            for new, old in zip(stepped, params[nc:])]
    return any_cond, bb.build(*kept)


def may_fail(instrs) -> bool:
    """Whether one of `instrs` may fail, or not stop, on a state the program never
    gives it: it indexes by data (gather, scatter) or runs a while_loop, itself or in
    a region.  Such code runs only where the program asks (here, and when tracing
    a region: tracer/control_flow.py)."""
    return any(i.prim.group in (OpGroup.GATHER, OpGroup.SCATTER) or i.prim is P.while_loop
               or any(may_fail(r.body) for _, r in regions(i)) for i in instrs)


def _may_fail(fn: Function) -> bool:
    return may_fail(fn.body)


def _row_everywhere(b: Builder, v: Value, row: Value) -> Value:
    """v (B, ...) with every row replaced by row `row` (an i64 scalar) of v."""
    index = b.broadcast(b.reshape(row, shape=(1,) * len(v.shape)), shape=v.shape)
    return b.emit(P.gather, v, index, axes=(0,))
