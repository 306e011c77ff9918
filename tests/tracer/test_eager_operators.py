"""tracer/eager_operators.py (+, -, *, /, ** in one frame) records exactly what the
operators it stands in front of record: the same values, tape (instructions, types,
constants, lines), grad_fn names and next_functions, saved arrays with their versions,
gradients and in-place errors; and every case it does not cover reaches them."""
from collections import OrderedDict

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.runtime import execute
from tapegrad.tracer import eager_operators, ops_elementwise
from tapegrad.tracer.tape import grad_node
from tapegrad.tracer.tensor import Tensor

from .tape_records import assert_same_runs, backward_errors, tape_record


def arr(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _general(monkeypatch):
    for attr in eager_operators.OPERATORS:
        monkeypatch.setattr(Tensor, attr, Tensor.__dict__[attr].general)
    monkeypatch.setattr(ops_elementwise, "number_power", ops_elementwise.power)


PROGRAMS = {
    "w3": lambda t: t["s"] ** 2 * tg.sin(t["s"]) + tg.exp(t["s"]) / (1 + t["s"] * t["s"]),
    "numbers on both sides": lambda t: ((2.0 * t["a"] + 1) * 3 - t["a"] / 0.5).sum(),
    "integer and numpy numbers": lambda t: (t["a"] * 2 + np.float32(0.25) - np.int64(3)).sum(),
    "one operand requires grad": lambda t: ((t["a"] * t["c"]) / (t["c"] + 2.0) - t["c"]).sum(),
    "the other": lambda t: ((t["c"] * t["a"]) - t["a"] ** 3).sum(),
    "a tensor times itself": lambda t: (t["a"] * t["a"] ** 0.5 + t["a"] ** -1).sum(),
    "double": lambda t: ((t["d"] + t["d"]) * (t["d"] - 1.5) / t["d"] ** 2.0).sum(),
    "powers the compiled way": lambda t: (t["a"] ** 3 + t["a"] ** -2 + t["a"] ** 1.7).sum(),
}


def _tensors():
    return {"s": tg.tensor(1.5, requires_grad=True),
            "a": tg.tensor(np.abs(arr(4, 3, seed=1)) + 0.5, requires_grad=True),
            "c": tg.tensor(arr(4, 3, seed=2)),
            "d": tg.tensor(np.abs(arr(5, seed=3)).astype(np.float64) + 1, requires_grad=True)}


def _run(program):
    t = _tensors()
    out = PROGRAMS[program](t)
    record = tape_record(out)
    out.backward()
    return record, {k: None if v.grad is None else v.grad.numpy() for k, v in t.items()}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_the_one_frame_operators_record_what_the_operators_record(monkeypatch, program):
    # each side's adjoint interpreted, then native (the eager tier forgets what it compiled
    # in between): the paths compared at the same tier, whose values may differ in bits
    monkeypatch.setattr(execute, "_seen", OrderedDict())
    fast = [_run(program) for _ in range(2)]  # the second: a cached, native adjoint
    _general(monkeypatch)
    monkeypatch.setattr(execute, "_seen", OrderedDict())
    slow = [_run(program) for _ in range(2)]
    assert_same_runs(fast, slow)


def _counting(monkeypatch):
    """Count the calls that reach the operators the one-frame ones stand in front of."""
    calls = []
    for attr in eager_operators.OPERATORS:
        op = Tensor.__dict__[attr]

        def general(self, other, _g=op.general, _attr=attr):
            calls.append(_attr)
            return _g(self, other)
        monkeypatch.setattr(Tensor, attr, eager_operators.one_frame(
            *eager_operators.OPERATORS[attr][:2], general, eager_operators.OPERATORS[attr][2]))
    return calls


def test_the_common_case_never_reaches_the_general_operators(monkeypatch):
    calls = _counting(monkeypatch)
    t = _tensors()
    PROGRAMS["w3"](t)
    PROGRAMS["numbers on both sides"](t)
    PROGRAMS["double"](t)
    assert calls == []


@pytest.mark.parametrize("case", [
    "float16", "integers", "broadcasting", "nothing requires grad", "no_grad",
    "inside another operation", "saved-tensor hooks", "a tensor exponent", "a bool",
    "tracing", "forward-mode dual"])
def test_every_other_case_reaches_the_general_operators(monkeypatch, case):
    calls = _counting(monkeypatch)
    a = tg.tensor(arr(3, 2), requires_grad=True)
    if case == "float16":
        out = a.half() * 2
        assert out.dtype == tg.float16
    elif case == "integers":
        out = tg.tensor([1, 2]) + tg.tensor([3, 4])
        assert out.tolist() == [4, 6]
    elif case == "broadcasting":
        out = a * tg.tensor(arr(2), requires_grad=True)
        assert out.grad_fn.name() == "MulBackward0"
    elif case == "nothing requires grad":
        out = a.detach() + a.detach()
        assert out.grad_fn is None
    elif case == "no_grad":
        with tg.no_grad():
            out = a * a
        assert out.grad_fn is None
    elif case == "inside another operation":
        with grad_node("OuterBackward0", a):
            out = a * 3
        assert out.grad_fn.name() == "OuterBackward0"
    elif case == "saved-tensor hooks":
        packed = []
        with tg.autograd.graph.saved_tensors_hooks(lambda x: packed.append(1) or x, lambda x: x):
            out = a * a
        assert packed
    elif case == "a tensor exponent":
        out = a ** tg.tensor(arr(3, 2), requires_grad=True)
        assert out.grad_fn.name() == "PowBackward1"
    elif case == "a bool":
        out = a * True
        assert out.grad_fn.name() == "MulBackward0"
    elif case == "tracing":
        g = tg.grad(lambda x: (x * x + 1.0).sum())(tg.tensor(arr(3)))
        np.testing.assert_allclose(g.numpy(), 2 * arr(3), rtol=1e-6)
    elif case == "forward-mode dual":
        import tapegrad.autograd.forward_ad as fwAD
        with fwAD.dual_level():
            d = fwAD.make_dual(a, tg.ones_like(a))
            out = d * 2.0
            assert np.all(fwAD.unpack_dual(out).tangent.numpy() == 2.0)
    assert calls, case


def test_a_value_changed_in_place_is_the_general_error(monkeypatch):
    def build():
        a = tg.tensor(arr(3), requires_grad=True)
        c = tg.tensor(arr(3, seed=4))
        out = (a * c).sum()
        c.add_(1.0)
        return out, a, c
    messages = backward_errors(lambda: _general(monkeypatch), build)
    assert messages[0] == messages[1]
    assert "modified by an inplace operation" in messages[0]


def test_operators_refuse_what_they_refused():
    a = tg.tensor(arr(3), requires_grad=True)
    with pytest.raises(TypeError):
        a * [1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="bool"):
        a.detach().bool() - a.detach().bool()
    assert (a.__mul__(object())) is NotImplemented


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exponent", [2, 2.0])
def test_squares_are_pows_bits(monkeypatch, dtype, exponent):
    # `x ** 2` multiplies in the operator's frame: the bits pow's rule gives, specials too
    info = np.finfo(dtype)
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -3.5, info.max, -info.max,
                       info.tiny, info.smallest_subnormal, np.sqrt(info.max) * 1.5, 1e-30],
                      dtype)
    values = np.concatenate([values, arr(64, dtype=dtype) * 1e3])
    fast = tg.tensor(values, requires_grad=True) ** exponent
    _general(monkeypatch)
    slow = tg.tensor(values, requires_grad=True) ** exponent
    assert fast.grad_fn.name() == slow.grad_fn.name() == "PowBackward0"
    np.testing.assert_array_equal(fast.detach().numpy().view(f"u{values.itemsize}"),
                                  slow.detach().numpy().view(f"u{values.itemsize}"))



