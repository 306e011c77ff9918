"""tracer/eager_direct.py (linear, relu, mse_loss recorded directly) records exactly what
the general path records: the same values, tape (instructions, types, constants, lines),
grad_fn names and next_functions, saved arrays with their version boxes, gradients,
in-place errors; and it leaves every case it does not cover to the general path."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer import eager_direct, ops_elementwise, ops_shape
from tapegrad.tracer.tape import grad_node

from .tape_records import assert_same_runs, backward_errors, tape_record

F = tg.nn.functional


def arr(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _general(monkeypatch):
    monkeypatch.setattr(eager_direct, "linear", lambda *a: None)
    monkeypatch.setattr(eager_direct, "mse_loss", lambda *a: None)
    monkeypatch.setattr(ops_elementwise, "_direct_relu", lambda x: None)
    monkeypatch.setattr(ops_shape, "_matmul_direct", lambda a, b: None)


def _net(x, w1, b1, w2, y, reduction):
    h = F.relu(F.linear(x, w1, b1))
    return F.mse_loss(F.linear(h, w2), y, reduction=reduction)


PROGRAMS = {
    "sequential sum": lambda t: tg.nn.MSELoss(reduction="sum")(
        t["model"](t["x"]), t["y"]),
    "net mean": lambda t: _net(t["x"], t["w1"], t["b1"], t["w2"], t["y"], "mean"),
    "input requires grad": lambda t: F.linear(t["xg"], t["w1"], t["b1"]).sum(),
    "only bias requires grad": lambda t: F.linear(t["x"], t["w1c"], t["b1"]).sum(),
    "double": lambda t: F.mse_loss(F.relu(F.linear(t["x"].double(), t["w1"].double(),
                                                   t["b1"].double())),
                                   t["y1"].double(), reduction="sum"),
    "relu of a scalar": lambda t: F.relu(t["xg"].sum()) * 2,
    "shared input": lambda t: F.mse_loss(t["xg"], t["xg"] * 2, reduction="mean"),
    "w6's vector-matrix": lambda t: tg.sigmoid(tg.matmul(t["x"][0], t["w1"].t()) + t["b1"]).sum(),
    "matrix-vector, both require grad": lambda t: (t["xg"] @ t["xg"][0]).sum(),
    "dot, one requires grad": lambda t: tg.matmul(t["x"][1], t["xg"][2] * 2) * 3,
    "dot, the other": lambda t: tg.matmul(t["xg"][2] * 2, t["x"][1]) * 3,
    "dot of one tensor with itself": lambda t: tg.matmul(t["b1"], t["b1"]),
    "vector-matrix, input requires grad": lambda t: (t["xg"][0] @ t["w1c"].t()).sum(),
    "matrices": lambda t: tg.matmul(t["xg"], t["w1"].t()).sum(),
}


def _tensors():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(5, 4), tg.nn.ReLU(), tg.nn.Linear(4, 3))
    return {"model": model, "x": tg.tensor(arr(6, 5, seed=1)),
            "xg": tg.tensor(arr(6, 5, seed=1), requires_grad=True),
            "w1": tg.tensor(arr(4, 5, seed=2), requires_grad=True),
            "w1c": tg.tensor(arr(4, 5, seed=2)),
            "b1": tg.tensor(arr(4, seed=3), requires_grad=True),
            "w2": tg.tensor(arr(3, 4, seed=4), requires_grad=True),
            "y": tg.tensor(arr(6, 3, seed=5)), "y1": tg.tensor(arr(6, 4, seed=6))}


def _run(program):
    t = _tensors()
    out = PROGRAMS[program](t)
    record = tape_record(out)
    out.backward()
    grads = {k: None if v.grad is None else v.grad.numpy() for k, v in t.items()
             if isinstance(v, tg.Tensor)}
    grads.update({k: p.grad.numpy() for k, p in t["model"].named_parameters()
                  if p.grad is not None})
    return record, grads


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_direct_recording_is_the_general_recording(monkeypatch, program):
    fast = [_run(program) for _ in range(2)]  # the second: a cached adjoint
    _general(monkeypatch)
    slow = [_run(program) for _ in range(2)]
    assert_same_runs(fast, slow)


def test_linear_is_pytorchs_node_structure():
    t = _tensors()
    out = F.linear(t["x"], t["w1"], t["b1"])
    assert out.grad_fn.name() == "AddmmBackward0"
    names = [None if f is None else f.name() for f, _ in out.grad_fn.next_functions]
    assert names == ["torch::autograd::AccumulateGrad", None, "TBackward0"]
    assert F.linear(t["x"], t["w1"]).grad_fn.name() == "MmBackward0"
    assert F.relu(out).grad_fn.name() == "ReluBackward0"
    assert F.mse_loss(out, t["y1"]).grad_fn.name() == "MseLossBackward0"


def test_a_weight_changed_in_place_after_linear_is_the_general_error(monkeypatch):
    def build():
        t = _tensors()
        out = F.linear(t["xg"], t["w1"], t["b1"]).sum()
        with tg.no_grad():
            t["w1"].add_(1.0)
        return out, t
    messages = backward_errors(lambda: _general(monkeypatch), build)
    assert messages[0] == messages[1]
    assert "modified by an inplace operation" in messages[0]


def test_cases_it_does_not_cover_take_the_general_path():
    x, w, b = tg.tensor(arr(2, 3, 5)), tg.tensor(arr(4, 5), requires_grad=True), \
        tg.tensor(arr(4), requires_grad=True)
    assert eager_direct.linear(x, w, b) is None  # 3-d input: a view over addmm
    assert F.linear(x, w, b).grad_fn.name() == "ViewBackward0"
    h = tg.tensor(arr(2, 5).astype(np.float16))
    assert eager_direct.linear(h, w.half(), b.half()) is None
    assert eager_direct.mse_loss(tg.tensor(arr(3, 4)), tg.tensor(arr(4)), "sum") is None
    assert eager_direct.mse_loss(tg.tensor(arr(3)), tg.tensor(arr(3)), "none") is None
    assert eager_direct.relu(tg.tensor([1, -2])) is None  # integers
    with grad_node("OuterBackward0", w):
        assert eager_direct.relu(w) is None  # inside another operation: joins its node
        assert F.relu(w).grad_fn.name() == "OuterBackward0"
    g = tg.grad(lambda w, b: F.mse_loss(F.relu(F.linear(tg.ones(2, 5), w, b)),
                                        tg.zeros(2, 4), reduction="sum"))
    np.testing.assert_allclose(g(w.detach(), b.detach()).numpy(),
                               _grad_by_eager(w.detach(), b.detach()), rtol=1e-5)
    assert eager_direct.matmul_vector(tg.tensor([1, 2]), tg.tensor([3, 4])) is None
    assert eager_direct.matmul_vector(tg.tensor(arr(3)), tg.tensor(arr(3, dtype=np.float64))) \
        is None
    assert eager_direct.matmul_vector(w, b) is None  # two matrices: mm's one primitive
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        tg.matmul(tg.tensor(arr(3)), tg.tensor(arr(4, 2)))
    with tg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        assert eager_direct.relu(w) is None


def _grad_by_eager(w, b):
    w = w.clone().requires_grad_()
    F.mse_loss(F.relu(F.linear(tg.ones(2, 5), w, b)), tg.zeros(2, 4), reduction="sum").backward()
    return w.grad.numpy()


def test_without_grad_it_records_nothing():
    t = _tensors()
    with tg.no_grad():
        out = F.mse_loss(F.relu(F.linear(t["x"], t["w1"], t["b1"])), t["y1"])
    assert out.grad_fn is None and not out.requires_grad
    want = np.mean((np.maximum(arr(6, 5, seed=1) @ arr(4, 5, seed=2).T + arr(4, seed=3), 0)
                    - arr(6, 4, seed=6)) ** 2)
    np.testing.assert_allclose(out.item(), want, rtol=1e-5)
    assert F.relu(tg.tensor(-1.0)).shape == ()  # a 0-d result stays a tensor of shape ()
