"""Whether forward-mode AD is on, read by the eager tape on every operation.

Its own module, importing nothing, so tracer/tape.py can test one attribute per
operation while tracer/forward_ad.py (which binds primitives, so imports the tape)
attaches `propagate` when it is imported: late registration, as tracer/ops.py does.
"""
from __future__ import annotations


class DualState:
    """`active`: some dual tensor exists at the current dual level (the tape then calls
    `propagate(prim, args, attrs, result)` after each primitive it binds, and an
    in-place operation `commit_tangent(x, result)` when x takes result's value;
    printing asks `tangent_of(t)`)."""

    __slots__ = ("active", "propagate", "commit_tangent", "tangent_of")

    def __init__(self):
        self.active = False
        self.propagate = None
        self.commit_tangent = None
        self.tangent_of = None


state = DualState()
