"""The backward call running on this thread (PyTorch's graph task): an id that hooks
can key their state by, and callbacks run once the call has delivered its gradients.

The engine opens one task per general backward and per `autograd.grad` (the path any
hook takes; `loss.backward()`'s short way runs no hook and opens none).  Nested calls
(a backward inside a hook) stack.  A call that raises drops its callbacks, as PyTorch
never calls a multi-grad hook of a failed backward.
"""
from __future__ import annotations

import itertools
import threading


class GraphTask:
    __slots__ = ("id", "on_exit", "is_grad")

    def __init__(self, task_id: int, is_grad: bool):
        self.id = task_id
        self.on_exit: list = []
        self.is_grad = is_grad  # autograd.grad, not backward


class _Tasks(threading.local):
    stack: tuple = ()


_tasks = _Tasks()
_ids = itertools.count(1)


def current() -> GraphTask | None:
    """The innermost backward call running on this thread, or None outside backward."""
    stack = _tasks.stack
    return stack[-1] if stack else None


def run(body, *args, is_grad: bool = False):
    """body(*args) as one graph task; its callbacks run after body returns."""
    task = GraphTask(next(_ids), is_grad)
    outer = _tasks.stack
    _tasks.stack = outer + (task,)
    try:
        result = body(*args)
    finally:
        _tasks.stack = outer
    for callback in task.on_exit:
        callback()
    return result
