"""Native safety through the public API: odd buffers (wrong size, wrong dtype, non-contiguous,
read-only, aliased, misaligned, byte-swapped, broadcast with zero strides) give the right answer
or a Python exception, never a crash or a silently wrong value; inputs are never written; results
never alias inputs or each other, across calls included."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import f32 as F32, tensor_type
from tapegrad.ir import primitives as P
from tapegrad.ir.core import Function, Instr, Param
from tapegrad.ir.verifier import VerifyError
from tapegrad.runtime.compiler import compile_function

RNG = np.random.default_rng(7)


def _f(a, b):
    return (a * b + a.tanh()) @ b.T


def _reference(a, b):
    """The interpreter's answer on clean copies."""
    ta, tb = tg.tensor(np.array(a)), tg.tensor(np.array(b))
    return _f(ta, tb).numpy()


def _grads_reference(a, b):
    ta = tg.tensor(np.array(a), requires_grad=True)
    tb = tg.tensor(np.array(b), requires_grad=True)
    _f(ta, tb).sum().backward()
    return ta.grad.numpy(), tb.grad.numpy()


def _base(dtype=np.float32, shape=(4, 6)):
    return RNG.standard_normal(shape).astype(dtype)


def _views():
    """(label, a, b): arrays with the same values as clean (4,6) arrays, laid out oddly."""
    a, b = _base(), _base()
    big = np.zeros((8, 12), np.float32)
    big[::2, ::2] = a
    raw = np.zeros(a.nbytes + 1, np.uint8)
    misaligned = raw[1:].view(np.float32).reshape(a.shape)
    misaligned[...] = a
    ro = a.copy()
    ro.flags.writeable = False
    row = _base(shape=(1, 6))
    out = [
        ("transposed", np.asfortranarray(a), b),
        ("strided", big[::2, ::2], b),
        ("reversed", a[::-1, ::-1].copy()[::-1, ::-1], b),
        ("negative-stride", np.ascontiguousarray(a[::-1])[::-1], b),
        ("misaligned", misaligned, b),
        ("byteswapped", a.astype(">f4"), b.astype(">f4")),
        ("read-only", ro, b),
        ("zero-stride", np.broadcast_to(row, (4, 6)), b),
        ("aliased", a, a),
        ("overlapping", np.lib.stride_tricks.as_strided(
            np.arange(9, dtype=np.float32), shape=(4, 6), strides=(4, 4)), b),
        ("tensor-view", tg.tensor(np.ascontiguousarray(a.T)).T, b),
    ]
    return out


