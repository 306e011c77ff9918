"""The numpy reference interpreter: runs any IR function primitive by primitive.

It is the oracle every backend is tested against, so each rule is the plainest
numpy that states the primitive's meaning (NaN propagation included).

float16 follows PyTorch's CPU kernels: every operation computes in float32 and
rounds its result to float16 once (numpy's own float16 ufunc loops do exactly
that; the rules made of several numpy steps widen explicitly), and sums and
products accumulate in float32.  Integer arithmetic wraps around, as numpy's
and PyTorch's does.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..ir import primitives as P
from . import erf_vector
from ..ir.core import Function, Instr, TensorType
from ..ir.primitives import NO_ARITHMETIC, OpGroup, Primitive
from . import eager_math, softmax_kernels

IMPLS: dict[Primitive, Callable[..., np.ndarray]] = {}


def _ufuncs_return_arrays() -> bool:
    """Whether this numpy's ufuncs take out=... (return an array, never a scalar)."""
    try:
        out = np.add(np.array(1.0), np.array(2.0), out=...)
    except Exception:
        return False
    return out.__class__ is np.ndarray and out.shape == () and out == 3.0


_ARRAY_OUT = _ufuncs_return_arrays()
#: ufunc keywords making the result an array even for 0-d operands (no np.asarray after)
_AS_ARRAY = {"out": ...} if _ARRAY_OUT else {}


def impl(prim: Primitive):
    def register(fn):
        IMPLS[prim] = fn
        return fn
    return register


def _elementwise(prim: Primitive, fn):
    IMPLS[prim] = fn



for _prim, _fn in [
    (P.neg, np.negative), (P.abs, np.abs), (P.sign, np.sign), (P.exp, np.exp),
    (P.log, np.log), (P.log1p, np.log1p), (P.sin, np.sin), (P.cos, np.cos),
    (P.tanh, np.tanh), (P.sqrt, np.sqrt),
    (P.add, np.add), (P.sub, np.subtract), (P.mul, np.multiply),
    (P.max, np.maximum), (P.min, np.minimum),  # both propagate NaN
    (P.eq, np.equal), (P.ne, np.not_equal), (P.lt, np.less), (P.le, np.less_equal),
    (P.gt, np.greater), (P.ge, np.greater_equal),
]:
    _elementwise(_prim, _fn)


_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)


def _in_float32(rule):
    """Run a rule of several numpy steps on float16 operands in float32 and round the
    result once, as PyTorch's kernels do (each step in float16 would round each time)."""
    def run(*args, **attrs):
        if args and args[0].dtype == _F16:
            wide = [a.astype(np.float32) for a in args]
            return np.asarray(rule(*wide, **attrs)).astype(_F16)
        return rule(*args, **attrs)
    run.__name__, run.__doc__ = rule.__name__, rule.__doc__
    return run


# ---- maths surface (issue 15)
def _rounding(fn):
    def rule(x):
        return fn(x, **_AS_ARRAY) if x.dtype.kind == "f" else x.copy()
    return rule


for _prim, _fn in [(P.floor, np.floor), (P.ceil, np.ceil), (P.round, np.rint),
                   (P.trunc, np.trunc)]:
    IMPLS[_prim] = _rounding(_fn)
for _prim, _fn in [(P.expm1, np.expm1), (P.atan, np.arctan), (P.asin, np.arcsin),
                   (P.acos, np.arccos), (P.atan2, np.arctan2), (P.hypot, np.hypot),
                   (P.bitwise_and, np.bitwise_and), (P.bitwise_or, np.bitwise_or),
                   (P.bitwise_xor, np.bitwise_xor)]:
    _elementwise(_prim, _fn)


# erf, erfc, erfinv: whole-array numpy for float16/float32, libm per element for float64
IMPLS[P.erf] = erf_vector.erf
IMPLS[P.erfc] = erf_vector.erfc
IMPLS[P.erfinv] = erf_vector.erfinv


