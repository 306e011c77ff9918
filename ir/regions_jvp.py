"""Forward-mode rules of the region primitives, registered into jvp_rules.JVP_RULES.

A region's tangent is a list with one tangent (None: zero) per output, as its
cotangent is in reverse mode.  Each rule emits a region instruction whose regions
are the `jvp` of the forward regions, so the result is ordinary IR (it can be
differentiated, batched and compiled again).  The primal instruction stays as it
is; the new one computes the tangents (a scan or a while also carries the primal
carry, which the tangent steps read, and gives the primal outputs too: `joint_region`
tells forward_mode.jvp to read them there, so the primal loop runs once).  Symbolic-zero tangents entering a region are
instantiated as zeros, except for consts, whose zero tangents stay symbolic.

  output      the tangent's element
  cond        a cond on the same predicate whose branches are the branches' JVPs
  scan        a scan over (carry, tangent carry) and (xs, tangent xs) whose body is
              the body's JVP, stacking ys' tangents
  while_loop  a while over (carry, tangent carry) whose cond reads the primal carry
              and whose body is the body's JVP (forward mode through a data-dependent
              trip count is well defined, as in JAX)
"""
from __future__ import annotations

from . import primitives as P
from .builder import Builder
from .core import Function, Instr, Param, Value
from .forward_mode import joint_region, jvp
from .jvp_rules import defjvp
from .passes import dce


def _zeros_if_none(b: Builder, t: Value | None, like: Value) -> Value:
    return b.full(like.type, 0) if t is None else t


def _floats(values) -> list[int]:
    return [k for k, v in enumerate(values) if v.dtype.is_float]


def _tangent_region(fn: Function, wrt: list[int], name: str):
    """The JVP of region `fn` along its parameters `wrt`; its tangent parameters
    (in `wrt`'s order), its primal results (jvp may have rebuilt `fn`'s own) and its
    results' tangents (both by result index)."""
    tparams = [Param(fn.params[j].type, f"t{fn.params[j].hint or j}") for j in wrt]
    program = jvp(fn, [fn.params[j] for j in wrt], name=name, tangent_params=tparams)
    n = len(fn.results)
    return program, tparams, list(program.results[:n]), program.results[n:]


@defjvp(P.output)
def _output_jvp(b: Builder, instr: Instr, tangents):
    (parts,) = tangents
    return None if parts is None else parts[instr.attrs["index"]]


@defjvp(P.cond)
def _cond_jvp(b: Builder, instr: Instr, tangents):
    pred, *ops = instr.operands
    diff = [j for j in _floats(ops) if tangents[1 + j] is not None]
    live = [k for k, t in enumerate(instr.type.types) if t.dtype.is_float]
    if not diff or not live:
        return None
    branches = {}
    for name in ("true", "false"):
        fn = instr.attrs[name]
        program, _, _, touts = _tangent_region(fn, diff, f"{fn.name}_jvp")
        branches[name] = dce(Function(program.name, program.params, program.body,
                                      [touts[k] for k in live]))
    tan = b.emit(P.cond, pred, *ops, *[tangents[1 + j] for j in diff], **branches)
    out: list = [None] * len(instr.type.types)
    for n, k in enumerate(live):
        out[k] = b.output(tan, index=n)
    return out


@defjvp(P.scan)
def _scan_jvp(b: Builder, instr: Instr, tangents):
    a = instr.attrs
    body, nc, m = a["body"], a["num_consts"], a["num_carry"]
    ops = list(instr.operands)
    consts, init, xs = ops[:nc], ops[nc:nc + m], ops[nc + m:]
    tc, tk, tx = tangents[:nc], tangents[nc:nc + m], tangents[nc + m:]
    dc = [j for j in _floats(consts) if tc[j] is not None]
    fk = _floats(init)
    dx = [j for j in _floats(xs) if tx[j] is not None]
    ny = len(body.results) - m
    fy = [k for k in range(ny) if body.results[m + k].dtype.is_float]
    wrt = [j for j in dc] + [nc + k for k in fk] + [nc + m + j for j in dx]
    program, tparams, primal, touts = _tangent_region(body, wrt, f"{body.name}_jvp")
    pc, pk, px = body.params[:nc], body.params[nc:nc + m], body.params[nc + m:]
    tpc, tpk, tpx = (tparams[:len(dc)], tparams[len(dc):len(dc) + len(fk)],
                     tparams[len(dc) + len(fk):])
    results = (primal[:m] + [touts[k] for k in fk] + primal[m:]
               + [touts[m + k] for k in fy])
    new_body = dce(Function(program.name, [*pc, *tpc, *pk, *tpk, *px, *tpx], program.body,
                            results))
    tan = b.emit(P.scan, *consts, *[tc[j] for j in dc],
                 *init, *[_zeros_if_none(b, tk[k], init[k]) for k in fk],
                 *xs, *[tx[j] for j in dx],
                 body=new_body, num_consts=nc + len(dc), num_carry=m + len(fk),
                 length=a["length"], reverse=a["reverse"])
    joint_region(instr, tan, [*range(m), *range(m + len(fk), m + len(fk) + ny)])
    out: list = [None] * len(instr.type.types)
    for n, k in enumerate(fk):
        out[k] = b.output(tan, index=m + n)
    for n, k in enumerate(fy):
        out[m + k] = b.output(tan, index=m + len(fk) + ny + n)
    return out


@defjvp(P.while_loop)
def _while_jvp(b: Builder, instr: Instr, tangents):
    a = instr.attrs
    body, cond, nc = a["body"], a["cond"], a["num_consts"]
    ops = list(instr.operands)
    consts, init = ops[:nc], ops[nc:]
    tc, tk = tangents[:nc], tangents[nc:]
    dc = [j for j in _floats(consts) if tc[j] is not None]
    fk = _floats(init)
    wrt = [j for j in dc] + [nc + k for k in fk]
    program, tparams, primal, touts = _tangent_region(body, wrt, f"{body.name}_jvp")
    pc, pk = body.params[:nc], body.params[nc:]
    tpc, tpk = tparams[:len(dc)], tparams[len(dc):]
    new_body = dce(Function(program.name, [*pc, *tpc, *pk, *tpk], program.body,
                            primal + [touts[k] for k in fk]))
    # the cond reads only the primal consts and carry: fresh parameters for the rest
    cc, ck = cond.params[:nc], cond.params[nc:]
    skip_c = [Param(consts[j].type) for j in dc]
    skip_k = [Param(init[k].type) for k in fk]
    new_cond = Function(f"{cond.name}_jvp", [*cc, *skip_c, *ck, *skip_k], cond.body,
                        cond.results)
    tan = b.emit(P.while_loop, *consts, *[tc[j] for j in dc],
                 *init, *[_zeros_if_none(b, tk[k], init[k]) for k in fk],
                 cond=new_cond, body=new_body, num_consts=nc + len(dc))
    joint_region(instr, tan, range(len(init)))
    out: list = [None] * len(init)
    for n, k in enumerate(fk):
        out[k] = b.output(tan, index=len(init) + n)
    return out
