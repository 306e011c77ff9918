"""gather, scatter_add and scatter compiled natively, against the interpreter; and the
index checks: any index data (huge, negative, out of range) gives IndexError naming the
index, the size, the primitive and the line, and never a read or write outside a buffer."""
import re

import numpy as np
import pytest

from tapegrad.ir import Builder, SourceLoc, bool_, f32, f64, i64, tensor_type
from tapegrad.runtime import interpret
from tapegrad.runtime.compiler import compile_function

from helpers.native_check import build, check, random_array

BIG = [2**62, -2**63, 2**63 - 1, -(2**40)]


def test_gather_matches_the_interpreter():
    rng = np.random.default_rng(0)
    for dt in (f32, f64, i64, bool_):
        def body(b, x, y, i0, i1, i2):
            xs = b.mul(x, x) if dt is not bool_ else x
            small = b.slice(i0, start=(0, 0), stop=(3, 4), step=(1, 1))
            return [b.gather(x, i0, axes=(0,)), b.gather(xs, i0, axes=(0,)),
                    b.gather(y, i1, i2, axes=(2, 0)), b.gather(x, small, axes=(1,))]
        fn = build("g", [(dt, (5, 7)), (dt, (4, 3, 6)), (i64, (9, 7)), (i64, (4, 3, 1)),
                         (i64, (4, 3, 1))], body)
        args = [random_array(rng, dt, (5, 7)), random_array(rng, dt, (4, 3, 6)),
                rng.integers(-5, 5, (9, 7)), rng.integers(-6, 6, (4, 3, 1)),
                rng.integers(-4, 4, (4, 3, 1))]
        check(fn, args)


def test_scatters_match_the_interpreter_duplicates_included():
    rng = np.random.default_rng(1)
    for dt in (f32, f64, i64):
        def body(b, base, src, i0, i1):
            return [b.scatter_add(base, src, i0, axes=(0,)),
                    b.scatter(base, src, i0, axes=(0,)),
                    b.scatter_add(b.full(base.type, 0), b.neg(src), i0, i1, axes=(0, 1)),
                    b.scatter(b.exp(src) if dt.is_float else src, b.neg(src), i1, axes=(1,))]
        fn = build("s", [(dt, (4, 6)), (dt, (7, 6)), (i64, (7, 6)), (i64, (7, 6))], body)
        args = [random_array(rng, dt, (4, 6)), random_array(rng, dt, (7, 6)),
                rng.integers(-4, 4, (7, 6)), rng.integers(-6, 6, (7, 6))]
        check(fn, args)
    fn = build("b", [(bool_, (5,)), (bool_, (3,)), (i64, (3,))],
               lambda b, x, s, i: b.scatter(x, s, i, axes=(0,)))
    check(fn, [np.zeros(5, bool), np.array([True, False, True]), np.array([4, 4, 0])])


def test_scatter_keeps_the_last_duplicate_in_row_major_order():
    fn = build("s", [(f64, (3,)), (f64, (4,)), (i64, (4,))],
               lambda b, x, s, i: b.scatter(x, s, i, axes=(0,)))
    x, s, i = np.zeros(3), np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, -2, 0, 1])
    (want,) = interpret(fn, [x, s, i])
    np.testing.assert_array_equal(want, [3.0, 4.0, 0.0])
    np.testing.assert_array_equal(compile_function(fn)(x, s, i)[0], want)


@pytest.mark.parametrize("kind", ["gather", "scatter_add", "scatter"])
@pytest.mark.parametrize("bad", [3, -4, 100] + BIG)
def test_a_bad_index_raises_index_error_naming_it(kind, bad):
    b = Builder("f", loc=SourceLoc("/user/prog.py", 12))
    x = b.param(tensor_type(f32, (3, 4)), "x")
    i = b.param(tensor_type(i64, (5, 4)), "i")
    s = b.param(tensor_type(f32, (5, 4)), "s")
    out = b.gather(x, i, axes=(0,)) if kind == "gather" else b.emit(kind, x, s, i, axes=(0,))
    fn = b.build(b.mul(out, out))
    cf = compile_function(fn)
    rng = np.random.default_rng(0)
    idx = rng.integers(-3, 3, (5, 4))
    args = [rng.standard_normal((3, 4)).astype(np.float32), idx,
            rng.standard_normal((5, 4)).astype(np.float32)]
    good = cf(*args)  # in range: no error, the interpreter's values
    np.testing.assert_allclose(good[0], interpret(fn, args)[0], rtol=1e-6)
    idx[3, 2] = bad
    msg = f"index {bad} is out of bounds for dimension 0 with size 3"
    with pytest.raises(IndexError, match=msg):
        interpret(fn, args)
    with pytest.raises(IndexError, match=rf"{msg} \({kind} at /user/prog.py:12\)"):
        cf(*args)
    # the code stays usable and the status is reset by the next call
    idx[3, 2] = 0
    np.testing.assert_allclose(cf(*args)[0], interpret(fn, args)[0], rtol=1e-6)


