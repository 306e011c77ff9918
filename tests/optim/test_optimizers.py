"""The optimizers against PyTorch's recorded trajectories (data/record_trajectories.py):
float32, 100 steps, parameters within 1e-5 relative of PyTorch's after steps 1, 10, 100."""
import json
import pathlib

import numpy as np
import pytest

import tapegrad as tg

DATA = json.loads(pathlib.Path(__file__).with_name("data").joinpath(
    "trajectories.json").read_text())


def _loss(w, b, x, y):
    return ((x @ w.T + b - y) ** 2).mean()


def _run(name, kwargs):
    w = tg.tensor(np.array(DATA["W0"], np.float32), requires_grad=True)
    b = tg.tensor(np.array(DATA["B0"], np.float32), requires_grad=True)
    opt = getattr(tg.optim, name)([w, b], **{k: tuple(v) if isinstance(v, list) else v
                                              for k, v in kwargs.items()})
    x, y = tg.tensor(np.array(DATA["X"], np.float32)), tg.tensor(np.array(DATA["Y"], np.float32))
    snapshots, losses = {}, []
    for step in range(1, 101):
        opt.zero_grad()
        loss = _loss(w, b, x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step in (1, 10, 100):
            snapshots[str(step)] = [w.detach().numpy().copy(), b.detach().numpy().copy()]
    return losses, snapshots, opt


@pytest.mark.parametrize("run", DATA["runs"], ids=lambda r: f"{r['optimizer']}-{r['kwargs']}")
def test_trajectory_matches_pytorch(run):
    losses, snapshots, _ = _run(run["optimizer"], run["kwargs"])
    np.testing.assert_allclose(losses, run["losses"], rtol=1e-5, atol=1e-7)
    for step, (w, b) in run["params"].items():
        np.testing.assert_allclose(snapshots[step][0], w, rtol=1e-5, atol=1e-7,
                                   err_msg=f"weight after step {step}")
        np.testing.assert_allclose(snapshots[step][1], b, rtol=1e-5, atol=1e-7,
                                   err_msg=f"bias after step {step}")


def test_step_updates_parameters_in_place():
    w = tg.nn.Parameter(tg.ones(3))
    data_before = w._data
    opt = tg.optim.SGD([w], lr=0.5)
    (w * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    opt.step()
    assert w._data is data_before
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 0.0, -0.5])


def test_state_dict_round_trip_continues_identically():
    _, _, opt = _run("Adam", {"lr": 0.01, "amsgrad": True})
    sd = opt.state_dict()
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert float(sd["state"][0]["step"]) == 100.0
    assert sd["param_groups"][0]["params"] == [0, 1]
    w2 = tg.zeros(3, 4, requires_grad=True)
    b2 = tg.zeros(3, requires_grad=True)
    opt2 = tg.optim.Adam([w2, b2], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01
    np.testing.assert_array_equal(opt2.state[w2]["exp_avg"].numpy(),
                                  sd["state"][0]["exp_avg"].numpy())


def test_zero_grad_and_param_groups():
    a = tg.ones(2, requires_grad=True)
    b = tg.ones(2, requires_grad=True)
    opt = tg.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0)
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.1]
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(b.detach().numpy(), [0.9, 0.9])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None
    c = tg.ones(1, requires_grad=True)
    opt.add_param_group({"params": c})
    assert opt.param_groups[2]["lr"] == 1.0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
