"""Whole Jacobians as IR: reverse mode (vjp) or forward mode (jvp), batched by vmap
over the standard basis, so a Jacobian is one program, not a loop of programs.

    jac = jacrev(f, wrt=[x])       # params f.params; one result per (result, wrt) pair,
    jac = jacfwd(f, wrt=[x])       # shaped result.shape + wrt.shape, results outer

The basis (an identity, reshaped) is built from `iota` and `eq` inside the program,
never stored as a constant.
"""
from __future__ import annotations

from typing import Sequence

from .autodiff import vjp
from .batching import vmap
from .builder import Builder
from .core import Function, TensorType, Value
from .dtypes import i64
from .forward_mode import jvp
from .passes import cse, dce, simplify
from .passes.rewrite import remap


def basis(b: Builder, type: TensorType) -> Value:
    """The standard basis of `type`'s space: shape (size, *type.shape), row k the k-th
    unit vector."""
    n = type.size
    square = TensorType(i64, (n, n))
    rows, cols = b.iota(type=square, axis=0), b.iota(type=square, axis=1)
    eye = b.convert(b.eq(rows, cols), dtype=type.dtype)
    return b.reshape(eye, shape=(n,) + type.shape)


def _splice(b: Builder, fn: Function, args: Sequence[Value]) -> list[Value]:
    """`fn`'s instructions appended to `b` with its parameters replaced by `args`."""
    replaced = {id(p): a for p, a in zip(fn.params, args)}
    for instr in fn.body:
        new = remap(instr, replaced)
        if new is not instr:
            replaced[id(instr)] = new
        b.body.append(new)
    return [replaced.get(id(r), r) for r in fn.results]


def _shape_block(b: Builder, v: Value, shape) -> Value:
    return v if v.shape == tuple(shape) else b.reshape(v, shape=tuple(shape))


def _finish(b: Builder, fn: Function, results: list[Value]) -> Function:
    out = Function(b.name, fn.params, b.body, results)
    return dce(cse(dce(simplify(dce(out)))))


def jacrev(fn: Function, wrt: Sequence[Value], outputs: Sequence[int] | None = None, *,
           name: str | None = None) -> Function:
    """d results[k] / d wrt[j] for k in `outputs` (default: all), by one batched vjp
    per result: the cotangent runs over the result's basis."""
    outputs = range(len(fn.results)) if outputs is None else outputs
    b = Builder(name or f"jacrev_{fn.name}")
    results = []
    for k in outputs:
        out = fn.results[k]
        modes = ["param" if j == k else "zero" for j in range(len(fn.results))]
        adjoint = vjp(fn, wrt, cotangents=modes)
        n = out.type.size
        batched = vmap(adjoint, [None] * len(fn.params) + [0], [0] * len(wrt), n)
        grads = _splice(b, batched, list(fn.params) + [basis(b, out.type)])
        results += [_shape_block(b, g, out.shape + w.shape) for g, w in zip(grads, wrt)]
    return _finish(b, fn, results)


def jacfwd(fn: Function, wrt: Sequence[Value], outputs: Sequence[int] | None = None, *,
           name: str | None = None) -> Function:
    """The same Jacobian blocks by forward mode: one batched jvp per `wrt` value, the
    tangent running over its basis (the others zero)."""
    outputs = list(range(len(fn.results)) if outputs is None else outputs)
    program = jvp(fn, wrt)
    n_res = len(fn.results)
    tangents_only = Function(program.name, program.params, program.body,
                             [program.results[n_res + k] for k in outputs])
    b = Builder(name or f"jacfwd_{fn.name}")
    blocks: dict[tuple[int, int], Value] = {}
    for j, w in enumerate(wrt):
        n = w.type.size
        in_dims = [None] * len(fn.params) + [0 if i == j else None for i in range(len(wrt))]
        batched = vmap(tangents_only, in_dims, [-1] * len(outputs), n)
        zeros = [b.full(v.type, 0) for v in wrt]
        zeros[j] = basis(b, w.type)
        outs = _splice(b, batched, list(fn.params) + zeros)
        for k, o in zip(outputs, outs):
            blocks[k, j] = _shape_block(b, o, fn.results[k].shape + w.shape)
    results = [blocks[k, j] for k in outputs for j in range(len(wrt))]
    return _finish(b, fn, results)


__all__ = ["jacrev", "jacfwd", "basis"]