@pytest.mark.parametrize("label, a, b", _views(), ids=[v[0] for v in _views()])
def test_odd_buffers_give_the_right_answer_and_are_not_written(label, a, b):
    before_a = np.array(a.numpy() if isinstance(a, tg.Tensor) else a, copy=True)
    before_b = np.array(b, copy=True)
    plain_a = before_a.astype(np.float32)
    want = _reference(plain_a, before_b.astype(np.float32))
    got = tg.compile(_f)(a, b).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=label)
    ga, gb = tg.grad(lambda x, y: _f(x, y).sum(), argnums=(0, 1))(a, b)
    wa, wb = _grads_reference(plain_a, before_b.astype(np.float32))
    if label == "aliased":  # the same buffer as both arguments: still two arguments
        np.testing.assert_allclose(ga.numpy(), wa, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(gb.numpy(), wb, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(ga.numpy(), wa, rtol=1e-5, atol=1e-5, err_msg=label)
        np.testing.assert_allclose(gb.numpy(), wb, rtol=1e-5, atol=1e-5, err_msg=label)
    now_a = a.numpy() if isinstance(a, tg.Tensor) else a
    np.testing.assert_array_equal(now_a, before_a)  # inputs untouched
    np.testing.assert_array_equal(b, before_b)


@pytest.mark.parametrize("shape_a, shape_b", [((4, 5), (4, 6)), ((4,), (4, 6)), ((4, 6), (5, 6)), ((4, 6), (4,))])
def test_wrong_sizes_are_an_error_not_a_read_past_the_end(shape_a, shape_b):
    cf = tg.compile(_f)
    cf(_base(), _base())  # the good signature exists; a bad one must not reuse it
    with pytest.raises((RuntimeError, IndexError)):
        cf(_base(shape=shape_a), _base(shape=shape_b))


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32, np.bool_, np.float16])
def test_other_dtypes_specialise_or_fail_cleanly(dtype):
    a = (RNG.standard_normal((4, 6)) * 3).astype(dtype)
    b = (RNG.standard_normal((4, 6)) * 3).astype(dtype)
    f = tg.compile(lambda x, y: x * y + x)
    got = f(a, b).numpy()
    want = (tg.tensor(a) * tg.tensor(b) + tg.tensor(a)).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_results_never_alias_inputs_or_earlier_results():
    n = 600_000  # > 1 MiB of float32: large results may come from a reused pool
    f = tg.compile(lambda x: x * 2.0)
    x = np.ones(n, np.float32)
    r1 = f(x).numpy()
    r2 = f(x * 3).numpy()
    assert not np.shares_memory(r1, x) and not np.shares_memory(r1, r2)
    np.testing.assert_array_equal(r1, np.full(n, 2.0, np.float32))  # not overwritten by call 2
    np.testing.assert_array_equal(r2, np.full(n, 6.0, np.float32))
    del r1
    r3 = f(x * 5).numpy()  # r1's block may be reused now: r2 must stay intact
    np.testing.assert_array_equal(r2, np.full(n, 6.0, np.float32))
    np.testing.assert_array_equal(r3, np.full(n, 10.0, np.float32))
    r3[:] = -1  # writing a result changes nothing else
    np.testing.assert_array_equal(f(x).numpy(), np.full(n, 2.0, np.float32))
    two = tg.compile(lambda x: (x + 1.0, x + 1.0))(x)
    assert not np.shares_memory(two[0].numpy(), two[1].numpy())


def test_results_are_writable_and_independent_of_a_view_of_the_result():
    f = tg.grad(lambda x: (x * x).sum())
    x = np.arange(6, dtype=np.float32)
    g = f(x)
    v = g.numpy()
    v[0] = 100.0
    np.testing.assert_array_equal(f(x).numpy(), 2 * x)


def test_forged_ir_whose_types_disagree_with_the_shape_rules_is_refused():
    """Loop bounds come from verified static types: a type that lies never reaches LLVM."""
    x = Param(tensor_type(F32, (3,)), "x")
    liar = Instr(P.PRIMITIVES["sin"], [x], {}, tensor_type(F32, (1 << 20,)))
    with pytest.raises(VerifyError, match=r"declared type f32\[1048576\].*f32\[3\]"):
        compile_function(Function("forged", [x], [liar], [liar]))


def test_low_level_call_refuses_every_mismatch_before_the_native_call():
    fn = tg.make_ir(lambda a, b: a @ b)(_base(shape=(3, 4)), _base(shape=(4, 2)))
    cf = compile_function(fn)
    good = [_base(shape=(3, 4)), _base(shape=(4, 2))]
    np.testing.assert_allclose(cf(*good)[0], good[0] @ good[1], rtol=1e-5)
    bad = [
        ([good[0]], TypeError), ([*good, good[1]], TypeError),
        ([good[0].astype(np.float64), good[1]], TypeError),
        ([good[0][:, :3], good[1]], ValueError), ([good[0].reshape(4, 3), good[1]], ValueError),
        ([good[0].ravel(), good[1]], ValueError), ([good[0], None], (TypeError, ValueError)),
        ([good[0], "x"], (TypeError, ValueError)),
    ]
    for args, err in bad:
        with pytest.raises(err):
            cf(*args)
    np.testing.assert_allclose(cf(np.asfortranarray(good[0]), good[1][:, ::1])[0],
                               good[0] @ good[1], rtol=1e-5)
