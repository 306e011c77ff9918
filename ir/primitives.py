"""The primitive set and each primitive's shape/dtype rule.

A primitive is a name and an op group (like `jax.lax`); its rules live in one
table per concern, keyed by the primitive object:

    ir.primitives.SHAPE_RULES   result type from operand types and attributes
    ir.vjp_rules.VJP_RULES      reverse-mode rule, written in IR
    runtime.interpreter.IMPLS   numpy implementation
    codegen.lowering.LOWERINGS  LLVM lowering

The rich tensor API (mean, softmax, losses, ...) is built from these by the
tracer, so the differentiation and fusion passes see only this small set.

Naming rule: a primitive's Python name is its IR name (`P.add`, `P.pow`, `P.slice`),
always used qualified as `P.name`.  A trailing underscore never names a primitive: in
tapegrad it means only "in place" (PyTorch's `add_`).  Five names (abs, pow, max, min,
slice) therefore shadow Python's builtins inside this module, whose code calls those
builtins as `builtins.max` (a test checks that it calls none of them by the bare name).
"""
from __future__ import annotations

import builtins
import enum
import inspect
import math
from typing import Any, Callable

import numpy as np

from . import region_rules
from .core import TensorType
from .dtypes import DType, bool_, holds, i64


#: the largest tensor, in bytes, whose sizes and offsets fit the int64 arithmetic of native code
MAX_BYTES = 2**63 - 1


class ShapeError(RuntimeError):
    """Operand types do not fit a primitive (shapes that do not broadcast, ...)."""


class OpGroup(enum.Enum):
    """What kind of operation a primitive is.  This and the group sets below are the one
    source of truth: fusion, the interpreter and codegen read them, never lists of their
    own (a test checks)."""

    UNARY = "unary"            # elementwise, one operand: neg, exp, convert, stop_gradient
    BINARY = "binary"          # elementwise, two operands of one type: add, pow, max
    COMPARE = "compare"        # elementwise with a bool result: eq, lt
    SELECT = "select"          # elementwise choice: select
    STRUCTURAL = "structural"  # moves elements: broadcast, reshape, transpose, slice, ...
    REDUCE = "reduce"          # removes axes: reduce_sum, reduce_max, argmax
    MATMUL = "matmul"          # matrix products: matmul, matmul_add
    GATHER = "gather"          # reads elements at data-dependent indices: gather
    SCATTER = "scatter"        # writes elements at data-dependent indices: scatter_add, scatter
    SOURCE = "source"          # no operands, a given type: full, constant, iota
    REGION = "region"          # runs sub-functions: cond, while, scan (ir/regions.py)


#: Result element i reads element i of each operand: fused into any loop that needs it.
ELEMENTWISE = frozenset({OpGroup.UNARY, OpGroup.BINARY, OpGroup.COMPARE, OpGroup.SELECT})
#: Needs a loop structure of its own, so its result always gets a buffer.
KERNELS = frozenset({OpGroup.REDUCE, OpGroup.MATMUL, OpGroup.SCATTER, OpGroup.REGION})


class Primitive:
    """A named operation.  Identity is the object; `name` is its IR spelling."""

    __slots__ = ("name", "group", "nullary_typed")

    def __init__(self, name: str, group: OpGroup):
        if not isinstance(group, OpGroup):
            raise TypeError(f"primitive {name!r}: group must be an OpGroup, got {group!r}")
        self.name = name
        self.group = group
        #: True for sources (full, constant, iota), whose type is given, not inferred
        #: (a slot, not a property: the eager evaluator reads it on every operation).
        self.nullary_typed = group is OpGroup.SOURCE

    def __repr__(self) -> str:
        return f"<Primitive {self.name}>"


PRIMITIVES: dict[str, Primitive] = {}
SHAPE_RULES: dict[Primitive, Callable[..., TensorType]] = {}


def _register(name: str, group: OpGroup, rule: Callable[..., TensorType]) -> Primitive:
    prim = Primitive(name, group)
    PRIMITIVES[name] = prim
    SHAPE_RULES[prim] = rule
    return prim


def by_name(name: str) -> Primitive:
    try:
        return PRIMITIVES[name]
    except KeyError:
        raise ValueError(f"unknown primitive {name!r}") from None


