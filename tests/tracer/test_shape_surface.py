"""The shape, values-with-indices, product and construction surface against PyTorch 2.13's
recorded outputs (data/record_shape_surface.py), gradchecks to second order in float64,
compiled against eager, and the operator/list rule."""
import json
import math
import os
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd import gradcheck, gradgradcheck

DATA = os.path.join(os.path.dirname(__file__), "data")
sys.path.insert(0, DATA)
from shape_surface_cases import CASES, N, T, V, X  # noqa: E402

with open(os.path.join(DATA, "shape_surface_expected.json")) as f:
    EXPECTED = json.load(f)


def _env(x=None, v=None):
    return {"torch": tg, "x": x if x is not None else tg.tensor(X, requires_grad=True),
            "v": v if v is not None else tg.tensor(V, requires_grad=True),
            "n": tg.tensor(N, dtype=tg.float32), "t": tg.tensor(T)}


#: cases whose last node is an internal detail of PyTorch's decomposition (einsum's
#: permutes, the clone in a broadcast batched matmul): only "has a grad_fn" is compared
NODE_CHAIN_DIFFERS = {
    "torch.einsum('ii->i', x[:, :3])",
    "x.reshape(1, 3, 4) @ x.t().reshape(1, 4, 3).repeat(2, 1, 1)",
}


def _check(got, want, case):
    if want["kind"] == "pair":
        assert type(got).__name__ == want["name"], case
        assert got.values is got[0] and got.indices is got[1]
        _check(got[0], want["values"], case)
        _check(got[1], want["indices"], case)
        assert repr(got).startswith(f"torch.return_types.{want['name']}(\nvalues=tensor(")
        return
    if want["kind"] == "tensor":
        assert isinstance(got, tg.Tensor), case
        assert str(got.dtype) == "torch." + want["dtype"], case
        assert list(got.shape) == want["shape"], case
        values = got.detach().numpy().astype(np.float64).ravel()
        np.testing.assert_allclose(values, np.array(want["value"], np.float64), rtol=1e-6,
                                   atol=1e-6 if got.dtype.is_float and got.dtype.itemsize == 4
                                   else 1e-12, equal_nan=True, err_msg=case)
        gf = got.grad_fn.name() if got.grad_fn is not None else None
        if case in NODE_CHAIN_DIFFERS:
            assert (gf is None) == (want["grad_fn"] is None), case
            return
        assert gf == want["grad_fn"], f"{case}: grad_fn {gf} != {want['grad_fn']}"
        return
    got = list(got) if want["kind"] == "tuple" else got
    assert got == want["value"], case


@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch(case):
    _check(eval(case, _env()), EXPECTED[case], case)


def _float_output(r):
    return r[0] if isinstance(r, tuple) else r


GRAD_CASES = [c for c in CASES if "x" in c.replace("torch.", "").replace("ax", "") or "v" in c
              if EXPECTED[c]["kind"] in ("tensor", "pair") and
              (EXPECTED[c].get("grad_fn") or EXPECTED[c].get("values", {}).get("grad_fn"))]


def test_gradient_cases_cover_every_family():
    names = " ".join(GRAD_CASES)
    for op in ("repeat", "flip", "roll", "narrow", "split", "unbind", "movedim", "tril",
               "diagonal", "diag", "sort", "topk", "median", "kthvalue", "max", "einsum",
               "tensordot", "addmm", "addmv", "baddbmm", "outer", "vdot", "mv"):
        assert op in names, op


@pytest.mark.parametrize("case", GRAD_CASES)
def test_gradients_to_second_order(case):
    def f(x, v):
        return _float_output(eval(case, _env(x, v)))
    x = tg.tensor(X, dtype=tg.float64, requires_grad=True)
    v = tg.tensor(V, dtype=tg.float64, requires_grad=True)
    assert gradcheck(f, (x, v))
    assert gradgradcheck(f, (x, v))


@pytest.mark.parametrize("case", [
    "x.sort(descending=True)", "x.topk(2)", "x.median(1)", "x.kthvalue(2, 0)", "x.argsort(1)",
    "x.flip(0, 1).roll(1, 1).repeat(2, 1).tril()", "torch.einsum('...ij,...jk->...ik', "
    "x.reshape(1, 3, 4), x.t())", "torch.diag(x) + x.diagonal(1)", "x.median()",
    "torch.stack(x.split([1, 3], 1)[1].unbind(0))", "n.sort()", "n.sort(descending=True)",
    "t.sort(stable=True)"])
def test_compiled_matches_eager(case):
    def f(x, n, t):
        r = eval(case, {"torch": tg, "x": x, "n": n, "t": t})
        return tuple(r) if isinstance(r, tuple) else r
    args = (tg.tensor(X), tg.tensor(N, dtype=tg.float32), tg.tensor(T))
    eager = f(*args)
    compiled = tg.compile(f)(*args)
    for a, b in zip(eager if isinstance(eager, tuple) else (eager,),
                    compiled if isinstance(compiled, tuple) else (compiled,)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_compiled_gradient_of_sorted_values():
    w = tg.arange(4.0, dtype=tg.float64)
    g = tg.grad(lambda x: (x.sort(descending=True).values * w).sum())(tg.tensor(X))
    x = tg.tensor(X, requires_grad=True)
    (x.sort(descending=True).values * w).sum().backward()
    np.testing.assert_array_equal(g.numpy(), x.grad.numpy())
    assert sorted(g.numpy()[0].tolist()) == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "@", "**"])
@pytest.mark.parametrize("seq", [[1.0, 2.0, 3.0, 4.0], (1.0, 2.0, 3.0, 4.0)])
def test_operators_refuse_lists_as_pytorch(op, seq):
    """PyTorch raises TypeError; a detached constant would make a silent zero gradient."""
    x = tg.tensor(X, requires_grad=True)
    with pytest.raises(TypeError):
        eval(f"x {op} seq")
    with pytest.raises(TypeError):
        eval(f"seq {op} x")
    with pytest.raises(TypeError):
        tg.grad(lambda a: eval(f"(a {op} seq)", {"a": a, "seq": seq}).sum())(tg.tensor(X))
    assert (x == list(seq)) is False and (x != list(seq)) is True


def test_unsupported_arguments_and_devices_say_so():
    with pytest.raises(NotImplementedError, match="out=.*torch-coverage"):
        tg.sort(tg.tensor(X), out=(1, 2))
    out = tg.ones(2)  # ones/zeros take out= now (tests/e2e/torch_factory_out_cases.py)
    assert tg.zeros(2, out=out) is out and out.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="set_default_device.*CPU only"):
        tg.set_default_device("cuda")
    tg.set_default_device("cpu")
    tg.set_default_device(None)
    assert str(tg.get_default_device()) == "cpu"


def test_errors_name_the_problem():
    x = tg.tensor(X)
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum"):
        x.split([1, 2], 1)
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        x.narrow(1, 3, 2)
    with pytest.raises(RuntimeError, match="repeat dims can not be smaller"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(5)
    with pytest.raises(RuntimeError, match="subscript"):
        tg.einsum("ij,jk->ik", x, x)


def test_asarray_shares_memory():
    a = np.arange(3.0)
    t = tg.asarray(a)
    a[0] = 7.0
    assert t[0].item() == 7.0
    assert tg.asarray(t) is t
    assert tg.asarray(t, copy=True) is not t
    assert math.isclose(tg.asarray([1.5]).item(), 1.5)