@impl(P.cumsum)
def _cumsum(x, *, axis, reverse):
    """Sequential (numpy's cumsum adds in order, as PyTorch's CPU kernel); float16 keeps
    a float32 running sum and rounds each output, as PyTorch's does."""
    if x.dtype == _F16:
        return _cumsum(x.astype(np.float32), axis=axis, reverse=reverse).astype(_F16)
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis).copy()
    return np.cumsum(x, axis=axis, dtype=x.dtype)


# softmax and its kin: PyTorch's kernels' arithmetic, to the bit (runtime/softmax_kernels.py)
for _prim in (P.softmax, P.log_softmax, P.softmax_backward_data, P.log_softmax_backward_data):
    IMPLS[_prim] = getattr(softmax_kernels, _prim.name)


def _check_integer_divisor(y, name: str) -> None:
    """PyTorch's CPU kernels refuse an integer division by zero; so does every backend
    here (native code through its status record: codegen/indexing.zero_divisor_fault)."""
    if (y == 0).any():
        raise RuntimeError(f"ZeroDivisionError (integer {name} by zero)")


@impl(P.fmod)
def _fmod(x, y):
    if x.dtype.kind in "iu":  # C's %: the sign of x; % 0 raises as PyTorch does
        _check_integer_divisor(y, "fmod")
        with np.errstate(all="ignore"):
            return np.where(y == 0, 0, np.fmod(x, np.where(y == 0, 1, y))).astype(x.dtype)
    return np.fmod(x, y, **_AS_ARRAY)
# ---- end of the maths surface block


@impl(P.logistic)
@_in_float32
def _logistic(x):
    # exp(-|x|) never overflows; pick the branch by sign.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@impl(P.div)
def _div(x, y):
    if x.dtype.kind in "iu":  # integer division truncates toward zero (C semantics)
        _check_integer_divisor(y, "div")
        a, b = x.astype(np.int64), y.astype(np.int64)  # wraps back below (int64: -2**63/-1)
        with np.errstate(all="ignore"):
            q = np.where(b == 0, 0, np.abs(a) // np.where(b == 0, 1, np.abs(b)))
        return (q * np.sign(a) * np.sign(b)).astype(x.dtype)
    return np.divide(x, y, **_AS_ARRAY)


@impl(P.pow)
def _pow(x, y):
    if x.dtype.kind in "iu":
        # A negative exponent truncates 1/x**|y| toward zero, as integer division
        # does: 1 for x == 1, +-1 for x == -1, else 0 (0 for x == 0 too).
        pos = np.power(x, np.maximum(y, 0))
        neg = np.where(x == 1, 1, np.where(x == -1, np.where(y % 2 == 0, 1, -1), 0))
        return np.where(y >= 0, pos, neg)
    e = _uniform_exponent(x, y)
    if e is not None:
        return _POW_SHORTCUTS[e](x)
    return np.power(x, y, **_AS_ARRAY)


#: Exponents np.power computes without pow() when the exponent does not move
#: (stride 0: numpy's own fast path in its float power loop), as these ufuncs.
_POW_SHORTCUTS = {2.0: lambda x: np.multiply(x, x), 1.0: lambda x: x.copy(),
                  0.5: np.sqrt, -1.0: lambda x: np.divide(1, x, dtype=x.dtype)}
_pow_verified: dict[tuple, bool] = {}


def _uniform_exponent(x, y):
    """The exponent if `y` is one value repeated by stride 0 (a broadcast scalar) and
    this numpy's np.power was verified to give bit for bit what _POW_SHORTCUTS does
    for it in x's dtype, else None."""
    e = _repeated_value(x, y) if y.ndim else None
    if e not in _POW_SHORTCUTS:
        return None
    return e if _shortcut_verified(x.dtype, e) else None


def _shortcut_verified(dtype: np.dtype, e: float) -> bool:
    """_verify_pow_shortcut's answer for (dtype, e), asked once per process."""
    ok = _pow_verified.get((dtype, e))
    if ok is None:
        ok = _pow_verified[(dtype, e)] = _verify_pow_shortcut(dtype, e)
    return ok


def _repeated_value(x, y) -> float | None:
    """y's one value when y repeats it by stride 0 in x's dtype (a broadcast Python
    number, or 0-d), else None."""
    if y.size == 0 or any(y.strides) or y.dtype != x.dtype:
        return None
    return float(y[(0,) * y.ndim])


def _verify_pow_shortcut(dtype: np.dtype, e: float) -> bool:
    """Compare np.power(x, broadcast e) with the shortcut, bit for bit, on special values
    (signed zeros, infinities, NaNs with payloads and signs, subnormals, extremes,
    values whose square overflows or underflows) and random bit patterns."""
    info = np.finfo(dtype)
    uint = np.dtype(f"u{dtype.itemsize}")
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0, 0.5, 2.0,
                        -3.0, info.tiny, -info.tiny, info.smallest_subnormal,
                        -info.smallest_subnormal, info.max, -info.max, info.eps,
                        np.sqrt(info.max) * 1.5, np.sqrt(info.tiny) / 3, 1e-30, -7.25],
                       dtype).view(uint)
    rng = np.random.default_rng(0)
    bits = np.concatenate([special, rng.integers(0, np.iinfo(uint).max, 4096, dtype=uint,
                                                 endpoint=True),
                           np.array([np.iinfo(uint).max, 1 << (8 * dtype.itemsize - 1)], uint),
                           np.arange(1, 64, dtype=uint)])
    x = bits.view(dtype)
    with np.errstate(all="ignore"):
        want = np.power(x, np.broadcast_to(np.array(e, dtype), x.shape))
        got = _POW_SHORTCUTS[e](x)
    return got.dtype == want.dtype and np.array_equal(got.view(uint), want.view(uint))