def infer_type(prim: Primitive, operand_types: tuple[TensorType, ...],
               attrs: dict[str, Any], declared: TensorType | None = None) -> TensorType:
    """Apply `prim`'s shape rule; raises ShapeError with the op and the shapes."""
    rule = SHAPE_RULES[prim]
    if prim.nullary_typed:
        if operand_types:
            raise ShapeError(f"{prim.name}: takes no operands, got {len(operand_types)}")
        if declared is None:
            raise ShapeError(f"{prim.name}: needs its result type")
        operand_types = (declared,)
    try:
        result = rule(*operand_types, **attrs)
    except TypeError as e:
        # a wrong operand count or attribute name is the IR's fault, not the rule's; the
        # signature is consulted only on failure, so the common path stays cheap
        try:
            inspect.signature(rule).bind(*operand_types, **attrs)
        except TypeError as bad_call:
            raise ShapeError(f"{prim.name}: bad operands or attributes for "
                             f"({_fmt(*operand_types)}) {sorted(attrs)}: {bad_call}") from None
        raise e
    if result.__class__ is TensorType and result.size * result.dtype.itemsize > MAX_BYTES:  # i64 sizes and indices would overflow
        raise ShapeError(f"{prim.name}: storage size calculation overflowed: the result "
                         f"{result} would have {result.size} elements")
    return result


def _fmt(*types: TensorType) -> str:
    return ", ".join(str(t) for t in types)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _ints(name: str, what: str, t: TensorType, v) -> tuple[int, ...]:
    """An attribute that must be a sequence of integers (never floats or bools)."""
    if not isinstance(v, (tuple, list)) or not all(_is_int(a) for a in v):
        raise ShapeError(f"{name}: {what} must be a tuple of integers, got {v!r} (operand {t})")
    return tuple(int(a) for a in v)


def _shape_attr(name: str, t: TensorType, shape) -> tuple[int, ...]:
    shape = _ints(name, "shape", t, shape)
    if any(d < 0 for d in shape):
        raise ShapeError(f"{name}: negative dimension in shape {list(shape)} (operand {t})")
    return shape


def _check_axes(name: str, t: TensorType, axes) -> tuple[int, ...]:
    axes = _ints(name, "axes", t, axes)
    if len(set(axes)) != len(axes) or any(not 0 <= a < t.ndim for a in axes):
        raise ShapeError(f"{name}: invalid axes {axes} for an operand of type {t}")
    return axes


# ---------------------------------------------------------------- elementwise

def _unary_rule(name: str, float_only: bool):
    def rule(x: TensorType) -> TensorType:
        if float_only and not x.dtype.is_float:
            raise ShapeError(f"{name}: needs a floating point operand, got {x}")
        if not float_only and x.dtype is bool_:
            raise ShapeError(f"{name}: not defined for bool operands ({x})")
        return x
    return rule


def _binary_rule(name: str, result_bool: bool = False):
    def rule(x: TensorType, y: TensorType) -> TensorType:
        if x.shape != y.shape or x.dtype is not y.dtype:
            raise ShapeError(f"{name}: operands must have equal types, got {_fmt(x, y)}")
        if not result_bool and x.dtype is bool_:
            raise ShapeError(f"{name}: not defined for bool operands ({_fmt(x, y)})")
        return x.with_dtype(bool_) if result_bool else x
    return rule


UNARY_FLOAT = ("exp", "log", "log1p", "sin", "cos", "tanh", "sqrt", "logistic")
UNARY_ANY = ("neg", "abs", "sign")
BINARY = ("add", "sub", "mul", "div", "pow", "max", "min")
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")

neg, abs, sign = (_register(n, OpGroup.UNARY, _unary_rule(n, False)) for n in UNARY_ANY)
exp, log, log1p, sin, cos, tanh, sqrt, logistic = (
    _register(n, OpGroup.UNARY, _unary_rule(n, True)) for n in UNARY_FLOAT)
add, sub, mul, div, pow, max, min = (_register(n, OpGroup.BINARY, _binary_rule(n))
                                   for n in BINARY)
eq, ne, lt, le, gt, ge = (_register(n, OpGroup.COMPARE, _binary_rule(n, True))
                      for n in COMPARE)


