"""Advanced indexing with gradients: against PyTorch 2.13's recorded outputs (the same
programs, advanced_indexing_cases.py), numpy's semantics, finite differences to second
order, and IndexError in eager and compiled code."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer.errors import TracerError

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import advanced_indexing_cases as cases  # noqa: E402

RECORDED = json.load(open(cases.DATA))


def _compare(got, want, path=""):
    if isinstance(want, dict) and set(want) == {"shape", "values"}:
        assert got["shape"] == want["shape"], path
        np.testing.assert_allclose(got["values"], want["values"], rtol=1e-12, atol=1e-12,
                                   err_msg=path)
    elif isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            _compare(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for k, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, f"{path}[{k}]")
    else:
        if isinstance(want, str):  # PyTorch names CopySlices with its C++ namespace
            want = want.replace("torch::autograd::", "")
        assert got == want, (path, got, want)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.__name__)
def test_prints_what_pytorch_gave(case):
    _compare(case(tg), RECORDED[case.__name__], case.__name__)


NUMPY_INDICES = [
    lambda: ([0, 2, 2],), lambda: (np.array([[1], [-3]]), np.array([0, 3, -1])),
    lambda: (slice(None), [3, 0]), lambda: (Ellipsis, [1, 0, 1]),
    lambda: (None, [2, 1], slice(1, 4, 2)), lambda: (slice(None, None, 2), [0, -1]),
    lambda: ([0, 2], slice(None), [1, 0]),  # separated: numpy puts the block first too
]


@pytest.mark.parametrize("make", NUMPY_INDICES)
def test_agrees_with_numpy_when_no_int_is_separated(make):
    a = np.random.default_rng(0).standard_normal((3, 4, 2))
    ix = make()
    want = a[tuple(ix)]
    tix = tuple(tg.tensor(i) if isinstance(i, np.ndarray) else i for i in ix)
    got = tg.tensor(a)[tix]
    np.testing.assert_array_equal(got.numpy(), want)
    b, c = a.copy(), tg.tensor(a)
    v = np.arange(want.size, dtype=np.float64).reshape(want.shape)
    b[tuple(ix)] = v
    c[tix] = tg.tensor(v)
    # where no element is written twice, the result is defined: numpy's
    if len(np.unique(np.arange(a.size).reshape(a.shape)[tuple(ix)])) == want.size:
        np.testing.assert_array_equal(c.numpy(), b)


def _gradcheck(f, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    xs = [tg.tensor(rng.standard_normal(s), dtype=tg.float64, requires_grad=True) for s in shapes]
    assert tg.autograd.gradcheck(f, xs)
    assert tg.autograd.gradgradcheck(f, xs) if hasattr(tg.autograd, "gradgradcheck") else True
    # second order by hand: d/dx <grad f(x), v> against finite differences
    v = [tg.tensor(rng.standard_normal(s)) for s in shapes]

    def gv(*ins):
        gs = tg.autograd.grad(f(*ins).sum(), ins, create_graph=True)
        return sum((g * w).sum() for g, w in zip(gs, v))
    assert tg.autograd.gradcheck(gv, xs)


SECOND_ORDER = [
    (lambda x: x[[0, 2, 2]] ** 3, [(3, 4)]),
    (lambda x: x[:, [1, -1, 1]].sin() * x[[0], :3], [(2, 4)]),
    (lambda x: x[tg.tensor([[0], [1]]), tg.tensor([2, 0, 2])] ** 2, [(3, 3)]),
    (lambda x: tg.gather(x, 1, tg.tensor([[0, 0], [2, 1]])) ** 3, [(2, 3)]),
    (lambda x: x.index_select(0, tg.tensor([1, 1, 0])).exp(), [(2, 3)]),
    (lambda x, s: x.scatter_add(0, tg.tensor([[1, 0, 1]]), s) ** 2, [(2, 3), (1, 3)]),
    (lambda x, s: x.scatter(1, tg.tensor([[2, 0]]), s) ** 2, [(1, 3), (1, 2)]),
    (lambda x, s: x.index_add(1, tg.tensor([0, 0]), s) ** 2, [(2, 3), (2, 2)]),
    (lambda x: x.take(tg.tensor([5, 0, 5])) ** 3, [(2, 3)]),
    (lambda x: x.masked_fill(tg.tensor([[True, False, True]]), 0.5) ** 3, [(2, 3)]),
    (lambda x: x.masked_select(tg.tensor([True, False, True])) ** 3, [(2, 3)]),
]


@pytest.mark.parametrize("k", range(len(SECOND_ORDER)))
def test_gradients_to_second_order(k):
    f, shapes = SECOND_ORDER[k]
    _gradcheck(f, *shapes, seed=k)


def _setitem_fn(x, v):
    y = x * 1
    y[[0, 2], 1:] = v * v
    y[y > 0.5] = 0.25
    return y ** 2


def test_setitem_gradients_to_second_order():
    _gradcheck(_setitem_fn, (3, 3), (2, 2))


def test_iadd_does_not_accumulate_duplicates():
    x = tg.zeros(3)
    x[[0, 0, 1]] += tg.tensor([1.0, 2.0, 3.0])
    assert x.tolist() == [2.0, 3.0, 0.0]
    y = tg.zeros(3)
    y.index_add_(0, tg.tensor([0, 0, 1]), tg.tensor([1.0, 2.0, 3.0]))
    assert y.tolist() == [3.0, 3.0, 0.0]


def test_custom_relu_backward_of_the_tutorial():
    class MyReLU(tg.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    x = tg.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    MyReLU.apply(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 1.0]


# ---------------------------------------------------------------- compiled code


def test_compiled_getitem_setitem_match_eager():
    def f(x, i):
        y = x.clone()
        y[i] = y[i] * 3
        y[y < 0] = 0
        return (y * y).sum() + x[i, 1:].sum() + x.gather(0, i.reshape(-1, 1).expand(-1, 3)).sum()

    x, i = tg.randn(4, 3, dtype=tg.float64), tg.tensor([0, 3, -1])
    for g in (tg.grad(f), tg.compile(tg.grad(f))):
        np.testing.assert_allclose(g(x, i).numpy(), tg.grad(f)(x, i).numpy())
    xe = x.clone().requires_grad_()
    f(xe, i).backward()
    np.testing.assert_allclose(tg.grad(f)(x, i).numpy(), xe.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tg.compile(f)(x, i).item(), f(x, i).item(), rtol=1e-12)


def _two_gathers(x, i):
    return x[i].sum() + x[i].sum()


LINE = _two_gathers.__code__.co_firstlineno + 1  # the line the error must name


@pytest.mark.parametrize("bad", [4, -5, 2**62, -2**63, 10**18])
def test_compiled_index_out_of_range_raises_naming_index_size_op_and_line(bad):
    f = _two_gathers
    cf, gf = tg.compile(f), tg.grad(f)
    x = tg.randn(4, 3)
    cf(x, tg.tensor([0, 1]))
    for fn in (cf, gf):
        with pytest.raises(IndexError, match=rf"index {bad} is out of bounds for dimension 0 "
                                             rf"with size 4 \((gather|scatter_add) at "
                                             rf".*test_advanced_indexing.py:{LINE}\)"):
            fn(x, tg.tensor([0, bad]))
    assert cf(x, tg.tensor([3, -4])).item() == pytest.approx(f(x, tg.tensor([3, -4])).item(), rel=1e-6)


def test_eager_index_errors_are_pytorchs():
    got = cases.errors(tg)
    for k, msg in RECORDED["errors"].items():
        assert got[k] == msg, k


def test_a_mask_in_traced_code_names_the_line_and_the_way_out():
    def f(x):
        return x[x > 0].sum()
    with pytest.raises(TracerError, match=r"tg.where.*masked_fill.*test_advanced_indexing.py:\d+"):
        tg.grad(f)(tg.randn(3))

    def g(x):  # shape-keeping forms trace
        y = x.clone()
        y[y < 0] = 0
        return (y + x.masked_fill(x > 1, 0.0) + tg.where(x > 0, x, 0.0)).sum()
    x = tg.tensor([-1.0, 0.5, 2.0])
    assert tg.compile(g)(x).item() == pytest.approx(g(x).item())
    assert tg.grad(g)(x).tolist() == [1.0, 3.0, 2.0]


def test_reduce_and_nonzero_limits_are_named():
    with pytest.raises(NotImplementedError, match="torch-coverage.md"):
        tg.zeros(3).scatter(0, tg.tensor([0]), 1.0, reduce="add")

    def f(x):
        return tg.nonzero(x)
    with pytest.raises(TracerError):
        tg.compile(f)(tg.randn(3))
