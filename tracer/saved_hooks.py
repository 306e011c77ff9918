"""Saved-tensor hooks (`torch.autograd.graph.saved_tensors_hooks`) on the eager tape.

While hooks are set, each value an instruction's VJP rule will read (its saved
tensors: `ir.autodiff.residuals` of that instruction alone, so `a * b` saves b
and a, `exp` its result, `add` nothing) is handed to `pack` as the tensor it is,
and its record keeps what pack returned instead of the array; backward calls
`unpack` on it when it first reads the value.  Innermost hooks apply, per thread.
"""
from __future__ import annotations

import threading

from ..ir.autodiff import residuals
from ..ir.core import Function


class _HookState(threading.local):
    stack: tuple = ()  # (pack, unpack) pairs, innermost last
    disabled: str | None = None  # disable_saved_tensors_hooks' message


state = _HookState()

#: whether any value was ever packed: backward looks for packed records only then
used = False


def push(pack, unpack) -> None:
    if state.disabled is not None:
        raise RuntimeError(state.disabled)
    state.stack = state.stack + ((pack, unpack),)


def pop() -> None:
    state.stack = state.stack[:-1]


def pack_saved(fn, instr, args: tuple, out, saved_cls) -> None:
    """Replace the records of the values instr's VJP reads by packed ones (see module)."""
    global used
    pack, unpack = state.stack[-1]
    # allow_mutation_on_saved_tensors replaces records by its own, which need no unpacking
    replace = getattr(pack, "replace_record", None)
    if replace is None:
        used = True
    tensors = {id(a._value if a._value is not None else a._graph_value()): a for a in args}
    tensors[id(instr)] = out
    wrt = [op for op, a in zip(instr.operands, args) if a._requires_grad]
    reads = residuals(Function("saved", list(instr.operands), [instr], [instr]), wrt)
    group: list = []
    for v in reads.get(id(instr), ()):
        t = tensors.get(id(v))
        rec = fn.saved.get(id(v))
        if t is None or rec is None or isinstance(rec, saved_cls):
            continue
        fn.saved[id(v)] = replace(rec) if replace is not None else \
            saved_cls(rec, pack(t), unpack, group)


def unpack_all(fns, saved_cls) -> None:
    """Each node's packed values unpacked node by node, in the walk's order (backward's), as
    PyTorch's nodes unpack theirs when they run, whichever record of a value backward reads."""
    for f in fns:
        for rec in list(f.saved.values()):
            if isinstance(rec, saved_cls) and rec.unpacked is None:
                rec.array  # noqa: B018 - unpacks its group
