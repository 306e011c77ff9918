"""The README's main job.  Until the compiler lands it prints the IR of a small function."""
from __future__ import annotations

import numpy as np

from .ir import Builder, f32, tensor_type
from .runtime import interpret


def run_demo() -> int:
    b = Builder("f")
    x = b.param(tensor_type(f32, (3,)), "x")
    y = b.mul(b.sin(x), x)
    fn = b.build(b.reduce_sum(y, axes=(0,)))
    print(fn)
    (out,) = interpret(fn, [np.arange(3, dtype=np.float32)])
    print("f([0, 1, 2]) =", out)
    return 0
