"""torch.autograd.profiler / torch.profiler on tapegrad: what the recorded PyTorch cases
(tests/e2e/torch_autograd_cases.py) cannot show: nothing is wrapped while no profile is
on, tapegrad's own event names, the Chrome trace file, the handler and the errors."""
from __future__ import annotations

import json

import pytest

import tapegrad as tg
from tapegrad.autograd import profiler as P


def _keys(prof) -> dict:
    return {e.key: e.count for e in prof.key_averages()}


def test_profiling_off_leaves_every_operation_unwrapped():
    before = (tg.Tensor.__mul__, tg.Tensor.sum, tg.mul, tg.nn.functional.linear,
              tg.optim.SGD.step, tg.Tensor.backward)
    with P.profile():
        assert tg.Tensor.__mul__ is not before[0]  # wrapped while on
    after = (tg.Tensor.__mul__, tg.Tensor.sum, tg.mul, tg.nn.functional.linear,
             tg.optim.SGD.step, tg.Tensor.backward)
    assert all(a is b for a, b in zip(before, after))
    with P.record_function("outside a profile"):  # does nothing, raises nothing
        pass


def test_an_error_in_the_block_puts_the_originals_back():
    original = tg.Tensor.__add__
    with pytest.raises(ValueError):
        with P.profile():
            raise ValueError("boom")
    assert tg.Tensor.__add__ is original


def test_a_training_step_is_named_as_pytorch_names_it():
    model = tg.nn.Linear(3, 2)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    x = tg.ones(4, 3)
    with P.profile() as prof:
        loss = tg.nn.functional.mse_loss(model(x), tg.zeros(4, 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
    keys = _keys(prof)
    for name in ("aten::linear", "aten::mse_loss", "autograd::backward",
                 "Optimizer.step#SGD.step", "Optimizer.zero_grad#SGD.zero_grad"):
        assert keys.get(name) == 1, (name, keys)


def test_a_call_through_two_names_is_one_event():
    x = tg.ones(2, requires_grad=True)
    with P.profile() as prof:
        tg.mul(x, x)
        x.mul(x)
        x * x
    assert _keys(prof)["aten::mul"] == 3


def test_indexing_events_follow_pytorch():
    x = tg.arange(6.).reshape(2, 3)
    with P.profile() as prof:
        x[0], x[:1], x[tg.tensor([1, 0])]
    keys = _keys(prof)
    assert keys["aten::select"] == keys["aten::slice"] == keys["aten::index"] == 1


def test_chrome_trace_holds_every_event(tmp_path):
    x = tg.ones(3, requires_grad=True)
    with P.profile(record_shapes=True) as prof:
        with P.record_function("block"):
            (x.exp() * 2).sum().backward()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    names = [e["name"] for e in trace["traceEvents"]]
    assert names == [e.name for e in prof.function_events]
    assert {"block", "aten::exp", "aten::mul", "aten::sum", "autograd::backward"} <= set(names)
    exp = next(e for e in trace["traceEvents"] if e["name"] == "aten::exp")
    assert exp["ph"] == "X" and exp["dur"] >= 0 and exp["args"]["Input Dims"] == [[3]]


def test_tensorboard_handler_writes_a_trace_per_cycle(tmp_path):
    import tapegrad.profiler as TP
    sched = TP.schedule(wait=0, warmup=1, active=1, repeat=2)
    with TP.profile(schedule=sched, on_trace_ready=TP.tensorboard_trace_handler(
            str(tmp_path), worker_name="w")) as prof:
        for _ in range(5):
            (tg.ones(2) * 2).sum()
            prof.step()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and all(f.startswith("w.") and f.endswith(".pt.trace.json")
                                   for f in files)


def test_profiles_do_not_nest():
    with P.profile():
        with pytest.raises(RuntimeError, match="already enabled"):
            with P.profile():
                pass


def test_emit_nvtx_and_itt_are_no_ops():
    with P.emit_nvtx(), P.emit_itt():
        assert (tg.ones(2) * 2).sum().item() == 4.0
