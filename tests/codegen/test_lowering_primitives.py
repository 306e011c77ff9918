"""Every primitive, compiled natively, against the numpy interpreter.

One compiled function per (primitive, dtype) applies the primitive to several
parameters at once: 0-d, size-1 and size-0 dimensions, and sizes large enough
for vector loops with tails.  Every check runs twice: contiguous inputs and
transposed / strided numpy views.
"""
import numpy as np
import pytest

from tapegrad.codegen import LOWERINGS
from tapegrad.codegen.lowering import LoweringKind
from tapegrad.ir import PRIMITIVES, bool_, f32, f64, i64, tensor_type
from tapegrad.ir import primitives as P

from helpers.native_check import build, check, random_array
from helpers.op_tables import ANY_UNARY, ARITHMETIC, FLOAT_UNARY


SHAPES = [(), (1,), (0,), (3, 1), (1, 4), (5, 7), (2, 0, 3), (1037,), (3, 5, 67)]
FLOATS = [f32, f64]
UNARY_FLOAT = [PRIMITIVES[name] for name in FLOAT_UNARY]


def _args(rng, dtype, shapes, special=True):
    return [random_array(rng, dtype, s, special) for s in shapes]


def test_every_primitive_has_a_lowering():
    assert set(LOWERINGS) == set(PRIMITIVES.values())
    for prim, low in LOWERINGS.items():
        assert low.kind is LoweringKind.of(prim.group), prim


@pytest.mark.parametrize("dt", FLOATS, ids=str)
@pytest.mark.parametrize("prim", UNARY_FLOAT, ids=lambda p: p.name)
def test_unary_float(prim, dt):
    rng = np.random.default_rng(0)
    fn = build(prim.name, [(dt, s) for s in SHAPES],
               lambda b, *xs: [b.emit(prim, x) for x in xs])
    args = _args(rng, dt, SHAPES)
    args[-2] = np.concatenate([args[-2][:-9], np.array([80, -80, 200, -200, 1e-8, -1e-8, 0.5, 20, -20], dt.np)])
    check(fn, args)


@pytest.mark.parametrize("dt", [f32, f64, i64], ids=str)
@pytest.mark.parametrize("prim", [PRIMITIVES[name] for name in ANY_UNARY], ids=lambda p: p.name)
def test_unary_any(prim, dt):
    rng = np.random.default_rng(1)
    fn = build(prim.name, [(dt, s) for s in SHAPES],
               lambda b, *xs: [b.emit(prim, x) for x in xs])
    args = _args(rng, dt, SHAPES)
    if dt is i64:
        args[-2][:3] = [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0]
    check(fn, args)


BINARY = [PRIMITIVES[name] for name in ARITHMETIC]


@pytest.mark.parametrize("dt", [f32, f64, i64], ids=str)
@pytest.mark.parametrize("prim", BINARY, ids=lambda p: p.name)
def test_binary(prim, dt):
    rng = np.random.default_rng(2)
    fn = build(prim.name, [(dt, s) for s in SHAPES for _ in (0, 1)],
               lambda b, *xs: [b.emit(prim, x, y) for x, y in zip(xs[::2], xs[1::2])])
    args = [random_array(rng, dt, s, special=True) for s in SHAPES for _ in (0, 1)]
    if dt is i64:
        big = args[-4]
        big[:6] = [np.iinfo(np.int64).min, 7, -7, 9, 0, 5]
        args[-3][:6] = [-1, 3, -1, 2, 1, 63]  # division by -1 must not trap
        if prim is P.div:  # (by 0 raises: tests/codegen/test_integer_division_by_zero.py)
            for a in args[1::2]:
                a[a == 0] = 1
        if prim is P.pow:
            for a in args[1::2]:
                a[...] = np.clip(a, -3, 6)
    check(fn, args)


