"""Compiled matmul gives the interpreter's signed zeros: where PyTorch's mm writes each
product as is (k = 1, more than one row and column) native code does too, elsewhere
it adds to +0 as BLAS does (the interpreter's rule follows recorded PyTorch output,
tests/e2e/test_torch_behaviour.py)."""
import numpy as np
import pytest

import tapegrad as tg


@pytest.mark.parametrize("sa,sb", [((3, 1), (1, 3)), ((1, 1), (1, 3)), ((3, 1), (1, 1)),
                                   ((2, 3, 1), (2, 1, 3)), ((4, 2), (2, 3))])
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64, tg.float16])
def test_compiled_matmul_signs_match_eager(sa, sb, dtype):
    a = -tg.ones(*sa, dtype=dtype)
    b = tg.zeros(*sb, dtype=dtype)
    eager = (a @ b).numpy()
    native = tg.compile(lambda a, b: a @ b)(a, b).numpy()
    assert np.array_equal(np.signbit(eager), np.signbit(native))
    assert np.signbit(eager).all() == (sa == (3, 1) and sb == (1, 3))
