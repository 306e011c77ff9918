"""Forward mode: a function's IR in, the IR of its Jacobian-vector product out.

    t = jvp(f, [x, w])         # t(x, w, tx, tw) -> (*f's results, *their tangents)
    known, linear = linearize(t, n_primal_params=2, n_primal_results=len(f.results))

One sweep in body order: each instruction is kept (the same object) and followed by
the instructions of its tangent, from `jvp_rules`.  Tangents are symbolic zeros until
a `wrt` value reaches them, and only floating point values carry them.  The result
is ordinary IR (so `vjp(jvp(f))` and `jvp(vjp(f))` need nothing special).

A region rule's tangent instruction (a scan or while over primal and tangent carries)
computes the primal outputs too; the rule says so with `joint_region`, and `jvp`
then reads the primal outputs from it, so the primal loop does not run twice
(`merge_regions=False` keeps both: `linearize` needs a primal part without tangents).

`linearize` splits a JVP program the way JAX's partial evaluation does: the part
that needs only the primal parameters runs once; the linear part reads its
residuals (the primal values the tangent instructions use) as parameters.
"""
from __future__ import annotations

import threading
from typing import Sequence

from . import primitives as P
from .builder import Builder
from .core import Function, Instr, Param, TupleType, Value, is_float_value
from .jvp_rules import JVP_RULES
from .passes import cse, dce, simplify
from .passes.externalize import externalize
from .passes.rewrite import rebuilt, remap

#: per thread, one dict per jvp being built (region bodies nest): id(primal region
#: instruction) -> (its joint instruction, primal output index -> joint output index)
_joint = threading.local()


def joint_region(primal: Instr, joint: Instr, index: Sequence[int]) -> None:
    """A region JVP rule's note: `joint`'s output index[k] equals `primal`'s output k."""
    stack = getattr(_joint, "stack", None)
    if stack:
        stack[-1][id(primal)] = (joint, tuple(index))


def jvp(fn: Function, wrt: Sequence[Value], *, name: str | None = None,
        tangent_params: Sequence[Param] | None = None, merge_regions: bool = True) -> Function:
    """Parameters `fn.params` + one tangent per `wrt` value (of its type); results
    `fn.results` + one tangent per result (zeros where none reaches it; an integer
    result's tangent is zeros of its type)."""
    stack = _joint.__dict__.setdefault("stack", [])
    stack.append({})
    try:
        out, forward = _jvp(fn, wrt, name, tangent_params)
    finally:
        joint = stack.pop()
    kept = forward.body  # the primal instructions: left as they are (closed under operands)
    if merge_regions and joint:
        out = _read_primals_from_joint(out, joint)
        survived = {id(i) for i in out.body}
        kept = [i for i in forward.body if id(i) in survived]
    return dce(cse(dce(simplify(dce(out), keep=kept)), keep=kept))


def _read_primals_from_joint(fn: Function, joint: dict) -> Function:
    """Every `output` of a primal region read from its joint region instead (and what
    reads them rebuilt); the primal region itself is then dead."""
    replaced: dict[int, Value] = {}
    body = []
    for instr in fn.body:
        if instr.prim is P.output and id(instr.operands[0]) in joint:
            region, index = joint[id(instr.operands[0])]
            region = replaced.get(id(region), region)  # rebuilt if its operands were
            new = Instr(P.output, (region,), {**instr.attrs, "index": index[
                instr.attrs["index"]]}, instr.type, instr.loc)
        else:
            new = remap(instr, replaced)
        if new is not instr:
            replaced[id(instr)] = new
        body.append(new)
    return dce(rebuilt(fn, body, replaced))