@impl(P.select)
def _select(c, x, y):
    return np.where(c, x, y)


@impl(P.convert)
def _convert(x, *, dtype):
    if dtype.np == _F16 and x.dtype == np.float64:
        x = x.astype(np.float32)  # PyTorch's double -> half goes through float
    return x.astype(dtype.np)


@impl(P.stop_gradient)
def _stop_gradient(x):
    return x


@impl(P.broadcast)
def _broadcast(x, *, shape):
    return np.broadcast_to(x, shape)


@impl(P.reshape)
def _reshape(x, *, shape):
    return np.reshape(x, shape)


@impl(P.transpose)
def _transpose(x, *, perm):
    return np.transpose(x, perm)


@impl(P.slice)
def _slice(x, *, start, stop, step):
    return x[tuple(slice(a, b, s) for a, b, s in zip(start, stop, step))]


@impl(P.pad)
def _pad(x, *, low, high, interior):
    shape = [lo + hi + d + max(d - 1, 0) * it
             for d, lo, hi, it in zip(x.shape, low, high, interior)]
    out = np.zeros(shape, x.dtype)
    out[tuple(slice(lo, lo + max(d - 1, 0) * (it + 1) + 1 if d else lo, it + 1)
              for d, lo, it in zip(x.shape, low, interior))] = x
    return out


@impl(P.concatenate)
def _concatenate(*xs, axis):
    return np.concatenate(xs, axis=axis)


@impl(P.reduce_sum)
def _reduce_sum(x, *, axes):
    if x.dtype == _F16:  # accumulate in float32, round once
        return np.add.reduce(x, axis=tuple(axes), dtype=np.float32).astype(_F16)
    if x.__class__ is np.ndarray:  # what np.sum calls for an ndarray, without its wrapper
        return np.add.reduce(x, axis=tuple(axes), dtype=x.dtype)
    return np.sum(x, axis=tuple(axes), dtype=x.dtype)


@impl(P.reduce_max)
def _reduce_max(x, *, axes):
    if x.size == 0 and any(x.shape[a] == 0 for a in axes):
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        shape = [d for i, d in enumerate(x.shape) if i not in axes]
        return np.full(shape, fill, x.dtype)
    return np.max(x, axis=tuple(axes))  # np.max propagates NaN


