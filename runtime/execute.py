"""Running an IR function on arrays: the one door the tracer uses to reach execution."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ir.core import Function
from .interpreter import interpret


def execute(fn: Function, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run `fn` (the reference interpreter until the native tier is wired in)."""
    return interpret(fn, arrays)
