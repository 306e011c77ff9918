"""Building IR: `Builder` appends typed instructions, checking each shape rule.

    b = Builder("f")
    x = b.param(tensor_type(f32, (3,)), "x")
    y = b.sin(x)                      # any primitive by name
    s = b.reduce_sum(y, axes=(0,))
    fn = b.build(s)
"""
from __future__ import annotations

from typing import Any

from .core import Function, Instr, Param, SourceLoc, TensorType, Value
from .dtypes import DType
from .primitives import PRIMITIVES, Primitive, by_name, infer_type


class Builder:
    __slots__ = ("name", "params", "body", "loc")

    def __init__(self, name: str = "f", loc: SourceLoc | None = None):
        self.name = name
        self.params: list[Param] = []
        self.body: list[Instr] = []
        #: location given to instructions emitted without an explicit one
        self.loc = loc

    def param(self, type: TensorType, hint: str | None = None) -> Param:
        p = Param(type, hint)
        self.params.append(p)
        return p

    def emit(self, prim: Primitive | str, *operands: Value, type: TensorType | None = None,
             loc: SourceLoc | None = None, **attrs: Any) -> Instr:
        if isinstance(prim, str):
            prim = by_name(prim)
        result = infer_type(prim, tuple(o.type for o in operands), attrs, type)
        instr = Instr(prim, operands, attrs, result, loc if loc is not None else self.loc)
        self.body.append(instr)
        return instr

    def __getattr__(self, name: str):
        prim = PRIMITIVES.get(name)
        if prim is None:
            raise AttributeError(name)
        return lambda *ops, **attrs: self.emit(prim, *ops, **attrs)

    # A few conveniences that VJP rules and the tracer use constantly.
    def full(self, type: TensorType, value) -> Instr:
        return self.emit("full", type=type, value=coerce_scalar(value, type.dtype))

    def full_like(self, v: Value, value) -> Instr:
        return self.full(v.type, value)

    def build(self, *results: Value) -> Function:
        return Function(self.name, self.params, self.body, results)


def coerce_scalar(value, dtype: DType):
    """A Python number of the kind `dtype` holds (float, int or bool)."""
    if dtype.is_float:
        return float(value)
    if dtype.name == "bool":
        return bool(value)
    return int(value)
