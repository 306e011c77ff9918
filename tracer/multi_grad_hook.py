"""torch.autograd.graph.register_multi_grad_hook: one hook over several tensors.

mode "all": fn(grads) once per backward call, with the gradient of each tensor that
call computed (None for the others); "any": fn(grad) with the first gradient the call
computed among the tensors.  Both stand on ordinary tensor hooks, keyed by the
backward call (graph_task.py).  In "all" mode PyTorch counts, at the first gradient,
the tensors whose nodes the call will run, and calls fn with the last of them; here
fn is called as soon as every tensor has its gradient, and otherwise when the call
ends (the same list, called later than PyTorch would when some tensor is not reached).
"""
from __future__ import annotations

from . import graph_task

MODES = ("all", "any")
LEAF_IN_GRAD = ("A leaf node was passed to _will_engine_execute_node but we are currently "
                "running autograd.grad(). This is currently not supported.")


class _MultiHandle:
    """Removes the tensor hooks a multi-grad hook stands on (PyTorch's RemovableHandle)."""

    __slots__ = ("handles",)

    def __init__(self, handles: tuple):
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _task() -> graph_task.GraphTask:
    task = graph_task.current()
    if task is None:
        raise AssertionError("expected this hook to be called inside a backward call")
    return task


def register_multi_grad_hook(tensors, fn, *, mode="all") -> _MultiHandle:
    if mode not in MODES:
        raise ValueError(f"Expects mode to be one of {MODES} but got {mode}")
    tensors = tuple(tensors)
    if mode == "any":
        hook = _first_grad(fn)
        return _MultiHandle(tuple(t.register_hook(hook) for t in tensors if t.requires_grad))
    if any(t.grad_fn is None and not t.requires_grad for t in tensors):
        raise AssertionError("Expected gradient function to be set")
    leaves = any(t.grad_fn is None for t in tensors)
    hooks = _all_grads(fn, len(tensors), leaves)
    return _MultiHandle(tuple(t.register_hook(h) for t, h in zip(tensors, hooks)))


def _first_grad(fn):
    """One hook for every tensor: calls fn with the first gradient of each backward call."""
    ran: set = set()  # the backward calls that have called fn

    def hook(grad):
        task = _task()
        if task.id in ran:
            return
        ran.add(task.id)
        task.on_exit.append(lambda: ran.discard(task.id))
        fn(grad)
    return hook


def _all_grads(fn, n: int, leaves: bool) -> list:
    """n hooks, the i-th filling slot i of the call's list; fn gets the list once.
    PyTorch cannot tell, inside autograd.grad, whether a leaf's gradient will come:
    with a leaf among the tensors, such a call raises its error."""
    pending: dict[int, list] = {}  # backward call -> [gradients, how many arrived]

    def flush(task_id: int) -> None:
        entry = pending.pop(task_id, None)
        if entry is not None:
            fn(entry[0])

    def slot(i: int):
        def hook(grad):
            task = _task()
            entry = pending.get(task.id)
            if entry is None:
                if leaves and task.is_grad:
                    raise RuntimeError(LEAF_IN_GRAD)
                entry = pending[task.id] = [[None] * n, 0]
                task.on_exit.append(lambda: flush(task.id))
            if entry[0][i] is None:
                entry[1] += 1
            entry[0][i] = grad
            if entry[1] == n:
                flush(task.id)
        return hook
    return [slot(i) for i in range(n)]