@impl(P.argmax)
def _argmax(x, *, axis):
    if x.dtype.kind == "f":  # NaN counts as the maximum (its first occurrence), as in PyTorch
        nan = np.isnan(x)
        first_nan = np.argmax(nan, axis=axis)
        return np.where(np.any(nan, axis=axis), first_nan, np.argmax(x, axis=axis)).astype(np.int64)
    return np.argmax(x, axis=axis).astype(np.int64)


@impl(P.matmul)
@_in_float32
def _matmul(a, b):
    if P.matmul_writes_products(a.shape, b.shape) and a.dtype.kind == "f":
        return np.multiply(a, b)
    return np.matmul(a, b)


@impl(P.matmul_add)
@_in_float32
def _matmul_add(c, a, b, *, alpha):
    return c + c.dtype.type(alpha) * np.matmul(a, b)


@impl(P.full)
def _full(*, value, type):
    return np.full(type.shape, value, type.dtype.np)


@impl(P.constant)
def _constant(*, value, type):
    view = value.view()  # read-only, so no caller can change the IR's constant through it
    view.flags.writeable = False
    return view


@impl(P.iota)
def _iota(*, axis, type):
    shape = [1] * type.ndim
    shape[axis] = type.shape[axis]
    return np.broadcast_to(np.arange(type.shape[axis], dtype=np.int64).reshape(shape),
                           type.shape).copy()


def _ignore_all_errors():
    """A cheap `np.errstate(all="ignore")`: (enter, exit) functions setting numpy's
    error-state context variable directly to an ignoring state made once per state
    it replaces (so np.setbufsize / an outer errstate keep their other settings).
    np.errstate itself where numpy has no such variable."""
    try:
        from numpy._core import _ufunc_config as cfg
        var = cfg._extobj_contextvar
        var.get()
    except Exception:  # another numpy: the public, slower way
        def enter():
            state = np.errstate(all="ignore")
            state.__enter__()
            return state

        return enter, lambda state: state.__exit__(None, None, None)
    last = [None]  # [(the state replaced, its ignoring version)], swapped whole

    def enter():
        current = var.get()
        pair = last[0]
        if pair is None or pair[0] is not current:
            with np.errstate(all="ignore"):  # made from the current state
                ignoring = var.get()
            pair = last[0] = (current, ignoring)
        return var.set(pair[1])

    return enter, var.reset


# float32/float16 transcendentals: compiled code's own functions (runtime/eager_math.py),
# so eager and compiled results agree bit for bit; numpy's for float64 (and everywhere
# with TAPEGRAD_EAGER_MATH=numpy)
#: rules that are not ufuncs but are called as one (`rule(x, out=...)`)
_UFUNC_LIKE: set = set()
for _name in eager_math.FUNCTIONS + ("atan2",) if eager_math.ENABLED else ():
    _prim = P.PRIMITIVES[_name]
    IMPLS[_prim] = eager_math.rule(_name, IMPLS[_prim])
    _UFUNC_LIKE.add(IMPLS[_prim])
_SMALL_FLOATS = (_F32, _F16)


#: x ** k for a constant k as compiled code (codegen/lowering._pow) and PyTorch's kernel
#: compute it, on a float32 array
_COMPILED_POWERS = {
    1.0: lambda w: w.copy(), 2.0: lambda w: np.multiply(w, w, **_AS_ARRAY),
    3.0: lambda w: np.multiply(np.multiply(w, w, **_AS_ARRAY), w, **_AS_ARRAY),
    0.5: lambda w: np.sqrt(w, **_AS_ARRAY),
    -0.5: lambda w: np.divide(np.float32(1), np.sqrt(w, **_AS_ARRAY), **_AS_ARRAY),
    -1.0: lambda w: np.divide(np.float32(1), w, **_AS_ARRAY),
    -2.0: lambda w: np.divide(np.float32(1), np.multiply(w, w, **_AS_ARRAY), **_AS_ARRAY),
}