# ---- maths surface (issue 15): rounding, expm1, erf, inverse trigonometry, fmod, hypot
#: rounding keeps integer operands as they are; the rest are defined on floats only
ROUNDING = ("floor", "ceil", "round", "trunc")
UNARY_FLOAT_MATH = ("expm1", "erf", "erfc", "atan", "asin", "acos")
BINARY_MATH = ("atan2", "hypot", "fmod")

floor, ceil, round, trunc = (_register(n, OpGroup.UNARY, _unary_rule(n, False))
                             for n in ROUNDING)
expm1, erf, erfc, atan, asin, acos = (
    _register(n, OpGroup.UNARY, _unary_rule(n, True)) for n in UNARY_FLOAT_MATH)
atan2, hypot, fmod = (_register(n, OpGroup.BINARY, _binary_rule(n)) for n in BINARY_MATH)


def _float_binary_rule(name: str):
    inner = _binary_rule(name)

    def rule(x: TensorType, y: TensorType) -> TensorType:
        if not x.dtype.is_float:
            raise ShapeError(f"{name}: needs floating point operands, got {_fmt(x, y)}")
        return inner(x, y)
    return rule


SHAPE_RULES[atan2] = _float_binary_rule("atan2")
SHAPE_RULES[hypot] = _float_binary_rule("hypot")


def _cumsum_rule(x: TensorType, *, axis, reverse) -> TensorType:
    """Inclusive running sum along `axis` (from the end with `reverse`): a kernel, like
    the reductions, so its operand's elementwise chain fuses into its loop."""
    if x.dtype is bool_:
        raise ShapeError(f"cumsum: not defined for bool operands ({x})")
    (axis,) = _check_axes("cumsum", x, (axis,))
    if not isinstance(reverse, (bool, np.bool_)):
        raise ShapeError(f"cumsum: reverse must be a bool, got {reverse!r} (operand {x})")
    return x


cumsum = _register("cumsum", OpGroup.REDUCE, _cumsum_rule)


def _softmax_rule(name: str, operands: int):
    """softmax / log_softmax along `axis` (one operand), and their backward kernels
    (cotangent, forward result): PyTorch computes each as one kernel with its own
    order of arithmetic, which composites of exp and sums cannot reproduce."""
    def rule(*xs: TensorType, axis) -> TensorType:
        if len(xs) != operands or any(x != xs[0] for x in xs) or not xs[0].dtype.is_float:
            raise ShapeError(f"{name}: needs {operands} floating point operand(s) of one "
                             f"type, got {_fmt(*xs)}")
        _check_axes(name, xs[0], (axis,))
        return xs[0]
    return rule


softmax = _register("softmax", OpGroup.REDUCE, _softmax_rule("softmax", 1))
log_softmax = _register("log_softmax", OpGroup.REDUCE, _softmax_rule("log_softmax", 1))
softmax_backward_data = _register("softmax_backward_data", OpGroup.REDUCE,
                                  _softmax_rule("softmax_backward_data", 2))
log_softmax_backward_data = _register("log_softmax_backward_data", OpGroup.REDUCE,
                                      _softmax_rule("log_softmax_backward_data", 2))
# ---- end of the maths surface block


def _select_rule(cond: TensorType, x: TensorType, y: TensorType) -> TensorType:
    if cond.dtype is not bool_ or cond.shape != x.shape or x != y:
        raise ShapeError(f"select: needs bool condition and equal shapes, got {_fmt(cond, x, y)}")
    return x


select = _register("select", OpGroup.SELECT, _select_rule)


def _convert_rule(x: TensorType, *, dtype: DType) -> TensorType:
    if not isinstance(dtype, DType):
        raise ShapeError(f"convert: dtype attribute must be a dtype, got {dtype!r} (operand {x})")
    return x.with_dtype(dtype)


convert = _register("convert", OpGroup.UNARY, _convert_rule)


def _identity_rule(x: TensorType) -> TensorType:
    return x


#: Identity whose gradient is zero (`detach` inside traced functions).
stop_gradient = _register("stop_gradient", OpGroup.UNARY, _identity_rule)

# ---------------------------------------------------------------- structural


def _broadcast_rule(x: TensorType, *, shape) -> TensorType:
    shape = _shape_attr("broadcast", x, shape)
    lead = len(shape) - x.ndim
    ok = lead >= 0 and all(d == 1 or d == s for d, s in zip(x.shape, shape[lead:]))
    if not ok:
        raise ShapeError(f"broadcast: cannot broadcast {x} to shape {list(shape)}")
    return x.with_shape(shape)


