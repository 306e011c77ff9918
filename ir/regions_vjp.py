"""Reverse-mode rules of the region primitives, registered into vjp_rules.VJP_RULES.

Each adjoint is itself a region instruction whose regions are the `vjp` of the
forward regions, so it is ordinary IR: differentiating it again (grad of grad
through a scan) needs nothing more.

  output      the cotangent goes to its slot of the tuple's cotangent
  cond        a cond on the same predicate whose branches are the branches'
              adjoints: only the taken branch's runs
  scan        the forward scan again, also stacking the residuals (what the body's
              adjoint reads of each step: forward values and the entering carry),
              then a reverse scan over them whose body is the body's adjoint
              reading the residuals (nothing of the step is recomputed) and whose
              carry accumulates the consts' cotangents; compiled code runs the
              forward once (ir/passes/scan_merge.py)
  while_loop  not reverse-differentiable (its trip count is data): an error
              pointing at fori_loop and scan, as JAX's
"""
from __future__ import annotations

from . import primitives as P
from .autodiff import vjp
from .builder import Builder
from .core import Function, Instr, Value
from .passes import dce
from .vjp_rules import defvjp


def inline(b: Builder, fn: Function, args: list[Value]) -> list[Value]:
    """Append `fn`'s body to `b` with its parameters bound to `args`; its results."""
    env = {id(p): a for p, a in zip(fn.params, args)}
    for instr in fn.body:
        new = Instr(instr.prim, [env[id(o)] for o in instr.operands], dict(instr.attrs),
                    instr.type, instr.loc)
        b.body.append(new)
        env[id(instr)] = new
    return [env[id(r)] for r in fn.results]


def _zeros_if_none(b: Builder, ct: Value | None, t) -> Value:
    return b.full(t, 0) if ct is None else ct


@defvjp(P.output)
def _output_vjp(b: Builder, instr: Instr, ct: Value):
    parts = [None] * len(instr.operands[0].type.types)
    parts[instr.attrs["index"]] = ct
    return [parts]


@defvjp(P.cond)
def _cond_vjp(b: Builder, instr: Instr, cts: list):
    pred, *ops = instr.operands
    live = [k for k, t in enumerate(instr.type.types) if t.dtype.is_float and cts[k] is not None]
    diff = [j for j, op in enumerate(ops) if op.dtype.is_float]
    if not live or not diff:
        return [None] * len(instr.operands)
    branches = {}
    for name in ("true", "false"):
        fn = instr.attrs[name]
        sub = Function(fn.name, fn.params, fn.body, [fn.results[k] for k in live])
        branches[name] = vjp(sub, [fn.params[j] for j in diff], name=f"{fn.name}_vjp")
    adj = b.emit(P.cond, pred, *ops, *[cts[k] for k in live], **branches)
    grads: list = [None] * len(ops)
    for n, j in enumerate(diff):
        grads[j] = b.output(adj, index=n)
    return [None] + grads