@pytest.mark.parametrize("dt", [f32, f64, i64, bool_], ids=str)
def test_compare_and_select(dt):
    rng = np.random.default_rng(3)
    shapes = [(), (1,), (0, 2), (4, 5), (1001,)]

    def body(b, *xs):
        out = []
        for x, y in zip(xs[::2], xs[1::2]):
            for prim in (P.eq, P.ne, P.lt, P.le, P.gt, P.ge):
                out.append(b.emit(prim, x, y))
            out.append(b.select(b.lt(x, y), x, y))
        return out

    fn = build("cmp", [(dt, s) for s in shapes for _ in (0, 1)], body)
    args = [random_array(rng, dt, s, special=True) for s in shapes for _ in (0, 1)]
    if dt is not bool_:  # equal pairs, so eq/le/ge are exercised
        args[-1][:300] = args[-2][:300]
    check(fn, args)


@pytest.mark.parametrize("src", [f32, f64, i64, bool_], ids=str)
def test_convert(src):
    rng = np.random.default_rng(4)
    shapes = [(), (0,), (3, 4), (1003,)]
    targets = [f32, f64, i64, bool_]
    fn = build("convert", [(src, s) for s in shapes],
               lambda b, *xs: [b.convert(x, dtype=t) for x in xs for t in targets])
    args = [random_array(rng, src, s, special=True) for s in shapes]
    if src.is_float:
        args[-1][:5] = [1e30, -1e30, 2.0 ** 62, -(2.0 ** 63), 3.99]
        args[-1] *= 1 + (np.arange(args[-1].size) % 3 == 0) * 1e6
    check(fn, args)


@pytest.mark.parametrize("dt", [f32, f64, i64, bool_], ids=str)
def test_structural(dt):
    """broadcast, reshape, transpose, slice, pad and concatenate, of params (strided
    views) and of computed values (fused index arithmetic)."""
    rng = np.random.default_rng(5)
    shapes = [(), (1, 4), (3, 1), (2, 3, 4), (0, 3), (33, 65)]

    def body(b, s, r, c, x, e, m):
        y = b.convert(b.convert(x, dtype=f64), dtype=dt) if dt is not bool_ else b.ne(x, x)
        if dt is bool_:
            y = b.eq(b.ne(x, y), b.ne(x, y))  # a computed bool array
        return [
            b.broadcast(s, shape=(2, 3)), b.broadcast(r, shape=(5, 3, 4)),
            b.broadcast(c, shape=(2, 3, 6)), b.broadcast(e, shape=(2, 0, 3)),
            b.reshape(x, shape=(6, 4)), b.reshape(y, shape=(4, 6)), b.reshape(x, shape=(24,)),
            b.reshape(b.broadcast(c, shape=(3, 4)), shape=(2, 6)), b.reshape(e, shape=(3, 0)),
            b.reshape(s, shape=(1, 1)),
            b.transpose(x, perm=(2, 0, 1)), b.transpose(y, perm=(1, 2, 0)),
            b.transpose(m, perm=(1, 0)),
            b.slice(x, start=(0, 1, 0), stop=(2, 3, 4), step=(1, 1, 2)),
            b.slice(m, start=(1, 2), stop=(33, 65), step=(3, 5)),
            b.slice(y, start=(1, 0, 0), stop=(1, 3, 4), step=(1, 1, 1)),
            b.pad(x, low=(1, 0, 2), high=(0, 2, 1), interior=(0, 1, 2)),
            b.pad(y, low=(0, 0, 0), high=(1, 1, 1), interior=(1, 0, 0)),
            b.pad(e, low=(1, 1), high=(0, 1), interior=(2, 0)),
            b.pad(s, low=(), high=(), interior=()),
            b.concatenate(x, y, x, axis=1), b.concatenate(r, r, axis=0),
            b.concatenate(e, b.broadcast(c, shape=(3, 3)), e, axis=0),
            b.transpose(b.slice(b.reshape(m, shape=(65, 33)), start=(0, 0), stop=(65, 33),
                                step=(2, 1)), perm=(1, 0)),
        ]

    fn = build("structural", [(dt, s) for s in shapes], body)
    check(fn, [random_array(rng, dt, s) for s in shapes])


