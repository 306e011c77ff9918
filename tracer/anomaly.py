"""Anomaly detection: a NaN made in backward names the operation and the user's line.

Off by default, and then the engine reads one flag (`enabled`) per backward pass.
On, the adjoint runs instruction by instruction on the interpreter, following
where each NaN came from: the first instruction that made a NaN some gradient
carries was written by the VJP rule of a forward operation and carries that
operation's source location, which finds its grad_fn among the nodes of the pass.  PyTorch names the operation
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
    """The adjoint `plan` on `arrays` (interpreted), raising when a gradient has a NaN: at
    the first instruction that made one of the NaNs the results carry.

    A cached plan carries the source locations of the tape it was first built from, so
    the check runs an adjoint built afresh from this tape (`graph`): its instructions
    carry this tape's locations, and the node recorded at the failing one's location
    among `fns` (the nodes of the pass) is the operation named."""
    fresh = _build_plan(graph.function(), list(wrt_index), graph.virtual)
    fn = fresh.fn if fresh.sources == plan.sources else plan.fn
    env, origin, order = {}, {}, {}
    for p, a in zip(fn.params, arrays):
        env[id(p)] = np.asarray(a)
    for k, instr in enumerate(fn.body):
        args = [env[id(o)] for o in instr.operands]
        out = env[id(instr)] = eval_instr(instr, args)
        order[id(instr)] = k
        if _nan_in(out):  # made here, or carried from the operands' first source
            sources = [origin[id(o)] for o, a in zip(instr.operands, args)
                       if id(o) in origin and _nan_in(a)]
            origin[id(instr)] = min(sources, key=lambda i: order[id(i)]) if sources else instr
    reaching = [origin[id(r)] for r in fn.results if id(r) in origin and _nan_in(env[id(r)])]
    if reaching:  # a NaN a rule masks again (pow's log(0) * 0) is not an anomaly
        first = min(reaching, key=lambda i: order[id(i)])
        node = _node_at(first.loc, fns)
        raise _nan_error(node, first.loc, _nan_input(node, graph, plan, arrays))
    return interpret(plan.fn, arrays)  # the unchecked run returns owned arrays, as execute


def _nan_error(node, loc, index) -> RuntimeError:
    name = node.name() if node is not None else "an operation's backward"
    where = loc if loc is not None else getattr(node, "loc", None)
    output = f"its {index}th output" if index is not None else "one of its outputs"
    return RuntimeError(f"Function '{name}' returned nan values in {output}. The operation "
                        f"was recorded{at(where) or ' at an unknown location'}.")


def _nan_input(node, graph, plan, arrays) -> int | None:
    """Which input of `node` gets a NaN gradient (PyTorch's "kth output" of its backward).

    0 for a node of one input.  Otherwise each input's value on the tape (the operand of
    the node's instructions that the input's own node produced) is differentiated for
    in a further adjoint, bound from the arrays of this one; its first NaN gradient
    names the input.  None when that cannot be told."""
    if node is None or not getattr(node, "next_fns", None):
        return None
    if len(node.next_fns) == 1:
        return 0
    own = {id(i) for i in node.instrs}
    operands = [op for i in node.instrs for op in i.operands if id(op) not in own]
    values = []
    for nxt in node.next_fns:
        made = ({id(i) for i in nxt.instrs} if hasattr(nxt, "instrs") else
                {id(nxt.param)} if hasattr(nxt, "param") else set())
        values.append(next((op for op in operands if id(op) in made), None))
    numbers = [None if v is None else graph.number(v) for v in values]
    wanted = sorted({k for k in numbers if k is not None})
    if not wanted:
        return None
    try:
        probe = _build_plan(graph.function(), wanted, graph.virtual)
        have = {(kind, i): a for (kind, i, _), a in zip(plan.sources, arrays)}
        grads = interpret(probe.fn, [have[(kind, i)] for kind, i, _ in probe.sources])
    except Exception:  # noqa: BLE001 - a source this pass did not bind: cannot tell
        return None
    nan_at = {k: _nan_in(g) for k, g in zip(wanted, grads)}
    return next((pos for pos, k in enumerate(numbers) if k is not None and nan_at[k]), None)


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