def test_the_first_fault_in_row_major_order_is_reported():
    fn = build("g", [(f32, (3,)), (i64, (4,))], lambda b, x, i: b.gather(x, i, axes=(0,)))
    with pytest.raises(IndexError, match="index 7 is out of bounds"):
        compile_function(fn)(np.zeros(3, np.float32), np.array([0, 7, 9, -8]))


def test_an_empty_indexed_axis_faults_without_reading():
    fn = build("g", [(f32, (0, 2)), (i64, (3, 2))], lambda b, x, i: b.gather(x, i, axes=(0,)))
    with pytest.raises(IndexError, match="index 0 is out of bounds for dimension 0 with size 0"):
        compile_function(fn)(np.zeros((0, 2), np.float32), np.zeros((3, 2), np.int64))
    fn = build("s", [(f32, (2, 0)), (f32, (2, 1)), (i64, (2, 1))],
               lambda b, x, s, i: b.scatter_add(x, s, i, axes=(1,)))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 0"):
        compile_function(fn)(np.zeros((2, 0), np.float32), np.ones((2, 1), np.float32),
                             np.full((2, 1), 5))


def test_random_index_data_never_crashes_and_matches_the_interpreter():
    """Hostile indices: every outcome is the interpreter's, values or IndexError."""
    rng = np.random.default_rng(5)
    fn = build("h", [(f64, (4, 5)), (f64, (6, 5)), (i64, (6, 5)), (i64, (6, 5))],
               lambda b, x, s, i, j: [b.gather(x, i, j, axes=(0, 1)),
                                      b.scatter_add(x, s, i, axes=(0,)),
                                      b.scatter(b.exp(s), s, j, axes=(1,))])
    cf = compile_function(fn)
    pool = np.array([0, 1, 3, 4, 5, -1, -4, -5, -6, 7, 99] + BIG, np.int64)
    for _ in range(60):
        args = [rng.standard_normal((4, 5)), rng.standard_normal((6, 5)),
                rng.choice(pool[:8] if rng.random() < 0.5 else pool, (6, 5)),
                rng.choice(pool, (6, 5))]
        try:
            want = interpret(fn, args)
        except IndexError:
            with pytest.raises(IndexError, match="is out of bounds"):
                cf(*args)
            continue
        for g, w in zip(cf(*args), want):
            np.testing.assert_allclose(g, w, rtol=1e-12)


def test_a_function_without_indices_keeps_the_void_entry_point():
    fn = build("v", [(f32, (3,))], lambda b, x: b.exp(x))
    cf = compile_function(fn)
    assert not cf._native.status
    assert re.search(rf'define void @"?{cf._native.entry.symbol}"?\(', cf.llvm)
    fn = build("w", [(f32, (3,)), (i64, (2,))], lambda b, x, i: b.gather(x, i, axes=(0,)))
    assert compile_function(fn)._native.status


def test_big_parallel_gather_checks_in_every_thread():
    """A loop big enough to be split among threads records a fault from any part."""
    n = 1 << 22
    fn = build("p", [(f32, (n,)), (i64, (n,))],
               lambda b, x, i: b.tanh(b.exp(b.gather(x, i, axes=(0,)))))
    cf = compile_function(fn)
    x = np.ones(n, np.float32)
    i = np.arange(n)[::-1].copy()
    np.testing.assert_allclose(cf(x, i)[0], np.tanh(np.exp(x)), rtol=1e-6)
    i[n // 2 + 17] = n
    with pytest.raises(IndexError, match=f"index {n} is out of bounds"):
        cf(x, i)


def test_code_loaded_from_the_disk_cache_still_reports_faults():
    from tapegrad.runtime.compiler import clear_memory_cache
    fn = build("d", [(f64, (3,)), (i64, (2,))],
               lambda b, x, i: b.gather(b.exp(x), i, axes=(0,)))
    compile_function(fn)
    clear_memory_cache()
    cf = compile_function(fn)
    assert cf.source == "disk" and cf._native.status
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 0 with size 3"):
        cf(np.zeros(3), np.array([0, -4]))


def test_computed_indices_are_checked_too():
    """An index the code computes (argmax, arithmetic) is data like any other."""
    fn = build("c", [(f32, (4, 5)), (i64, ())],
               lambda b, x, k: b.gather(x, b.add(b.broadcast(b.reshape(b.argmax(x, axis=1),
                                                                         shape=(4, 1)),
                                                               shape=(4, 1)),
                                                   b.broadcast(k, shape=(4, 1))), axes=(1,)))
    cf = compile_function(fn)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(cf(x, np.array(0))[0], x.max(1, keepdims=True))
    with pytest.raises(IndexError, match="out of bounds for dimension 1 with size 5"):
        cf(x, np.array(5))