@pytest.mark.parametrize("dt", [f32, f64, i64], ids=str)
def test_reductions(dt):
    rng = np.random.default_rng(6)
    shapes = [(), (7,), (3, 0, 2), (4, 5, 6), (100003,), (300, 257)]

    def body(b, s, v, e, x, big, m):
        out = []
        for prim in (P.reduce_sum, P.reduce_max):
            out += [b.emit(prim, s, axes=()), b.emit(prim, v, axes=(0,)),
                    b.emit(prim, e, axes=(1,)), b.emit(prim, e, axes=(0, 2)),
                    b.emit(prim, e, axes=(0, 1, 2))]
            out += [b.emit(prim, x, axes=a) for a in [(), (0,), (1,), (2,), (0, 1), (0, 2),
                                                     (1, 2), (0, 1, 2)]]
            out += [b.emit(prim, big, axes=(0,)), b.emit(prim, m, axes=(0,)),
                    b.emit(prim, m, axes=(1,)), b.emit(prim, b.abs(m), axes=(0, 1))]
        for axis in range(3):
            out.append(b.argmax(x, axis=axis))
        out += [b.argmax(v, axis=0), b.argmax(big, axis=0), b.argmax(m, axis=0),
                b.argmax(m, axis=1), b.argmax(e, axis=0)]
        return out

    fn = build("reduce", [(dt, s) for s in shapes], body)
    args = [random_array(rng, dt, s) for s in shapes]
    if dt.is_float:
        args[3][1, 2, :] = np.nan  # NaN propagates through max and wins argmax
        args[3][0, :, 3] = [1, np.nan, 5, np.nan, 2]
        args[5][7, 9] = np.nan
        args[3][2] = np.round(args[3][2])  # ties: the first index wins
    else:
        args[5][:, 3] = 25
    rtol = {f32: 2e-4, f64: 1e-10, i64: None}[dt]
    check(fn, args, rtol=rtol, atol=1e-4 if dt is f32 else None)


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loop"])
@pytest.mark.parametrize("dt", FLOATS, ids=str)
def test_matmul(dt, use_blas):
    rng = np.random.default_rng(7)
    pairs = [((3, 4), (4, 5)), ((1, 7), (7, 1)), ((6, 0), (0, 3)), ((0, 3), (3, 2)),
             ((2, 3, 4), (2, 4, 5)), ((2, 2, 9, 11), (2, 2, 11, 6)), ((65, 130), (130, 33))]

    def body(b, *xs):
        out = [b.matmul(x, y) for x, y in zip(xs[::2], xs[1::2])]
        x, y = xs[-2], xs[-1]
        xt = b.transpose(b.transpose(x, perm=(1, 0)), perm=(1, 0))
        out.append(b.matmul(b.transpose(y, perm=(1, 0)), b.transpose(x, perm=(1, 0))))
        out.append(b.matmul(xt, b.exp(b.neg(b.abs(y)))))  # a computed operand
        bx = b.broadcast(xs[0], shape=(3, 3, 4))  # a stride-0 batch dimension
        out.append(b.matmul(bx, b.broadcast(xs[1], shape=(3, 4, 5))))
        col = b.broadcast(b.reshape(xs[2], shape=(7, 1)), shape=(7, 3))  # stride-0 column
        out.append(b.matmul(xs[2], col))
        out.append(b.matmul(b.slice(x, start=(1, 2), stop=(65, 130), step=(2, 3)),
                            b.slice(y, start=(2, 0), stop=(130, 33), step=(3, 1))))
        return out

    fn = build("matmul", [(dt, s) for pair in pairs for s in pair], body)
    args = [random_array(rng, dt, s) for pair in pairs for s in pair]
    check(fn, args, rtol=1e-4 if dt is f32 else 1e-11, atol=1e-4 if dt is f32 else 1e-11,
          use_blas=use_blas)


