"""The learning-rate schedulers against PyTorch's recorded rates (data/record_schedules.py)."""
import json
import pathlib

import pytest

import tapegrad as tg

DATA = json.loads(pathlib.Path(__file__).with_name("data").joinpath(
    "schedules.json").read_text())


@pytest.mark.parametrize("run", DATA["runs"], ids=lambda r: f"{r['scheduler']}-{r['kwargs']}")
def test_rates_equal_pytorchs(run):
    w = tg.zeros(2, requires_grad=True)
    b = tg.zeros(1, requires_grad=True)
    opt = tg.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.05}], lr=0.1)
    kwargs = dict(run["kwargs"])
    if "lr_lambda" in kwargs:
        kwargs["lr_lambda"] = eval(kwargs["lr_lambda"])
    sched = getattr(tg.optim.lr_scheduler, run["scheduler"])(opt, **kwargs)
    for epoch, expected in enumerate(run["rates"]):
        opt.step()
        if run["scheduler"] == "ReduceLROnPlateau":
            sched.step(DATA["metrics"][epoch])
        else:
            sched.step()
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(expected, rel=1e-12), \
            f"after step {epoch + 1}"
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        tg.optim.lr_scheduler.StepLR(object(), step_size=1)
