"""`tg.checkpoint(f, policy=None)`: inside a traced gradient, f's values are recomputed
in the adjoint instead of saved (jax.checkpoint / jax.remat).

    block = tg.checkpoint(lambda h, w1, w2: tg.tanh(tg.tanh(h @ w1) @ w2))
    tg.grad(loss)(...)          # loss calls block: the inner tanh is recomputed
    tg.grad(loss).lower(...).adjoint   # shows the recomputation (and its `slice` barrier)

Called inside a trace, a checkpointed function is traced on its own and inlined; the
instructions it added are recorded as a region of the enclosing trace, which
transforms_lower hands to the rematerialisation pass (ir/passes/remat.py) after
differentiating.  `policy(prim, *operand_types, **attrs) -> bool` says which values
are still saved, as JAX's `checkpoint_policies` (see `checkpoint_policies` below).
Outside a trace (eager code) f runs on the tape, and its inner values are dropped and
recomputed by backward, as torch.utils.checkpoint (tracer/checkpoint_eager.py).
"""
from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from types import SimpleNamespace

from ..ir import primitives as P
from ..ir.core import Function, Instr, topo_sort
from ..ir.passes.remat import Region, rematerialize, saved_bytes
from .checkpoint_eager import run_checkpointed
from .inline import apply_function
from .tensor import Tensor
from .trace import function_name, trace
from .tree_util import tree_flatten

_state = threading.local()


@contextmanager
def collecting_regions():
    """The checkpoint regions traced while the block runs (innermost collector wins)."""
    stack = _state.__dict__.setdefault("stack", [])
    regions: list[Region] = []
    stack.append(regions)
    try:
        yield regions
    finally:
        stack.pop()


def rematerialize_regions(adjoint: Function, forward: Function, regions) -> Function:
    """The adjoint with the regions' values recomputed (unchanged without regions)."""
    return rematerialize(adjoint, forward.body, regions) if regions else adjoint


def residual_bytes(lowered) -> int:
    """Bytes of forward values a lowered gradient's adjoint keeps for its backward part."""
    return saved_bytes(lowered.adjoint, lowered.ir.body)


def _policy_predicate(policy):
    if policy is None:
        return lambda instr: False
    return lambda instr: bool(policy(instr.prim, *[o.type for o in instr.operands],
                                     **instr.attrs))


class Checkpointed:
    """f, marked for rematerialisation (see the module docstring)."""

    def __init__(self, f, policy=None, static_argnums=()):
        if not callable(f):
            raise TypeError(f"checkpoint expects a function, got {type(f).__name__}")
        functools.update_wrapper(self, f)
        self.fun, self.policy = f, policy
        self.static_argnums = static_argnums

    def __call__(self, *args):
        leaves = tree_flatten(args)[0]
        stack = getattr(_state, "stack", None)
        traced = any(isinstance(x, Tensor) and x._data is None for x in leaves)
        if not traced:  # eager: the tape drops f's inner values (checkpoint_eager)
            return run_checkpointed(self.fun, args, {}, _policy_predicate(self.policy)
                                    if self.policy is not None else None)
        if not stack:
            return self.fun(*args)
        fn, tree = trace(self.fun, args, static_argnums=self.static_argnums)
        static = {a % len(args) for a in ((self.static_argnums,)
                  if isinstance(self.static_argnums, int) else self.static_argnums)}
        inputs = [x if isinstance(x, Tensor) else Tensor._from_array(_as_array(x))
                  for i, a in enumerate(args) if i not in static
                  for x in tree_flatten(a)[0]]
        outs = apply_function(fn, inputs)
        outer = {id(t._trace_value()) for t in inputs if t._data is None}
        values = [t._trace_value() for t in outs]
        body = [i for i in _below(values, outer)]
        stack[-1].append(Region(body, values, _policy_predicate(self.policy)))
        return tree.unflatten(outs)

    def __repr__(self) -> str:
        return f"<tapegrad.checkpoint of {function_name(self.fun)}>"


def _as_array(x):
    import numpy as np
    return np.asarray(x, np.float32) if not isinstance(x, np.ndarray) else x


def _below(values, stop: set[int]) -> list[Instr]:
    """The instructions between the region's inputs (`stop`) and its outputs."""
    order = []
    seen = set(stop)
    stack = [v for v in values if isinstance(v, Instr)]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        order.append(v)
        stack.extend(op for op in v.operands if isinstance(op, Instr) and id(op) not in seen)
    ids = {id(i) for i in order}
    return [i for i in topo_sort(values) if id(i) in ids]


def checkpoint(f=None, *, policy=None, prevent_cse: bool = True, static_argnums=()):
    """`f` whose intermediate values a traced gradient recomputes instead of saving
    (jax.checkpoint); `policy` picks values that are still saved."""
    if f is None:
        return functools.partial(checkpoint, policy=policy, prevent_cse=prevent_cse,
                                 static_argnums=static_argnums)
    return Checkpointed(f, policy, static_argnums)


remat = checkpoint


def _is_dot(prim, *types, **attrs) -> bool:
    return prim in (P.matmul, P.matmul_add)


def _is_unbatched_dot(prim, *types, **attrs) -> bool:
    return _is_dot(prim) and all(len(t.shape) == 2 for t in types)


#: JAX's names: which values a checkpointed function still saves
checkpoint_policies = SimpleNamespace(
    everything_saveable=lambda prim, *types, **attrs: True,
    nothing_saveable=lambda prim, *types, **attrs: False,
    dots_saveable=_is_dot,
    checkpoint_dots=_is_dot,
    dots_with_no_batch_dims_saveable=_is_unbatched_dot,
)
