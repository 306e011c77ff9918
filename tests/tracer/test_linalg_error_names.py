"""The fused products' shape errors name the function the user called (they shared
addmm's name before)."""
from __future__ import annotations

import pytest

import tapegrad as tg


@pytest.mark.parametrize("fn, args", [
    (tg.addmm, (tg.ones(3, 5), tg.ones(2, 2), tg.ones(2, 2))),
    (tg.addmv, (tg.ones(3), tg.ones(2, 2), tg.ones(2))),
    (tg.baddbmm, (tg.ones(3, 5), tg.ones(1, 2, 2), tg.ones(1, 2, 2))),
    (tg.addbmm, (tg.ones(3, 5), tg.ones(1, 2, 2), tg.ones(1, 2, 2))),
])
def test_beta_zero_shape_error_names_the_function(fn, args):
    with pytest.raises(RuntimeError, match=f"^{fn.__name__}: "):
        fn(*args, beta=0)
