"""Constant folding: elementwise ops whose operands are all `full` become one `full`.

    fn = fold(fn)      # then dce(fn) drops what was folded away

Only splat constants (`full`) are folded, so folding never creates big
constant arrays.  The value is computed with numpy in the instruction's dtype,
exactly as the reference interpreter computes it, so results are bit for bit
the same.  `select` with a constant condition picks its branch.  Integer
division and power, and logistic, are left alone (their exact rules live in
the interpreter and the backend, which ir/ does not import).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .. import primitives as P
from ..core import Function, Instr, Value
from .rewrite import id_set, rebuilt, remap, in_regions
from .simplify import _full, fill_value


_NUMPY = {
    P.neg: np.negative, P.abs: np.abs, P.sign: np.sign, P.exp: np.exp, P.log: np.log,
    P.log1p: np.log1p, P.sin: np.sin, P.cos: np.cos, P.tanh: np.tanh, P.sqrt: np.sqrt,
    P.add: np.add, P.sub: np.subtract, P.mul: np.multiply,
    P.max: np.maximum, P.min: np.minimum, P.eq: np.equal, P.ne: np.not_equal,
    P.lt: np.less, P.le: np.less_equal, P.gt: np.greater, P.ge: np.greater_equal,
    P.bitwise_and: np.bitwise_and, P.bitwise_or: np.bitwise_or, P.bitwise_xor: np.bitwise_xor,
}
_FLOAT_ONLY = {P.div: np.divide, P.pow: np.power}


def fold(fn: Function, *, keep: Iterable[Instr] = ()) -> Function:
    """One forward sweep; folded instructions stay in the body for `dce` to remove."""
    kept = id_set(keep)
    replaced: dict[int, Value] = {}
    defined = id_set(fn.params)
    body: list[Instr] = []
    for instr in fn.body:
        new = instr if id(instr) in kept else _folded(remap(instr, replaced))
        if isinstance(new, Instr) and id(new) not in defined:  # a select's branch is
            body.append(new)                                   # already in the body
            defined.add(id(new))
        if new is not instr:
            replaced[id(instr)] = new
    out = rebuilt(fn, body, replaced)
    return in_regions(out, fold) if any(i.prim.group is P.OpGroup.REGION for i in body) else out


def _folded(instr: Instr) -> Value:
    if instr.prim.group is P.OpGroup.REGION:  # folded inside by the caller's in_regions
        return instr
    if instr.prim is P.select:
        cond = fill_value(instr.operands[0])
        if cond is not None:
            return instr.operands[1] if cond else instr.operands[2]
        return instr
    op = _NUMPY.get(instr.prim)
    if op is None and instr.dtype.is_float:
        op = _FLOAT_ONLY.get(instr.prim)
    if op is None or not instr.operands:
        return instr
    values = [fill_value(o) for o in instr.operands]
    if any(v is None for v in values):
        return instr
    args = [np.asarray(v, o.dtype.np) for v, o in zip(values, instr.operands)]
    with np.errstate(all="ignore"):
        result = np.asarray(op(*args)).astype(instr.dtype.np)
    return _full(instr, instr.type, result[()].item())