def test_pow_of_a_tensor_and_a_number_is_the_operator(monkeypatch):
    # tg.pow(x, 2) and x.pow(2) record in `x ** 2`'s one frame what the function recorded
    recorded = []
    on_tape = eager_operators._on_tape
    monkeypatch.setattr(eager_operators, "_on_tape",
                        lambda fn, *rest: recorded.append(fn.name()) or on_tape(fn, *rest))
    x = tg.tensor(np.abs(arr(3)) + 0.5, requires_grad=True)  # (saved NaNs compare unequal)
    powers = lambda: [tg.pow(x, 2), x.pow(2), x.pow(exponent=3.0), tg.pow(x, 0.5)]  # noqa: E731
    fast = [tape_record(y) for y in powers()]
    assert recorded == ["PowBackward0"] * 4
    _general(monkeypatch)
    for (value, *record), (want, *wanted) in zip(fast, map(tape_record, powers()), strict=True):
        np.testing.assert_array_equal(value, want)
        assert record == wanted  # instructions, lines, nodes, saved arrays and versions
    assert len(recorded) == 4
    assert tg.pow(2, x).grad_fn.name() == "PowBackward2"
    assert tg.pow(x, x).grad_fn.name() == "PowBackward1"
    assert tg.pow(tg.tensor([2, 3]), 2).tolist() == [4, 9]
