"""The batching pass (vmap): a function's IR in, the IR of its batched form out.

    g = vmap(f, in_dims=[0, None], out_dims=[0], size=64)   # x: f32[64,3], w unbatched

One sweep in body order.  A parameter's batch axis is moved first (a transpose) and
every batched value keeps it first from then on; instructions none of whose operands
are batched are copied as they are (they run once, not once per example), and the
others go through their rule in `batching_rules`.  Results get their batch axis
moved to `out_dims` (an unbatched result is broadcast, as JAX's vmap does).
"""
from __future__ import annotations

from typing import Sequence

from .batching_rules import BATCHING_RULES
from .builder import Builder
from .core import Function, Instr, Param, TupleType, Value
from .passes import cse, dce, simplify


def _axis(d: int, ndim: int, what: str) -> int:
    if not -ndim - 1 <= d <= ndim:
        raise ValueError(f"vmap: {what} {d} is out of range for a value of rank {ndim} "
                         f"(batched: rank {ndim + 1})")
    return d % (ndim + 1)


def _move_first(b: Builder, v: Value, d: int) -> Value:
    if d == 0:
        return v
    perm = (d,) + tuple(i for i in range(len(v.shape)) if i != d)
    return b.transpose(v, perm=perm)


def _move_from_first(b: Builder, v: Value, d: int) -> Value:
    if d == 0:
        return v
    rest = list(range(1, len(v.shape)))
    perm = tuple(rest[:d] + [0] + rest[d:])
    return b.transpose(v, perm=perm)


def _checked(instr: Instr, out, size: int) -> tuple:
    """The env entry of a rule's answer.  A rule returns the batched value, or a pair
    (value, batched) when its result may stay unbatched; a region's tuple gets a list
    of such pairs, one per output (read by `output`'s rule)."""
    if instr.type.__class__ is TupleType:
        parts = [_checked_one(instr, t, o, size) for t, o in zip(instr.type.types, out)]
        if len(parts) != len(instr.type.types):
            raise TypeError(f"internal error: the batching rule of {instr.prim.name} gave "
                            f"{len(parts)} outputs for {instr.type}")
        return parts, True
    return _checked_one(instr, instr.type, out, size)


def _checked_one(instr: Instr, t, out, size: int) -> tuple:
    v, bt = out if isinstance(out, tuple) else (out, True)
    want = t.with_shape((size,) + t.shape) if bt else t
    if v.type != want:
        raise TypeError(f"internal error: the batching rule of {instr.prim.name} gave "
                        f"{v.type} for {t} {'batched by ' + str(size) if bt else 'unbatched'}")
    return v, bt


def vmap(fn: Function, in_dims: Sequence[int | None], out_dims: Sequence[int | None],
         size: int, *, name: str | None = None) -> Function:
    """`fn` mapped over a new axis of length `size`: parameter k gets it at
    `in_dims[k]` (None: not batched, shared by every example); result k has it at
    `out_dims[k]` (None: the result must not depend on a batched value)."""
    if len(in_dims) != len(fn.params) or len(out_dims) != len(fn.results):
        raise ValueError(f"vmap of @{fn.name}: {len(in_dims)} in_dims for "
                         f"{len(fn.params)} parameters, {len(out_dims)} out_dims for "
                         f"{len(fn.results)} results")
    b = Builder(name or f"vmap_{fn.name}")
    env: dict[int, tuple[Value, bool]] = {}
    params = []
    for p, d in zip(fn.params, in_dims):
        if d is None:
            q = Param(p.type, p.hint)
            env[id(p)] = (q, False)
        else:
            d = _axis(d, len(p.shape), "in_dim")
            q = Param(p.type.with_shape(p.shape[:d] + (size,) + p.shape[d:]), p.hint)
            env[id(p)] = (_move_first(b, q, d), True)
        params.append(q)
    for instr in fn.body:
        ops = [env[id(o)] for o in instr.operands]
        values = [v for v, _ in ops]
        batched = [bt for _, bt in ops]
        if not any(batched):
            if all(v is o for v, o in zip(values, instr.operands)):
                b.body.append(instr)  # sources, and what only they feed: the same objects
                env[id(instr)] = (instr, False)
            else:
                extra = {"type": instr.type} if instr.prim.nullary_typed else {}
                env[id(instr)] = (b.emit(instr.prim, *values, loc=instr.loc, **extra,
                                         **instr.attrs), False)
            continue
        rule = BATCHING_RULES.get(instr.prim)
        if rule is None:
            raise NotImplementedError(f"no batching rule for primitive {instr.prim.name!r} "
                                      f"(at {instr.loc or 'unknown location'})")
        b.loc = instr.loc
        env[id(instr)] = _checked(instr, rule(b, instr, values, batched, size), size)
    b.loc = None
    results = []
    for k, (r, d) in enumerate(zip(fn.results, out_dims)):
        v, bt = env[id(r)]
        if d is None:
            if bt:
                raise ValueError(f"vmap of @{fn.name}: result {k} depends on a batched input "
                                 "but its out_dims entry is None")
            results.append(v)
            continue
        d = _axis(d, len(r.shape), "out_dim")
        if not bt:
            v = b.broadcast(v, shape=(size,) + r.shape)
        results.append(_move_from_first(b, v, d))
    out = Function(b.name, params, b.body, results)
    return dce(cse(dce(simplify(dce(out)))))