def _reshape_rule(x: TensorType, *, shape) -> TensorType:
    shape = _shape_attr("reshape", x, shape)
    out = x.with_shape(shape)
    if out.size != x.size:
        raise ShapeError(f"reshape: cannot reshape {x} ({x.size} elements) to {list(shape)}")
    return out


def _transpose_rule(x: TensorType, *, perm) -> TensorType:
    perm = _ints("transpose", "perm", x, perm)
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"transpose: {perm} is not a permutation of the axes of {x}")
    return x.with_shape(x.shape[p] for p in perm)


def _slice_rule(x: TensorType, *, start, stop, step) -> TensorType:
    start, stop, step = (_ints("slice", "start/stop/step", x, a) for a in (start, stop, step))
    if not len(start) == len(stop) == len(step) == x.ndim:
        raise ShapeError(f"slice: start/stop/step need {x.ndim} entries for {x}")
    out = []
    for d, a, b, s in zip(x.shape, start, stop, step):
        if s < 1 or not 0 <= a <= b <= d:
            raise ShapeError(f"slice: bad bounds {start}:{stop}:{step} for {x}")
        out.append(0 if b == a else (b - a + s - 1) // s)
    return x.with_shape(out)


def _pad_rule(x: TensorType, *, low, high, interior) -> TensorType:
    low, high, interior = (_ints("pad", "low/high/interior", x, a) for a in (low, high, interior))
    if not len(low) == len(high) == len(interior) == x.ndim or \
            builtins.min(low + high + interior, default=0) < 0:
        raise ShapeError(f"pad: bad padding low={low} high={high} interior={interior} for {x}")
    return x.with_shape(lo + hi + d + builtins.max(d - 1, 0) * it
                        for d, lo, hi, it in zip(x.shape, low, high, interior))


def _concatenate_rule(*xs: TensorType, axis) -> TensorType:
    if not xs:
        raise ShapeError("concatenate: needs at least one operand")
    first = xs[0]
    if not _is_int(axis) or not 0 <= axis < first.ndim:
        raise ShapeError(f"concatenate: axis {axis} out of range for {first}")
    for t in xs[1:]:
        if t.dtype is not first.dtype or t.ndim != first.ndim or any(
                a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            raise ShapeError(f"concatenate: operands do not fit along axis {axis}: {_fmt(*xs)}")
    shape = list(first.shape)
    shape[axis] = sum(t.shape[axis] for t in xs)
    return first.with_shape(shape)


broadcast = _register("broadcast", OpGroup.STRUCTURAL, _broadcast_rule)
reshape = _register("reshape", OpGroup.STRUCTURAL, _reshape_rule)
transpose = _register("transpose", OpGroup.STRUCTURAL, _transpose_rule)
slice = _register("slice", OpGroup.STRUCTURAL, _slice_rule)
pad = _register("pad", OpGroup.STRUCTURAL, _pad_rule)
concatenate = _register("concatenate", OpGroup.STRUCTURAL, _concatenate_rule)

# ---------------------------------------------------------------- reductions


def _reduce_rule(name: str):
    def rule(x: TensorType, *, axes) -> TensorType:
        if x.dtype is bool_:
            raise ShapeError(f"{name}: not defined for bool operands ({x})")
        axes = _check_axes(name, x, axes)
        return x.with_shape(d for i, d in enumerate(x.shape) if i not in axes)
    return rule


def _argmax_rule(x: TensorType, *, axis) -> TensorType:
    if x.dtype is bool_:
        raise ShapeError(f"argmax: not defined for bool operands ({x})")
    (axis,) = _check_axes("argmax", x, (axis,))
    if x.shape[axis] == 0:
        raise ShapeError(f"argmax: axis {axis} of {x} is empty")
    return TensorType(i64, tuple(d for i, d in enumerate(x.shape) if i != axis))


reduce_sum = _register("reduce_sum", OpGroup.REDUCE, _reduce_rule("reduce_sum"))
reduce_max = _register("reduce_max", OpGroup.REDUCE, _reduce_rule("reduce_max"))
argmax = _register("argmax", OpGroup.REDUCE, _argmax_rule)

# ---------------------------------------------------------------- matmul


def _matmul_rule(a: TensorType, b: TensorType) -> TensorType:
    ok = (a.dtype is b.dtype and a.dtype.is_float and a.ndim >= 2 and a.ndim == b.ndim
          and a.shape[:-2] == b.shape[:-2] and a.shape[-1] == b.shape[-2])
    if not ok:
        raise ShapeError(f"matmul: shapes cannot be multiplied ({_fmt(a, b)})")
    return a.with_shape(a.shape[:-1] + b.shape[-1:])


matmul = _register("matmul", OpGroup.MATMUL, _matmul_rule)


def matmul_writes_products(a_shape, b_shape) -> bool:
    """Whether matmul writes each product as is, as PyTorch's mm does for k = 1, a matrix
    times a matrix of more than one row and column (MKL's gemm with beta = 0, so -0 stays
    -0); its other paths (gemv for one row or column, bmm) add the product to +0, as
    numpy's matmul and BLAS do. Every backend follows this, so signed zeros agree."""
    return (len(a_shape) >= 2 and len(b_shape) == 2 and b_shape[0] == 1
            and math.prod(a_shape[:-1]) > 1 and b_shape[1] > 1)


def _matmul_add_rule(c: TensorType, a: TensorType, b: TensorType, *, alpha) -> TensorType:
    """c + alpha * (a @ b): BLAS's gemm with beta = 1.  Not traced from user code: the
    code generator's epilogue pass (ir/passes/gemm_epilogue.py) forms it."""
    try:
        product = _matmul_rule(a, b)
    except ShapeError:
        raise ShapeError(f"matmul_add: shapes cannot be multiplied ({_fmt(c, a, b)})") from None
    if product != c:
        raise ShapeError(f"matmul_add: the accumulator must have the product's type "
                         f"({_fmt(c, a, b)})")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) \
            or not np.isfinite(alpha):
        raise ShapeError(f"matmul_add: alpha must be a finite number, got {alpha!r} "
                         f"({_fmt(c, a, b)})")
    return c


matmul_add = _register("matmul_add", OpGroup.MATMUL, _matmul_add_rule)

# ---------------------------------------------------------------- dynamic indexing


def _index_space(name: str, x: TensorType, indices: tuple[TensorType, ...], axes,
                 extra: tuple[TensorType, ...] = ()) -> tuple[int, ...]:
    """Check the operands of a dynamic-index primitive; returns its axes.

    Every index (an integer tensor) and every `extra` operand (scatter's source)
    has one shape S of x's rank; S[d] <= x.shape[d] on the axes not indexed,
    where the element at position p is x[p] (so S may be a corner of x)."""
    axes = _ints(name, "axes", x, axes)
    what = _fmt(x, *extra, *indices)
    if not indices or len(indices) != len(axes) or len(set(axes)) != len(axes) \
            or any(not 0 <= a < x.ndim for a in axes):
        raise ShapeError(f"{name}: needs one index per axis, distinct axes of the operand; "
                         f"got axes {list(axes)} for ({what})")
    space = indices[0].shape
    for t in indices:
        if t.dtype.is_float or t.dtype is bool_:
            raise ShapeError(f"{name}: indices must be integer tensors, got ({what})")
    for t in indices + extra:
        if t.shape != space:
            raise ShapeError(f"{name}: indices{' and source' if extra else ''} must have one "
                             f"shape, got ({what})")
    if len(space) != x.ndim or any(s > d for i, (s, d) in enumerate(zip(space, x.shape))
                                   if i not in axes):
        raise ShapeError(f"{name}: the index shape {list(space)} must have the operand's rank "
                         f"and fit inside it on the axes not indexed ({what})")
    return axes


def _gather_rule(x: TensorType, *indices: TensorType, axes) -> TensorType:
    _index_space("gather", x, indices, axes)
    return x.with_shape(indices[0].shape)


def _scatter_rule(name: str):
    def rule(base: TensorType, src: TensorType, *indices: TensorType, axes) -> TensorType:
        if src.dtype is not base.dtype or (name == "scatter_add" and base.dtype is bool_):
            raise ShapeError(f"{name}: the source must have the base's dtype (not bool for a "
                             f"sum), got "
                             f"({_fmt(base, src, *indices)})")
        _index_space(name, base, indices, axes, (src,))
        return base
    return rule


#: out[p] = x[p with p[axes[j]] replaced by indices[j][p]]: torch.gather for one axis,
#: advanced indexing for several (negative indices wrap; out of range is an error).
gather = _register("gather", OpGroup.GATHER, _gather_rule)
#: base, then out[p with p[axes[j]] = indices[j][p]] += src[p] for every p in row-major
#: order: gather's transpose (duplicates accumulate).
scatter_add = _register("scatter_add", OpGroup.SCATTER, _scatter_rule("scatter_add"))
#: the same with `=`: duplicates are written in row-major order, the last one stays
#: (setitem with an index tensor, torch.scatter, index_put_).
scatter = _register("scatter", OpGroup.SCATTER, _scatter_rule("scatter"))

# ---------------------------------------------------------------- sources


def _fits(value, dtype: DType) -> bool:
    """Whether the scalar `value` is exactly representable in `dtype` (no silent rounding)."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if _is_int(value):
        return dtype.is_float or holds(dtype, int(value))
    if isinstance(value, (float, np.floating)):
        return dtype.is_float
    return False


def _full_rule(t: TensorType, *, value) -> TensorType:
    if not _fits(value, t.dtype):
        raise ShapeError(f"full: value {value!r} is not a number of type {t}")
    return t


def _constant_rule(t: TensorType, *, value) -> TensorType:
    if not isinstance(value, np.ndarray) or value.shape != t.shape or value.dtype != t.dtype.np:
        got = f"{value.dtype}{list(value.shape)}" if isinstance(value, np.ndarray) \
            else type(value).__name__
        raise ShapeError(f"constant: value {got} does not match the type {t}")
    return t


def _iota_rule(t: TensorType, *, axis) -> TensorType:
    if t.dtype is not i64 or not _is_int(axis) or not 0 <= axis < t.ndim:
        raise ShapeError(f"iota: needs an i64 type with axis {axis} in range, got {t}")
    return t


full = _register("full", OpGroup.SOURCE, _full_rule)
constant = _register("constant", OpGroup.SOURCE, _constant_rule)
iota = _register("iota", OpGroup.SOURCE, _iota_rule)


def _region_rule(rule: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*operands, **attrs):
        try:
            return rule(*operands, **attrs)
        except region_rules.RegionError as e:
            raise ShapeError(str(e)) from None
    checked.__signature__ = inspect.signature(rule)
    return checked


# control flow (ir/region_rules.py): instructions that hold sub-functions, and the
# projection that reads one of their results
cond = _register("cond", OpGroup.REGION, _region_rule(region_rules.cond_rule))
while_loop = _register("while_loop", OpGroup.REGION, _region_rule(region_rules.while_rule))
scan = _register("scan", OpGroup.REGION, _region_rule(region_rules.scan_rule))
output = _register("output", OpGroup.STRUCTURAL, _region_rule(region_rules.output_rule))


#: Primitives that move, pick or produce stored values: no arithmetic and no cast (their
#: operands have the result's dtype), so no floating-point flag can be raised and the
#: interpreter runs them without its error state.  Not `full`: it casts a Python number.
NO_ARITHMETIC = frozenset(
    [p for p in PRIMITIVES.values() if p.group is OpGroup.STRUCTURAL]
    + [select, stop_gradient, constant, iota])

#: Elementwise primitives whose per-element cost is a libm-class function: on large
#: arrays a vector loop beats numpy's per-element calls by several times, so eager
#: code sends them to native code (runtime/eager_native.py).
COSTLY_ELEMENTWISE = frozenset(PRIMITIVES[name] for name in (
    "pow", "sin", "cos", "exp", "log", "tanh", "logistic", "expm1", "log1p", "atan", "erf"))
#: softmax and its kin: kernels whose numpy reference (PyTorch's arithmetic, SLEEF's exp
#: with exact fused multiply-adds) costs ~100 ns an element, so big eager ones go native too.
SOFTMAX_KERNELS = frozenset({softmax, log_softmax, softmax_backward_data,
                             log_softmax_backward_data})
#: what eager code sends to native code when the array is big (runtime/eager_native.py)
NATIVE_WHEN_BIG = COSTLY_ELEMENTWISE | SOFTMAX_KERNELS