@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "loop"])
@pytest.mark.parametrize("dt", FLOATS, ids=str)
def test_matmul_add(dt, use_blas):
    """The primitive itself, and the epilogue forms the code generator folds into it
    (ir/passes/gemm_epilogue.py), against the interpreter's unfolded arithmetic."""
    rng = np.random.default_rng(9)
    shapes = [(65, 130), (130, 33), (65, 33), (2, 3, 4), (2, 4, 5), (2, 3, 5), (4, 0), (0, 3),
              (4, 3)]

    def body(b, x, y, c, bx, by, bc, ex, ey, ec):
        k = b.full(c.type, 0.375)
        xy = lambda: b.matmul(x, y)  # noqa: E731  (a fresh product for each form)
        return [
            b.matmul_add(c, x, y, alpha=-1.5),
            b.matmul_add(bc, bx, by, alpha=2.0),
            b.matmul_add(ec, ex, ey, alpha=1.0),  # an empty sum: c itself
            b.sub(c, b.mul(xy(), k)),  # the SGD update of a gradient
            b.add(b.mul(k, xy()), c),
            b.sub(b.exp(b.neg(b.abs(c))), xy()),  # a fused accumulator expression
            b.add(b.transpose(b.matmul(b.transpose(y, perm=(1, 0)),
                                       b.transpose(x, perm=(1, 0))), perm=(1, 0)), c),
            b.sub(c, b.matmul(x, b.exp(b.neg(b.abs(y))))),  # a computed factor
        ]

    fn = build("matmul_add", [(dt, s) for s in shapes], body)
    args = [random_array(rng, dt, s) for s in shapes]
    check(fn, args, rtol=1e-4 if dt is f32 else 1e-11, atol=1e-4 if dt is f32 else 1e-11,
          use_blas=use_blas)


@pytest.mark.parametrize("dt", [f32, f64, i64, bool_], ids=str)
def test_sources(dt):
    rng = np.random.default_rng(8)
    const = random_array(rng, dt, (3, 4), special=True)
    big = random_array(rng, dt, (2000,))

    def body(b, x):
        out = [b.full(tensor_type(dt, ()), 1), b.full(tensor_type(dt, (3, 0)), 0),
               b.full(tensor_type(dt, (2, 5)), 1 if dt is bool_ else -3),
               b.constant(type=tensor_type(dt, (3, 4)), value=const),
               b.constant(type=tensor_type(dt, (2000,)), value=big),
               b.constant(type=tensor_type(dt, (0, 2)), value=np.zeros((0, 2), dt.np)),
               b.iota(type=tensor_type(i64, (3, 4)), axis=1),
               b.iota(type=tensor_type(i64, (5,)), axis=0)]
        if dt.is_float:
            out += [b.full(tensor_type(dt, (4,)), float("nan")),
                    b.full(tensor_type(dt, (4,)), float("-inf")),
                    b.mul(x, b.constant(type=tensor_type(dt, (3, 4)), value=const))]
        return out

    fn = build("sources", [(dt, (3, 4))], body)
    check(fn, [random_array(rng, dt, (3, 4))])


def test_results_that_are_params_or_repeated():
    fn = build("passthrough", [(f32, (3, 4)), (f64, ())],
               lambda b, x, s: [x, s, b.exp(x), b.exp(x), x, b.transpose(x, perm=(1, 0))])
    fn.results[3] = fn.results[2]  # the same value returned twice
    rng = np.random.default_rng(9)
    x, s = random_array(rng, f32, (3, 4)), random_array(rng, f64, ())
    from tapegrad.runtime.compiler import compile_function
    outs = compile_function(fn)(x, s)
    assert outs[2] is not outs[3] and outs[0] is not outs[4]
    check(fn, [x, s])