def _jvp(fn: Function, wrt, name, tangent_params) -> tuple[Function, Function]:
    wrt = list(wrt)
    members = {id(v) for v in fn.params} | {id(i) for i in fn.body}
    for k, w in enumerate(wrt):
        if id(w) not in members:
            raise ValueError(f"jvp of @{fn.name}: wrt[{k}] ({w!r}) is not a parameter or "
                             "instruction of the function")
    forward = dce(fn)
    b = Builder(name or f"{fn.name}_jvp")
    if tangent_params is None:
        tangent_params = [Param(w.type, f"t{k}" if len(wrt) > 1 else "t")
                          for k, w in enumerate(wrt)]
    tangents: dict[int, Value] = {id(w): t for w, t in zip(wrt, tangent_params)
                                  if w.dtype.is_float}
    for instr in forward.body:
        b.body.append(instr)
        given = tangents.get(id(instr))  # an instruction in wrt keeps its given tangent
        if given is not None or not is_float_value(instr):
            continue
        ins = [tangents.get(id(op)) for op in instr.operands]
        if all(t is None for t in ins):
            continue
        rule = JVP_RULES.get(instr.prim)
        if rule is None:
            raise NotImplementedError(f"no JVP rule for primitive {instr.prim.name!r} "
                                      f"(at {instr.loc or 'unknown location'})")
        b.loc = instr.loc
        out = rule(b, instr, ins)
        if isinstance(out, list) and all(t is None for t in out):
            out = None
        if out is not None:
            _check_tangent_type(instr, out)
            tangents[id(instr)] = out
    b.loc = None
    outs = [tangents.get(id(r)) or b.full(r.type, 0) for r in forward.results]
    out = Function(b.name, list(fn.params) + list(tangent_params), b.body,
                   list(forward.results) + outs)
    return out, forward


def _check_tangent_type(instr: Instr, out) -> None:
    """A tensor's tangent has its type; a region's tuple has a list of tangents (None:
    zero), one per output, as its cotangent has in ir/autodiff.py."""
    if instr.type.__class__ is TupleType:
        ok = isinstance(out, list) and len(out) == len(instr.type.types) and all(
            t is None or t.type == want for t, want in zip(out, instr.type.types))
        got = out if not isinstance(out, list) else [None if t is None else str(t.type)
                                                     for t in out]
    else:
        ok, got = not isinstance(out, list) and out.type == instr.type, getattr(out, "type", out)
    if not ok:
        raise TypeError(f"internal error: the JVP rule of {instr.prim.name} gave a "
                        f"tangent of type {got} for {instr.type}")


def linearize(program: Function, n_primal_params: int,
              n_primal_results: int) -> tuple[Function, Function]:
    """Split a JVP program (primal parameters first, then tangents; primal results
    first, then tangents) into `known(primals) -> (*primal results, *residuals)` and
    `linear(*residuals, *tangents) -> tangent results`."""
    primal_params = program.params[:n_primal_params]
    tangent_params = program.params[n_primal_params:]
    known_ids = {id(p) for p in primal_params}
    for instr in program.body:
        if all(id(op) in known_ids for op in instr.operands):
            known_ids.add(id(instr))
    tangent_results = program.results[n_primal_results:]
    linear_part = dce(Function(program.name, program.params, program.body, tangent_results))
    residuals, seen = [], set()
    for instr in linear_part.body:
        if id(instr) in known_ids:
            continue
        for op in instr.operands:
            # known values the linear part reads; constants (no operands) are recomputed
            if id(op) in known_ids and id(op) not in seen and \
                    not (isinstance(op, Instr) and not op.operands):
                seen.add(id(op))
                residuals.append(op)
    for r in tangent_results:  # a tangent result that is known (zeros, or a primal value)
        if id(r) in known_ids and isinstance(r, Instr) and r.operands and id(r) not in seen:
            seen.add(id(r))
            residuals.append(r)
    known = dce(Function(f"{program.name}_known", primal_params, program.body,
                         list(program.results[:n_primal_results]) + residuals))
    cut, res_params = externalize(linear_part, residuals)
    linear = dce(Function(f"{program.name}_linear", res_params + list(tangent_params),
                          cut.body, cut.results))
    return known, linear
