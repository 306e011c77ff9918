"""The verifier: SSA well-formedness and agreement with the shape rules."""
from __future__ import annotations

from .core import Function, Instr, Param, TensorType, regions
from .primitives import PRIMITIVES, SHAPE_RULES, Primitive, ShapeError, infer_type


class VerifyError(ValueError):
    """The function is not well-formed IR."""


def verify(fn: Function) -> Function:
    """Check `fn`; returns it unchanged so passes can be chained `verify(p(fn))`."""
    defined: set[int] = set()
    for i, p in enumerate(fn.params):
        if not isinstance(p, Param):
            raise VerifyError(f"@{fn.name}: parameter {i} is not a Param")
        if not isinstance(p.type, TensorType):
            raise VerifyError(f"@{fn.name}: parameter {i} has no tensor type: {p.type!r}")
        if id(p) in defined:
            raise VerifyError(f"@{fn.name}: parameter {i} is listed twice")
        defined.add(id(p))
    for n, instr in enumerate(fn.body):
        if not isinstance(instr, Instr):
            raise VerifyError(f"@{fn.name}: body entry %{n} is not an instruction: {instr!r}")
        if not isinstance(instr.prim, Primitive) or SHAPE_RULES.get(instr.prim) is None \
                or PRIMITIVES.get(instr.prim.name) is not instr.prim:
            raise VerifyError(f"@{fn.name}: instruction %{n}: unknown primitive {instr.prim!r}")
        where = f"@{fn.name}: instruction %{n} ({instr.prim.name})"
        if id(instr) in defined:
            raise VerifyError(f"{where} defines a value that is already defined")
        for k, op in enumerate(instr.operands):
            if id(op) not in defined:
                raise VerifyError(f"{where}: operand {k} is used before it is defined "
                                  "(or never defined)")
        try:
            expected = infer_type(instr.prim, tuple(o.type for o in instr.operands),
                                  instr.attrs, instr.type)
        except ShapeError as e:
            raise VerifyError(f"{where}: {e}") from None
        if expected != instr.type:
            raise VerifyError(f"{where}: declared type {instr.type} but the shape rule "
                              f"gives {expected}")
        for attr, region in regions(instr):  # closed: checked on their own
            try:
                verify(region)
            except VerifyError as e:
                raise VerifyError(f"{where}, region {attr}: {e}") from None
        defined.add(id(instr))
    for k, r in enumerate(fn.results):
        if id(r) not in defined:
            raise VerifyError(f"@{fn.name}: result {k} is not defined in the function")
    return fn
