"""The SSA IR: tensor types, values, instructions and functions.

Values are immutable and carry no names: the printer gives names when it prints,
so two structurally equal functions print (and hash) the same.  An instruction
*is* the value it defines (one result per instruction, as in LLVM).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from . import dtypes
from .dtypes import DType


@dataclass(frozen=True, slots=True)
class TensorType:
    """A dtype and a static shape: the type of every IR value."""

    dtype: DType
    shape: tuple[int, ...]

    def __post_init__(self):
        for d in self.shape:
            if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0:
                raise ValueError(f"invalid dimension {d!r} in shape {self.shape}")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def with_shape(self, shape: Iterable[int]) -> "TensorType":
        return TensorType(self.dtype, tuple(int(d) for d in shape))

    def with_dtype(self, dtype: DType) -> "TensorType":
        return TensorType(dtype, self.shape)

    def __str__(self) -> str:
        return f"{self.dtype.name}[{','.join(str(d) for d in self.shape)}]"


@dataclass(frozen=True, slots=True)
class TupleType:
    """The type of a region instruction (cond, while, scan): one TensorType per output.

    Only `output %t index=k` reads such a value, so every other instruction still
    sees one tensor per value (ir/regions.py)."""

    types: tuple[TensorType, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(str(t) for t in self.types) + ")"

    @property
    def nbytes(self) -> int:
        return sum(t.size * t.dtype.itemsize for t in self.types)


def is_float_value(v: "Value") -> bool:
    """A value that may carry a gradient: a float tensor, or a tuple holding one."""
    t = v.type
    if t.__class__ is TupleType:
        return any(x.dtype.is_float for x in t.types)
    return t.dtype.is_float


def tensor_type(dtype: DType, shape: Iterable[int]) -> TensorType:
    return TensorType(dtype, tuple(int(d) for d in shape))


@dataclass(frozen=True, slots=True)
class SourceLoc:
    """Where the user's code called the operation that produced an instruction."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{os.path.basename(self.file)}:{self.line}"

    def full(self) -> str:
        return f"{self.file}:{self.line}"


class Value:
    """An SSA value: a function parameter or the result of an instruction."""

    __slots__ = ("type", "__weakref__")

    def __init__(self, type: TensorType):
        self.type = type

    @property
    def shape(self) -> tuple[int, ...]:
        return self.type.shape

    @property
    def dtype(self) -> DType:
        return self.type.dtype


class Param(Value):
    """A function parameter.  `hint` is a preferred print name, never identity."""

    __slots__ = ("hint",)

    def __init__(self, type: TensorType, hint: str | None = None):
        super().__init__(type)
        self.hint = hint

    def __repr__(self) -> str:
        return f"<Param {self.hint or ''}: {self.type}>"


class Instr(Value):
    """`prim(operands, attrs)`, with its result type and the user's source location."""

    __slots__ = ("prim", "operands", "attrs", "loc")

    def __init__(self, prim, operands: Sequence[Value], attrs: dict[str, Any],
                 type: TensorType, loc: SourceLoc | None = None):
        super().__init__(type)
        self.prim = prim
        self.operands = tuple(operands)
        self.attrs = attrs
        self.loc = loc

    def attr_key(self) -> tuple:
        """A hashable form of the attributes (for CSE and hashing)."""
        return tuple((k, _hashable(v)) for k, v in sorted(self.attrs.items()))

    def __repr__(self) -> str:
        return f"<Instr {self.prim.name}: {self.type}>"


def _hashable(v):
    if isinstance(v, np.ndarray):
        return (v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, Function):  # a region: equal when structurally equal
        return ("region", v.structural_hash())
    return v


class Function:
    """A named SSA function: parameters, a body in definition order, results.

    `str(fn)` (the text form) and `fn.structural_hash()` are attached by printer.py,
    which imports this module (ir/__init__ imports both, so they are always there).
    """

    __slots__ = ("name", "params", "body", "results")

    def __init__(self, name: str, params: Sequence[Param], body: Sequence[Instr],
                 results: Sequence[Value]):
        self.name = name
        self.params = list(params)
        self.body = list(body)
        self.results = list(results)

    @property
    def param_types(self) -> list[TensorType]:
        return [p.type for p in self.params]

    @property
    def result_types(self) -> list[TensorType]:
        return [r.type for r in self.results]

    def __repr__(self) -> str:
        sig = ", ".join(str(t) for t in self.param_types)
        res = ", ".join(str(t) for t in self.result_types)
        return f"<Function @{self.name}({sig}) -> ({res}), {len(self.body)} instrs>"


def regions(instr: Instr) -> list[tuple[str, "Function"]]:
    """The sub-functions an instruction holds (cond's branches, a loop's body), by
    attribute name in sorted order; empty for every ordinary instruction."""
    return [(k, v) for k, v in sorted(instr.attrs.items()) if isinstance(v, Function)]


def topo_sort(results: Iterable[Value]) -> list[Instr]:
    """Every instruction the results depend on, operands first (iterative: no recursion)."""
    order: list[Instr] = []
    state: dict[int, int] = {}  # id -> 1 visiting, 2 done
    for root in results:
        if not isinstance(root, Instr) or state.get(id(root)) == 2:
            continue
        stack = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                if state.get(id(node)) == 2:
                    continue
                state[id(node)] = 1
            ops = node.operands
            while i < len(ops) and (not isinstance(ops[i], Instr) or state.get(id(ops[i])) == 2):
                i += 1
            if i < len(ops):
                stack.append((node, i + 1))
                stack.append((ops[i], 0))
            else:
                state[id(node)] = 2
                order.append(node)
    return order


def free_params(results: Iterable[Value]) -> list[Param]:
    """The parameters reachable from `results`, in first-use order."""
    seen: dict[int, Param] = {}
    results = list(results)
    for v in results:
        if isinstance(v, Param):
            seen.setdefault(id(v), v)
    for instr in topo_sort(results):
        for op in instr.operands:
            if isinstance(op, Param):
                seen.setdefault(id(op), op)
    return list(seen.values())


__all__ = ["TensorType", "TupleType", "is_float_value", "regions", "tensor_type", "SourceLoc", "Value", "Param", "Instr",
           "Function", "topo_sort", "free_params", "dtypes"]
