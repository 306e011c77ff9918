"""The differentiation pass: a function's IR in, the IR of its adjoint out.

    g = vjp(f, [x, w])             # g(x, w, ct) -> (dx, dw)
    h = vjp(g, [x], cotangents=["param", "zero"])   # and again: second order

The adjoint reuses the forward instructions it needs (the same objects), then
walks the forward body once in reverse, applying each instruction's rule from
`vjp_rules` with the builder.  Cotangents are symbolic zeros until something
flows in; fan-out adds them up.  Because the adjoint is ordinary IR made of the
same primitives, differentiating it again needs nothing special.

Clean-up: DCE before (it keeps objects); CSE of the forward part is left out
on purpose, since merging forward duplicates rebuilds their users and would
break the identity contract.  After: simplify, CSE and DCE on the adjoint
part, with the forward instructions kept exactly (they may absorb duplicates
the rules emit, e.g. a `cos x` the forward already computed).
"""
from __future__ import annotations

from typing import Sequence

from .builder import Builder
from .core import Function, Instr, Param, TupleType, Value, is_float_value
from .passes import cse, dce, simplify
from .vjp_rules import NON_DIFFERENTIABLE, VJP_RULES

COTANGENT_MODES = ("param", "ones", "zero")


def vjp(fn: Function, wrt: Sequence[Value], *, cotangents: Sequence[str] | None = None,
        keep_results: bool = False, name: str | None = None) -> Function:
    """The adjoint of `fn`: parameters `fn.params` + one cotangent parameter per
    result in mode "param"; results `fn.results` (if `keep_results`) + one
    gradient per `wrt` value, of that value's type (zeros if no path leads
    from it to a differentiated result).

    `wrt` holds parameters or body instructions of `fn`; `cotangents` says per
    result whether its cotangent is a new parameter ("param", the default), a
    seed of ones ("ones", for scalar losses) or nothing ("zero").  Results of
    integer or bool type are never differentiated (their "param" cotangent
    still appears, unused, so the signature does not depend on dtypes).
    """
    modes = _check_modes(fn, cotangents)
    wrt = list(wrt)
    _check_wrt(fn, wrt)
    forward = dce(fn)
    b = Builder(name or f"{fn.name}_vjp")
    seeds, ct_params = _seed(b, forward, modes)
    grads = _backward(b, forward, wrt, seeds)
    results = (list(forward.results) if keep_results else []) + grads
    adjoint = Function(b.name, list(fn.params) + ct_params, forward.body + b.body, results)
    return _clean(adjoint, keep=forward.body)


def _check_modes(fn: Function, cotangents: Sequence[str] | None) -> list[str]:
    modes = ["param"] * len(fn.results) if cotangents is None else list(cotangents)
    if len(modes) != len(fn.results):
        raise ValueError(f"vjp of @{fn.name}: {len(modes)} cotangent modes given for "
                         f"{len(fn.results)} results")
    for mode in modes:
        if mode not in COTANGENT_MODES:
            raise ValueError(f"vjp of @{fn.name}: cotangent mode {mode!r} is not one of "
                             f"{COTANGENT_MODES}")
    return modes


def _check_wrt(fn: Function, wrt: list[Value]) -> None:
    members = {id(v) for v in fn.params} | {id(i) for i in fn.body}
    for k, w in enumerate(wrt):
        if id(w) not in members:
            raise ValueError(f"vjp of @{fn.name}: wrt[{k}] ({w!r}) is not a parameter or "
                             "instruction of the function")
        if not w.dtype.is_float:
            raise ValueError(f"vjp of @{fn.name}: cannot differentiate with respect to "
                             f"wrt[{k}] of type {w.type}: only floating point values "
                             "have gradients")


def _seed(b: Builder, fn: Function, modes: list[str]):
    """The cotangent each result starts with, and the new cotangent parameters."""
    seeds: list[tuple[Value, Value]] = []
    ct_params: list[Param] = []
    for k, (result, mode) in enumerate(zip(fn.results, modes)):
        seed = None
        if mode == "param":
            seed = Param(result.type, f"ct{k}" if len(fn.results) > 1 else "ct")
            ct_params.append(seed)
        elif mode == "ones":
            seed = b.full(result.type, 1)
        if seed is not None and result.dtype.is_float:
            seeds.append((result, seed))
    return seeds, ct_params