def _pow_as_compiled(native_pow):
    """float32/float16 x ** y as compiled code computes it (codegen/lowering._pow): for a
    constant exponent 1, 2, 3, 0.5, -0.5, -1 or -2 by products, sqrt and division (as
    PyTorch's kernel), glibc's powf otherwise; float64 and integers: _pow."""
    def rule(x, y):
        if x.dtype in _SMALL_FLOATS:
            power = _COMPILED_POWERS.get(_repeated_value(x, y))
            if power is not None:
                if x.dtype == _F32:  # no widening copy: the powers make a new array
                    return power(x)
                return power(x.astype(np.float32)).astype(x.dtype)  # float16: rounded once
        return native_pow(x, y)
    return rule


if eager_math.ENABLED:
    IMPLS[P.pow] = _pow_as_compiled(eager_math.rule("pow", _pow))


def pow_is_square(dtype: np.dtype) -> bool:
    """Whether pow's rule computes `x ** 2.0` in `dtype` as np.multiply(x, x), bit for bit
    (float32 as compiled code does; float64 where this numpy's power was verified to):
    the one-frame `x ** 2` then multiplies without the rule's exponent checks."""
    if dtype == _F32 and eager_math.ENABLED:
        return True
    return dtype == np.float64 and _shortcut_verified(np.dtype(dtype), 2.0)

_errors_off, _errors_restore = _ignore_all_errors()
#: for callers that run a ufunc as eval_prim does (tracer.tape.bind_op)
errors_off, errors_restore = _errors_off, _errors_restore

#: primitive -> its rule, for the primitives eval_prim runs as `ufunc(*args, out=...)` under
#: ignored floating-point errors (no attributes, no rule of their own); empty where this
#: numpy's ufuncs take no out=...
ARITHMETIC_UFUNCS = {prim: fn for prim, fn in IMPLS.items()
                     if (fn.__class__ is np.ufunc or fn in _UFUNC_LIKE) and _ARRAY_OUT
                     and prim not in NO_ARITHMETIC and not prim.nullary_typed}


def eval_prim(prim: Primitive, args: Sequence[np.ndarray], attrs: dict,
              type: TensorType) -> np.ndarray:
    """One primitive on concrete operands; the result has exactly the IR type."""
    fn = IMPLS[prim]
    if prim.group is OpGroup.REGION:  # a tuple of arrays, one per output
        return fn(*args, **attrs)
    if prim in NO_ARITHMETIC:
        out = fn(type=type, **attrs) if prim.nullary_typed else fn(*args, **attrs)
    else:
        token = _errors_off()
        try:
            if prim.nullary_typed:
                out = fn(type=type, **attrs)
            elif fn.__class__ is np.ufunc and _ARRAY_OUT and not attrs:
                out = fn(*args, out=...)  # an array even for 0-d operands: no np.asarray
            else:
                out = fn(*args, **attrs)
        finally:
            _errors_restore(token)
    want = type.dtype.np
    if out.__class__ is not np.ndarray:
        out = np.asarray(out)
    if out.dtype != want:
        out = out.astype(want)
    return out


def eval_instr(instr: Instr, args: Sequence[np.ndarray]) -> np.ndarray:
    return eval_prim(instr.prim, args, instr.attrs, instr.type)


def interpret(fn: Function, args: Sequence) -> list[np.ndarray]:
    """Run `fn` on numpy arrays; returns one array per result."""
    if len(args) != len(fn.params):
        raise TypeError(f"@{fn.name} takes {len(fn.params)} arguments, got {len(args)}")
    env: dict[int, np.ndarray] = {}
    for p, a in zip(fn.params, args):
        a = np.asarray(a)
        if a.shape != p.type.shape or a.dtype != p.type.dtype.np:
            raise TypeError(f"@{fn.name}: argument of type {p.type} got an array "
                            f"{a.dtype}{list(a.shape)}")
        env[id(p)] = a
    for instr in fn.body:
        env[id(instr)] = eval_instr(instr, [env[id(o)] for o in instr.operands])
    return _owned([env[id(r)] for r in fn.results], args)


