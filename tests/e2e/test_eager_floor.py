"""benchmarks/eager_floor.py: the floor tape is a tape (its W3 gradient is the formula's,
accumulated over repeated uses of a leaf), and the three-way table runs."""
import math

import numpy as np
import pytest

from benchmarks import eager_floor as floor


def test_the_floor_tape_differentiates_w3():
    x, y = floor.w3_forward(floor.floor_sin, floor.floor_exp,
                            lambda: floor.FloorTensor(np.array(1.5, np.float64)))
    y.backward()
    assert math.isclose(float(x.grad), floor.expected(), rel_tol=1e-12)


def test_the_floor_tape_accumulates_a_leaf_used_twice():
    x = floor.FloorTensor(np.array(3.0))
    (x * x + x).backward()  # d/dx (x^2 + x) = 2x + 1
    assert float(x.grad) == 7.0


def test_the_table_times_every_side_it_checked(monkeypatch):
    checked = []
    step_of = floor._sides

    def sides():  # every side's step, seen by the table's gradient check
        out = step_of()
        return {name: (fwd, lambda step=step, name=name: checked.append(name) or step())
                for name, (fwd, step) in out.items()}
    monkeypatch.setattr(floor, "_sides", sides)
    rows = floor.table(rounds=1, number=5, warm=3)
    assert {"floor", "tapegrad"} <= set(rows) and set(checked) == set(rows)
    for fwd, step in rows.values():  # CPU seconds (no order: one round of 5 is noise)
        assert fwd > 0 and step > 0


def test_the_table_refuses_a_wrong_gradient(monkeypatch):
    monkeypatch.setattr(floor, "expected", lambda: 0.0)
    with pytest.raises(AssertionError, match="W3 gradient"):
        floor.table(rounds=1, number=1, warm=0)
