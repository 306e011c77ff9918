"""Compiled integer division and remainder by zero raise PyTorch's RuntimeError
(ZeroDivisionError) naming the user's line, instead of returning a number; nothing
traps (SIGFPE), and INT_MIN // -1 wraps as PyTorch's does."""
import pytest

import tapegrad as tg

OPS = {
    "floordiv": lambda a, b: a // b,
    "remainder": lambda a, b: a % b,
    "fmod": lambda a, b: tg.fmod(a, b),
    "trunc": lambda a, b: tg.div(a, b, rounding_mode="trunc"),
}


@pytest.mark.parametrize("dtype", [tg.int64, tg.int32, tg.uint8])
@pytest.mark.parametrize("op", sorted(OPS))
def test_compiled_zero_divisor_raises(op, dtype):
    f = tg.compile(OPS[op])
    a = tg.tensor([7, 6, 0, 5], dtype=dtype)
    fine = tg.tensor([3, 2, 5, 1], dtype=dtype)
    assert f(a, fine).tolist() == OPS[op](a, fine).tolist()
    with pytest.raises(RuntimeError, match=r"ZeroDivisionError.*test_integer_division_by_zero"):
        f(a, tg.tensor([3, 0, 5, 1], dtype=dtype))
    assert f(a, fine).tolist() == OPS[op](a, fine).tolist()  # the status was cleared


def test_most_negative_by_minus_one_wraps():
    lo = tg.tensor([-2 ** 63, 9])
    m1 = tg.tensor([-1, -1])
    assert tg.compile(OPS["floordiv"])(lo, m1).tolist() == [-2 ** 63, -9]
    assert tg.compile(OPS["remainder"])(lo, m1).tolist() == [0, 0]