def _owned(results: list[np.ndarray], args: Sequence) -> list[np.ndarray]:
    """Copy results that are views of an argument, of a constant, or of one another.

    Rules may return views (reshape, broadcast, stop_gradient); the caller of
    `interpret` gets arrays it may write without changing its inputs or the IR.
    """
    taken = [a for a in args if isinstance(a, np.ndarray)]
    out = []
    for r in results:
        if not r.flags.writeable or any(np.may_share_memory(r, t) for t in taken):
            r = r.copy()
        taken.append(r)
        out.append(r)
    return out


# ---------------------------------------------------------------- dynamic indexing

def index_error(value: int, axis: int, size: int) -> IndexError:
    """PyTorch's message for an index out of range (the runtime adds the op and line)."""
    return IndexError(f"index {value} is out of bounds for dimension {axis} with size {size}")


def _positions(shape: tuple, space: tuple, indices, axes) -> tuple:
    """The numpy index of the elements a gather/scatter of index shape `space` reaches in
    an operand of `shape`: each index checked and wrapped, the other axes broadcast."""
    out = []
    for d in range(len(shape)):
        if d in axes:
            i = np.asarray(indices[axes.index(d)], np.int64)
            n = shape[d]
            lo, hi = (int(i.min()), int(i.max())) if i.size else (0, 0)
            if lo < -n or hi >= n:
                bad = (i < -n) | (i >= n)
                raise index_error(int(i[bad].flat[0]), d, n)
            out.append(np.where(i < 0, i + n, i) if lo < 0 else i)
        else:
            r = [1] * len(space)
            r[d] = space[d]
            out.append(np.arange(space[d]).reshape(r))
    return tuple(out)


@impl(P.gather)
def _gather(x, *indices, axes):
    space = indices[0].shape
    return x[_positions(x.shape, space, indices, tuple(axes))].reshape(space).copy()


@impl(P.scatter_add)
def _scatter_add(base, src, *indices, axes):
    out = base.copy()
    np.add.at(out, _positions(base.shape, src.shape, indices, tuple(axes)), src)
    return out


@impl(P.scatter)
def _scatter(base, src, *indices, axes):
    """Row-major order, the last write to an element stays (a loop, as native code does:
    numpy does not promise which duplicate its fancy assignment keeps)."""
    out = base.copy()
    pos = _positions(base.shape, src.shape, indices, tuple(axes))
    if src.size:
        flat = np.ravel_multi_index(tuple(np.broadcast_to(p, src.shape).ravel() for p in pos),
                                    base.shape) if base.ndim else np.zeros(src.size, np.int64)
        # the last occurrence of each destination wins
        rev = flat[::-1]
        _, first = np.unique(rev, return_index=True)
        keep = src.size - 1 - first
        out.reshape(-1)[flat[keep]] = src.reshape(-1)[keep]
    return out


# ---------------------------------------------------------------- control flow (regions)

@impl(P.output)
def _output(t, *, index):
    return t[index]


@impl(P.cond)
def _cond(pred, *operands, true, false):
    return tuple(interpret(true if bool(pred) else false, operands))


@impl(P.while_loop)
def _while_loop(*operands, cond, body, num_consts):
    consts, carry = list(operands[:num_consts]), list(operands[num_consts:])
    while bool(interpret(cond, consts + carry)[0]):
        carry = interpret(body, consts + carry)
    return tuple(carry)


@impl(P.scan)
def _scan(*operands, body, num_consts, num_carry, length, reverse):
    """Step i reads slice i of each xs and writes slice i of each ys (reverse: from the
    last slice down), as jax.lax.scan."""
    consts = list(operands[:num_consts])
    carry = list(operands[num_consts:num_consts + num_carry])
    xs = operands[num_consts + num_carry:]
    ys = [np.empty((length, *t.shape), t.dtype.np) for t in body.result_types[num_carry:]]
    for i in (reversed(range(length)) if reverse else range(length)):
        out = interpret(body, consts + carry + [x[i] for x in xs])
        carry = out[:num_carry]
        for y, v in zip(ys, out[num_carry:]):
            y[i] = v
    return tuple(carry) + tuple(ys)
