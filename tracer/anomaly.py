"""Anomaly detection: a NaN made in backward names the operation and the user's line.

Off by default, and then the engine reads one flag (`enabled`) per backward pass.
On, the adjoint runs instruction by instruction on the interpreter: the first
instruction whose result has a NaN (its operands had none) was written by the
VJP rule of some forward operation, and carries that operation's source location,
which finds its grad_fn among the nodes of the pass.  PyTorch names the operation
("Function 'SqrtBackward0' returned nan values in its 0th output."); tapegrad also
names the line that recorded it.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..runtime.interpreter import eval_instr, interpret
from .backward_plan import _build_plan
from .errors import at


#: the mode, process-wide as in PyTorch
_mode = False
_check_nan = True
#: whether backward checks for NaN: the engine's one flag check per pass
enabled = False


def is_anomaly_enabled() -> bool:
    return _mode


def is_anomaly_check_nan_enabled() -> bool:
    return _check_nan


def set_anomaly_enabled(mode: bool, check_nan: bool = True) -> None:
    global _mode, _check_nan, enabled
    _mode, _check_nan = bool(mode), bool(check_nan)
    enabled = _mode and _check_nan


def _nan_in(a) -> bool:
    a = np.asarray(a)
    return a.dtype.kind == "f" and bool(np.isnan(a).any())


def run_checked(plan, graph, wrt_index, arrays, fns) -> list:
    """The adjoint `plan` on `arrays` (interpreted), raising at the first instruction that
    makes a NaN.

    A cached plan carries the source locations of the tape it was first built from, so
    the check runs an adjoint built afresh from this tape (`graph`): its instructions
    carry this tape's locations, and the node recorded at the failing one's location
    among `fns` (the nodes of the pass) is the operation named."""
    fresh = _build_plan(graph.function(), list(wrt_index))
    fn = fresh.fn if fresh.sources == plan.sources else plan.fn
    env = {}
    for p, a in zip(fn.params, arrays):
        env[id(p)] = np.asarray(a)
    for instr in fn.body:
        args = [env[id(o)] for o in instr.operands]
        out = eval_instr(instr, args)
        if _nan_in(out) and not any(_nan_in(a) for a in args):
            raise _nan_error(instr.loc, fns)
        env[id(instr)] = out
    return interpret(plan.fn, arrays)  # the unchecked run returns owned arrays, as execute


def _nan_error(loc, fns) -> RuntimeError:
    node = _node_at(loc, fns)
    name = node.name() if node is not None else "an operation's backward"
    where = loc if loc is not None else getattr(node, "loc", None)
    return RuntimeError(f"Function '{name}' returned nan values in its 0th output. The "
                        f"operation was recorded{at(where) or ' at an unknown location'}.")


def _node_at(loc, fns):
    """The node recorded at `loc`: the same SourceLoc object first (one per call site),
    then an equal file and line."""
    if loc is None:
        return None
    for f in fns:
        if getattr(f, "loc", None) is loc:
            return f
    for f in fns:
        if getattr(f, "loc", None) == loc:
            return f
    return None


def check_custom_backward(name: str, loc, grads: tuple) -> None:
    """A custom Function's backward returned NaN: PyTorch's message, and the line."""
    for k, g in enumerate(grads):
        data = getattr(g, "_data", None)
        if data is not None and _nan_in(data):
            raise RuntimeError(f"Function '{name}' returned nan values in its {k}th output. "
                               f"The operation was recorded{at(loc) or ' at an unknown location'}.")


class set_detect_anomaly:
    """Anomaly detection on or off: at once as a call, until the end of a `with` block."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev, self.prev_check_nan = _mode, _check_nan
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False


class detect_anomaly:
    """Anomaly detection inside a `with` block (or a decorated function, which PyTorch
    2.13's class does not offer)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self.prev, self.prev_check_nan = _mode, _check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev, self.prev_check_nan = _mode, _check_nan
        set_anomaly_enabled(True, self.check_nan)
        return None

    def __exit__(self, *exc):
        set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False

    def __call__(self, fn):
        import functools

        check_nan = self.check_nan

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mode = detect_anomaly(check_nan)
            with mode:
                return fn(*args, **kwargs)
        return wrapper