@defvjp(P.scan)
def _scan_vjp(b: Builder, instr: Instr, cts: list):
    a = instr.attrs
    body, nc, m, length, reverse = (a["body"], a["num_consts"], a["num_carry"], a["length"],
                                    a["reverse"])
    ops = list(instr.operands)
    consts, init, xs = ops[:nc], ops[nc:nc + m], ops[nc + m:]
    out_types = instr.type.types
    ny = len(out_types) - m
    fc = [j for j in range(nc) if consts[j].dtype.is_float]
    fk = [k for k in range(m) if init[k].dtype.is_float]
    fx = [j for j in range(len(xs)) if xs[j].dtype.is_float]
    if not fc and not fk and not fx:
        return [None] * len(ops)
    carry_params = body.params[nc:nc + m]
    wrt = ([body.params[j] for j in fc] + [carry_params[k] for k in fk]
           + [body.params[nc + m + j] for j in fx])
    g = vjp(body, wrt, name=f"{body.name}_vjp")  # (params..., ct per result) -> grads
    saved, invariant = _residuals(body, g, nc, m)
    # 1. the forward scan again, its results and the residuals stacked: the same
    #    instruction as `instr` plus outputs, so compiled code runs one of the two
    #    (codegen/passes.compiled_ir merges them: ir/passes/scan_merge.py)
    saving = dce(Function(f"{body.name}_residuals", body.params, body.body,
                          list(body.results) + saved))
    res = b.emit(P.scan, *ops, body=saving, num_consts=nc, num_carry=m, length=length,
                 reverse=reverse)
    stacked = [b.output(res, index=m + ny + k) for k in range(len(saved))]
    # 2. the reverse scan: carry (consts' cotangents so far, the carry's cotangent),
    #    over the residuals, the xs and the ys' cotangents
    rb = Builder(f"{body.name}_adjoint")
    pc = [rb.param(c.type) for c in consts]
    pacc = [rb.param(consts[j].type) for j in fc]
    pdk = [rb.param(t.type) for t in init]
    pres = [rb.param(v.type) for v in saved]
    px = [rb.param(x.type.with_shape(x.shape[1:])) for x in xs]
    pcty = [rb.param(t.with_shape(t.shape[1:])) for t in out_types[m:]]
    bound = list(zip(body.params[:nc], pc)) + list(zip(body.params[nc + m:], px)) \
        + list(zip(g.params[len(body.params):], pdk + pcty)) + list(zip(saved, pres))
    grads = _replay_adjoint(rb, g, body, dict((id(k), v) for k, v in bound), invariant)
    gc, gk, gx = grads[:len(fc)], grads[len(fc):len(fc) + len(fk)], grads[len(fc) + len(fk):]
    acc = [rb.add(p, d) for p, d in zip(pacc, gc)]
    dk = list(pdk)
    for k, d in zip(fk, gk):
        dk[k] = d
    adjoint = dce(rb.build(*acc, *dk, *gx))
    ct_carry = [_zeros_if_none(b, cts[k], out_types[k]) for k in range(m)]
    ct_ys = [_zeros_if_none(b, cts[m + k], out_types[m + k]) for k in range(ny)]
    zeros = [b.full(consts[j].type, 0) for j in fc]
    rev = b.emit(P.scan, *consts, *zeros, *ct_carry, *stacked, *xs, *ct_ys, body=adjoint,
                 num_consts=nc, num_carry=len(fc) + m, length=length, reverse=not reverse)
    grads_out: list = [None] * len(ops)
    for n, j in enumerate(fc):
        grads_out[j] = b.output(rev, index=n)
    for k in fk:
        grads_out[nc + k] = b.output(rev, index=len(fc) + k)
    for n, j in enumerate(fx):
        grads_out[nc + m + j] = b.output(rev, index=len(fc) + m + n)
    return grads_out


def _residuals(body: Function, g: Function, nc: int, m: int) -> tuple[list[Value], set[int]]:
    """What the body's adjoint `g` reads of the forward step (JAX's residuals): the
    step's values the reverse scan gets stacked (`saved`: forward instructions in body
    order, then carry parameters), and the ids of the forward instructions that depend
    on no carry or slice (`invariant`: recomputed from the consts instead of stacked)."""
    varying = {id(p) for p in body.params[nc:]}
    invariant: set[int] = set()
    for i in body.body:
        if any(id(o) in varying for o in i.operands):
            varying.add(id(i))
        else:
            invariant.add(id(i))
    forward = {id(i) for i in body.body}
    read: set[int] = set()
    for i in g.body:
        if id(i) not in forward:
            read.update(id(o) for o in i.operands)
    read.update(id(r) for r in g.results)
    saved = [i for i in body.body if id(i) in read and id(i) not in invariant]
    return saved + [p for p in body.params[nc:nc + m] if id(p) in read], invariant


def _replay_adjoint(rb: Builder, g: Function, body: Function, env: dict,
                    invariant: set[int]) -> list[Value]:
    """Append the adjoint part of `g` to `rb`, reading the forward step's values from
    `env` (parameters and residuals by id); the forward instructions it needs that
    depend only on the consts are recomputed first.  Returns `g`'s results."""
    forward = {id(i) for i in body.body}
    for instr in body.body:
        if id(instr) in invariant and id(instr) not in env:
            env[id(instr)] = _copy(rb, instr, env)
    for instr in g.body:
        if id(instr) not in forward:
            env[id(instr)] = _copy(rb, instr, env)
    return [env[id(r)] for r in g.results]


def _copy(rb: Builder, instr: Instr, env: dict) -> Instr:
    new = Instr(instr.prim, [env[id(o)] for o in instr.operands], dict(instr.attrs),
                instr.type, instr.loc)
    rb.body.append(new)
    return new


@defvjp(P.while_loop)
def _while_vjp(b: Builder, instr: Instr, cts: list):
    where = f" (at {instr.loc.full()})" if instr.loc is not None else ""
    raise NotImplementedError(
        "Reverse-mode differentiation does not work for tg.lax.while_loop: its trip count "
        "depends on the data, so there are no per-step values to save. Use "
        f"tg.lax.fori_loop with static (Python int) bounds, or tg.lax.scan{where}.")
