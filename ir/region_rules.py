"""Shape rules of the region primitives: cond, while_loop, scan and output.

A region instruction holds sub-functions (its *regions*) as attributes.  Regions
are closed: a body sees only its own parameters, so everything it reads from
outside is an operand of the instruction (the `consts`).  That keeps every pass
local: a region is an ordinary Function, printed, parsed, verified, hashed,
differentiated and compiled like the top level one.

    cond pred, ops...            true=(ops)->(outs) false=(ops)->(outs)
    while_loop consts..., init...   cond=(consts, carry)->(bool[])
                                    body=(consts, carry)->(carry)         num_consts=n
    scan consts..., init..., xs...  body=(consts, carry, x slices)->(carry, y slices)
                                    num_consts=n num_carry=m length=L reverse=b

Each gives a TupleType (cond: the branch results; while_loop: the final carry;
scan: the final carry then each y stacked along a new leading axis of size
`length`), read by `output %t index=k`.  The rules check every region's signature
against the operands, so the verifier and the parser check them too.
"""
from __future__ import annotations

from .core import Function, TensorType, TupleType
from .dtypes import bool_


class RegionError(Exception):
    """Raised by the rules as the registry's ShapeError (primitives.py wraps them)."""


def _types(values) -> list[TensorType]:
    return [v.type for v in values]


def _fmt(types) -> str:
    return "(" + ", ".join(str(t) for t in types) + ")"


def _region(name: str, attr: str, fn) -> Function:
    if not isinstance(fn, Function):
        raise RegionError(f"{name}: attribute {attr} must be a function (a region), "
                          f"got {type(fn).__name__}")
    return fn


def _signature(name: str, attr: str, fn: Function, params, results=None) -> None:
    got = fn.param_types
    if got != list(params):
        raise RegionError(f"{name}: region {attr} takes {_fmt(got)}, but the instruction "
                          f"passes {_fmt(params)}")
    if results is not None and fn.result_types != list(results):
        raise RegionError(f"{name}: region {attr} returns {_fmt(fn.result_types)}, "
                          f"expected {_fmt(results)}")


def _tensors(name: str, operands) -> None:
    for k, t in enumerate(operands):
        if not isinstance(t, TensorType):
            raise RegionError(f"{name}: operand {k} is {t}, not a tensor")


def _count(name: str, what: str, v, most: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= most:
        raise RegionError(f"{name}: {what} must be an integer in [0, {most}], got {v!r}")
    return v


def cond_rule(pred: TensorType, *operands: TensorType, true, false) -> TupleType:
    _tensors("cond", (pred, *operands))
    if pred != TensorType(bool_, ()):
        raise RegionError(f"cond: the predicate must be bool[], got {pred}")
    t, f = _region("cond", "true", true), _region("cond", "false", false)
    _signature("cond", "true", t, operands)
    _signature("cond", "false", f, operands)
    if t.result_types != f.result_types:
        raise RegionError(f"cond: the branches return different types: true gives "
                          f"{_fmt(t.result_types)}, false gives {_fmt(f.result_types)}")
    return TupleType(tuple(t.result_types))


def while_rule(*operands: TensorType, cond, body, num_consts) -> TupleType:
    _tensors("while_loop", operands)
    n = _count("while_loop", "num_consts", num_consts, len(operands))
    carry = operands[n:]
    _signature("while_loop", "cond", _region("while_loop", "cond", cond), operands,
               [TensorType(bool_, ())])
    _signature("while_loop", "body", _region("while_loop", "body", body), operands, carry)
    return TupleType(tuple(carry))


def scan_rule(*operands: TensorType, body, num_consts, num_carry, length, reverse) -> TupleType:
    _tensors("scan", operands)
    n = _count("scan", "num_consts", num_consts, len(operands))
    m = _count("scan", "num_carry", num_carry, len(operands) - n)
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise RegionError(f"scan: length must be a non-negative integer, got {length!r}")
    if not isinstance(reverse, bool):
        raise RegionError(f"scan: reverse must be true or false, got {reverse!r}")
    consts, carry, xs = operands[:n], operands[n:n + m], operands[n + m:]
    slices = []
    for k, x in enumerate(xs):
        if not x.shape or x.shape[0] != length:
            raise RegionError(f"scan: xs[{k}] of type {x} has no leading axis of the "
                              f"length {length}")
        slices.append(x.with_shape(x.shape[1:]))
    fn = _region("scan", "body", body)
    _signature("scan", "body", fn, [*consts, *carry, *slices])
    outs = fn.result_types
    if outs[:m] != list(carry):
        raise RegionError(f"scan: the body returns the carry {_fmt(outs[:m])}, which must "
                          f"keep the type of the initial carry {_fmt(carry)}")
    ys = [y.with_shape((length, *y.shape)) for y in outs[m:]]
    return TupleType(tuple(carry) + tuple(ys))


def output_rule(t, *, index) -> TensorType:
    if not isinstance(t, TupleType):
        raise RegionError(f"output: the operand must be a region's tuple, got {t}")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(t.types):
        raise RegionError(f"output: index {index!r} is out of range for {t}")
    return t.types[index]
