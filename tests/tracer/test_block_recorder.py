"""The generated recorder builds the instructions the plain loop builds."""
import pytest

from tapegrad.ir import dtypes
from tapegrad.ir import primitives as P
from tapegrad.ir.core import Instr, Param, SourceLoc, TensorType
from tapegrad.tracer import block_recorder as B

T = TensorType(dtypes.f32, (3,))
HERE = SourceLoc("a.py", 3)


def _template(n_inputs):
    fixed = SourceLoc("b.py", 7)
    return [
        (P.full, (), {"value": 2.0}, T, fixed),
        (P.mul, (0, n_inputs), {}, T, B.CALL_LOC),  # an input and an instruction
        (P.add, (n_inputs + 1, n_inputs + 1), {}, T, B.CALL_LOC),  # one operand twice
        (P.neg, (n_inputs - 1,), {}, T, fixed),
    ]


def _fields(instrs, values):
    number = {id(v): ("in", k) for k, v in enumerate(values)}
    number.update({id(i): ("instr", k) for k, i in enumerate(instrs)})
    return [(type(i), i.prim, tuple(number[id(o)] for o in i.operands), i.attrs, i.type, i.loc)
            for i in instrs]


@pytest.mark.parametrize("n_inputs", [1, 3])
def test_the_generated_recorder_builds_the_loops_instructions(n_inputs):
    tmpl = _template(n_inputs)
    values = [Param(T) for _ in range(n_inputs)]
    got = B._generate(tmpl, n_inputs)(values, HERE)
    want = B._record_loop(tmpl, values, HERE)
    assert _fields(got, values) == _fields(want, values)
    assert all(type(i) is Instr for i in got)
    assert got[1].loc == HERE and got[0].loc == SourceLoc("b.py", 7)
    assert got[2].operands[0] is got[1] and got[1].operands[0] is values[0]
    again = B._generate(tmpl, n_inputs)(values, None)  # fresh instructions every call
    assert not {id(i) for i in again} & {id(i) for i in got} and again[1].loc is None


def test_the_recorder_loops_once_then_runs_the_generated_function(monkeypatch):
    tmpl = _template(2)
    values = [Param(T), Param(T)]
    made = []
    real = B._generate
    monkeypatch.setattr(B, "_generate", lambda *a: made.append(1) or real(*a))
    record = B.recorder(tmpl, 2)
    first = record(values, HERE)
    assert not made
    second, third = record(values, HERE), record(values, None)
    assert made == [1]  # generated once, on the second call
    for got in (first, second):
        assert _fields(got, values) == _fields(B._record_loop(tmpl, values, HERE), values)
    assert third[1].loc is None and third[0].loc == SourceLoc("b.py", 7)


def test_a_long_template_is_recorded_by_the_loop(monkeypatch):
    monkeypatch.setattr(B, "MAX_GENERATED", 2)
    tmpl = _template(2)
    values = [Param(T), Param(T)]
    got = B.recorder(tmpl, 2)(values, HERE)
    assert _fields(got, values) == _fields(B._record_loop(tmpl, values, HERE), values)
