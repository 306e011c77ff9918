"""The fused step: one compiled call updates every parameter of a group (PyTorch's foreach).

Per parameter, an update is a dozen small tensor operations, each a pass over memory
and each with Python's overhead; for a group of parameters the fused step instead
traces the group's pure update (optim/functional.py) once with `tg.compile` and
runs it as one native call over all parameters, gradients and state slots.

What the compiled code is specialised on: the update, the hyperparameters other than
`lr` (their values steer the update's Python: `if momentum != 0`, `beta ** t`), which
state slots exist, and (through tg.compile's own cache) the shapes and dtypes.  `lr`
and the step count are arguments, so a learning-rate scheduler never recompiles.
They are passed in float64 and the bias corrections formed in float64, as PyTorch
forms them in Python floats, so the numbers stay PyTorch's.

The first step of a parameter runs on the per-parameter path (it creates the state
with PyTorch's layout); later steps run fused, one call per batch of parameters
sharing a state layout, step count and float dtype (usually the whole group;
`foreach=False` groups step per parameter).  Measured (benchmarks/nn_optim.py),
the fused call is faster than the per-parameter path at every size tried, from one
Linear(3, 1) (~5x) to ten Linear(256, 256) layers, so no size threshold sends
groups back.  Results come back in fresh arrays: the new parameter values are
copied into the parameters' own buffers (their identity and storage stay, as
PyTorch's), the state slots take the new arrays.
"""
from __future__ import annotations

import numpy as np

from ..tracer.tensor import Tensor
from ..tracer.transforms import compile as _compile

#: (update, frozen static hyperparameters) -> the compiled group update
_KERNELS: dict = {}
_MAX_KERNELS = 64
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def kernel(update, static: tuple):
    """The compiled `update` for one set of static hyperparameters (shared by every
    optimizer that uses the same ones; tg.compile specialises it per signature)."""
    key = (update, static)
    fn = _KERNELS.get(key)
    if fn is None:
        if len(_KERNELS) >= _MAX_KERNELS:
            _KERNELS.pop(next(iter(_KERNELS)))
        hyper = dict(static)

        def group_update(params, grads, state, lr):
            return update(params, grads, state, lr=lr, **hyper)

        group_update.__name__ = group_update.__qualname__ = f"fused_{update.__name__}"
        fn = _KERNELS[key] = _compile(group_update)
    return fn


def _frozen(value):
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, Tensor):
        return float(value)
    return value


def fused_step(optimizer, params: list, hyper: dict) -> list:
    """Update `params` (those of one group with a gradient) whose state exists, one native
    call per batch of them sharing a step count, state layout and float dtype (usually
    the whole group); returns the parameters left to the per-parameter path."""
    slots = type(optimizer)._slots
    state = optimizer.state
    left: list = []
    batches: dict[tuple, list] = {}
    for p in params:
        st = state.get(p)
        data, gdata = p._data, p.grad._data
        if not st or data is None or gdata is None or data.dtype not in _FLOATS \
                or gdata.dtype != data.dtype or gdata.shape != data.shape:
            left.append(p)  # a first step (it creates the state), or one that the
            continue        # per-parameter path checks and names
        s = st.get("step")
        if optimizer._keeps_step and s is None:
            left.append(p)
            continue
        # SGD keeps no count: any step past the first uses its buffers
        step = float(s) if optimizer._keeps_step else 1.0
        key = (tuple(isinstance(st.get(k), Tensor) for k in slots), step, data.dtype)
        batches.setdefault(key, []).append((p, st))
    for (live, step, _), members in batches.items():
        _run(optimizer, members, live, step, hyper)
    return left


def _run(optimizer, members: list, live: tuple, step: float, hyper: dict) -> None:
    """One native call updating `members` ((parameter, state) pairs) and their state."""
    cls = type(optimizer)
    params = [p for p, _ in members]
    records = [st for _, st in members]
    fstate = {"step": np.asarray(step, np.float32)}
    for slot, alive in zip(cls._slots, live):
        fstate[slot] = [st[slot]._data for st in records] if alive else None
    static = tuple(sorted((k, _frozen(v)) for k, v in hyper.items() if k != "lr"))
    fn = kernel(cls._update, static)
    new_params, out = fn([p._data for p in params], [p.grad._data for p in params], fstate,
                         np.asarray(float(hyper["lr"]), np.float64))
    for p, new in zip(params, new_params):
        np.copyto(p._data, new._data)
        p._version[0] += 1
    for slot in cls._slots:
        values = out.get(slot)
        if values is not None:
            for st, v in zip(records, values):
                st[slot] = v
    if optimizer._keeps_step:
        for st in records:  # counted in place, as PyTorch's `state_steps[i] += 1`
            count = st["step"]._data
            if count.flags.writeable and count.shape == ():
                count[()] = step + 1.0
                st["step"]._version[0] += 1
            else:
                st["step"] = Tensor._from_array(np.asarray(step + 1.0, np.float32))