class _Cotangents:
    """Cotangents by value id; absent means a symbolic zero."""

    def __init__(self, b: Builder):
        self.b = b
        self.by_id: dict[int, Value] = {}

    def get(self, v: Value) -> Value | None:
        return self.by_id.get(id(v))

    def add(self, v: Value, ct) -> None:
        if v.type.__class__ is TupleType:  # a region's outputs: one slot per output
            self._add_parts(v, ct)
            return
        if ct.type != v.type:
            raise TypeError(f"internal error: a cotangent of type {ct.type} for a value of "
                            f"type {v.type}")
        earlier = self.by_id.get(id(v))
        self.by_id[id(v)] = ct if earlier is None else self.b.add(earlier, ct)

    def _add_parts(self, v: Value, parts: list) -> None:
        """A tuple's cotangent is a list with one cotangent (or None: zero) per output."""
        old = self.by_id.get(id(v)) or [None] * len(v.type.types)
        new = []
        for t, a, c in zip(v.type.types, old, parts):
            if c is not None and c.type != t:
                raise TypeError(f"internal error: a cotangent of type {c.type} for an "
                                f"output of type {t}")
            new.append(c if a is None else a if c is None else self.b.add(a, c))
        self.by_id[id(v)] = new


def _active(fn: Function, wrt: list[Value]) -> set[int]:
    """Ids of the float values that depend on some `wrt` value."""
    active = {id(w) for w in wrt}
    for instr in fn.body:
        if is_float_value(instr) and any(id(op) in active for op in instr.operands):
            active.add(id(instr))
    return active


def _backward(b: Builder, fn: Function, wrt: list[Value],
              seeds: list[tuple[Value, Value]]) -> list[Value]:
    """Walk the body in reverse; returns one gradient per `wrt` value."""
    active = _active(fn, wrt)
    cts = _Cotangents(b)
    for result, seed in seeds:
        if id(result) in active:
            cts.add(result, seed)
    for instr in reversed(fn.body):
        ct = cts.get(instr)
        if ct is None or id(instr) not in active:
            continue
        rule = _rule(instr)
        if rule is None:  # non-differentiable: nothing flows to the operands
            continue
        b.loc = instr.loc
        for op, op_ct in zip(instr.operands, rule(b, instr, ct)):
            if op_ct is not None and id(op) in active:
                cts.add(op, op_ct)
    b.loc = None
    return [_or_zeros(b, cts.get(w), w) for w in wrt]


def _or_zeros(b: Builder, ct: Value | None, like: Value) -> Value:
    return b.full(like.type, 0) if ct is None else ct


def _rule(instr: Instr):
    """The instruction's VJP rule; None for a declared non-differentiable one."""
    rule = VJP_RULES.get(instr.prim)
    if rule is not None or instr.prim in NON_DIFFERENTIABLE:
        return rule
    raise NotImplementedError(f"no VJP rule for primitive {instr.prim.name!r} "
                              f"(at {instr.loc or 'unknown location'})")


def _clean(adjoint: Function, keep: list[Instr]) -> Function:
    """Simplify and merge the adjoint part; the forward instructions stay as they are."""
    adjoint = simplify(dce(adjoint), keep=keep)
    return dce(cse(dce(adjoint), keep=keep))


def residuals(fn: Function, wrt: Sequence[Value]) -> dict[int, list[Value]]:
    """For each instruction whose VJP rule runs, the forward values the rule reads.

    These are the values reverse mode must keep (JAX's residuals, PyTorch's saved
    tensors): the eager engine checks that each is still as the instruction saw it.
    Each rule is run on its own with a stand-in cotangent and only the gradients of
    operands that need one are kept, so a constant's side of a product reads nothing.
    """
    active = _active(fn, list(wrt))
    forward = {id(p) for p in fn.params} | {id(i) for i in fn.body}
    reads: dict[int, list[Value]] = {}
    for instr in fn.body:
        if id(instr) not in active or not is_float_value(instr):
            continue
        rule = _rule(instr)
        if rule is None:
            continue
        b = Builder("rule")
        stand_in = [Param(t) for t in instr.type.types] \
            if instr.type.__class__ is TupleType else Param(instr.type)
        cts = rule(b, instr, stand_in)
        wanted = [ct for op, ct in zip(instr.operands, cts) if ct is not None and id(op) in active]
        used = dce(Function("rule", [], b.body, wanted))
        seen: dict[int, Value] = {}
        operands = [op for v in used.body for op in v.operands] + wanted
        for op in operands:
            # constants (instructions without operands) are recomputed, never kept
            if id(op) in forward and not (isinstance(op, Instr) and not op.operands):
                seen.setdefault(id(op), op)
        reads[id(instr)] = list(seen.values())
    return reads
