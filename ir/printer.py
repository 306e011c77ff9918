"""The IR's text form, and the structural hash computed from it.

    func @f(%x: f32[3], %w: f32[3,4]) -> (f32[]) {
      %0: f32[3] = sin %x                       # user.py:12
      %1: f32[] = reduce_sum %0 axes=(0,)
      return %1
    }

Names are given here, never stored: parameters print as their hint when it is a
unique identifier (else `%argN`), instructions as `%0, %1, ...` in body order.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np

from .core import Function, Instr, Param, Value
from .dtypes import DType

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_FNAME_BAD = re.compile(r"[^A-Za-z0-9_.]")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def function_name(name: str) -> str:
    """`name` as the parser reads it: Python names like `<lambda>` become `_lambda_`."""
    return _FNAME_BAD.sub("_", name) or "_"


def format_scalar(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, np.float32):
        s = str(v)  # shortest repr that round-trips through float32
    else:
        s = repr(float(v))
    if s in ("inf", "-inf", "nan"):
        return s
    if not any(c in s for c in ".e"):
        s += ".0"
    return s


def format_attr(v) -> str:
    if isinstance(v, DType):
        return v.name
    if isinstance(v, (tuple, list)):  # a list attribute prints (and parses back) as a tuple
        inner = ", ".join(format_attr(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, np.ndarray):
        return _format_array(v)
    if isinstance(v, str):
        return '"' + "".join(_ESCAPES.get(c, c) for c in v) + '"'
    return format_scalar(v)


def _format_array(a: np.ndarray) -> str:
    if a.ndim == 0:
        return format_scalar(a[()])
    return "[" + ", ".join(_format_array(a[i]) for i in range(a.shape[0])) + "]"


def value_names(fn: Function, canonical: bool = False) -> dict[int, str]:
    names: dict[int, str] = {}
    used: set[str] = set()
    for i, p in enumerate(fn.params):
        hint = None if canonical else p.hint
        name = hint if hint and _IDENT.match(hint) and hint not in used \
            and not hint.isdigit() else f"arg{i}"
        while name in used:
            name = "_" + name
        used.add(name)
        names[id(p)] = "%" + name
    for i, instr in enumerate(fn.body):
        names[id(instr)] = f"%{i}"
    return names


def print_function(fn: Function, *, locs: bool = True, canonical: bool = False,
                   indent: str = "") -> str:
    """The text form; `canonical` drops names and locations (for hashing).

    A region (a Function attribute of cond/while_loop/scan) prints in place as a nested
    function, two spaces further in, its closing brace on the instruction's indentation:

      %2: (f32[3]) = scan %w, %h, %xs length=5 num_carry=1 num_consts=1 reverse=false body=func @body(...) -> (f32[3], f32[3]) {
        ...
      }  # user.py:7
    """
    names = value_names(fn, canonical)

    def ref(v: Value) -> str:
        try:
            return names[id(v)]
        except KeyError:
            return "%<undefined>"

    params = ", ".join(f"{names[id(p)]}: {p.type}" for p in fn.params)
    results = ", ".join(str(r.type) for r in fn.results)
    fname = "f" if canonical else function_name(fn.name)
    lines = [f"func @{fname}({params}) -> ({results}) {{"]
    for instr in fn.body:
        text = f"{indent}  {names[id(instr)]}: {instr.type} = {instr.prim.name}"
        if instr.operands:
            text += " " + ", ".join(ref(o) for o in instr.operands)
        for k in sorted(instr.attrs):
            v = instr.attrs[k]
            if isinstance(v, Function):
                v = print_function(v, locs=locs, canonical=canonical, indent=indent + "  ")
                text += f" {k}={v}"
            else:
                text += f" {k}={format_attr(v)}"
        if locs and instr.loc is not None:
            text += f"  # {instr.loc}"
        lines.append(text)
    lines.append(f"{indent}  return " + ", ".join(ref(r) for r in fn.results))
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def structural_hash(fn: Function) -> str:
    """Equal for functions that differ only in names and source locations."""
    text = print_function(fn, locs=False, canonical=True)
    return hashlib.sha256(text.encode()).hexdigest()


# late registration: core.py sits below this module and cannot import it
Function.__str__ = print_function
Function.structural_hash = structural_hash
