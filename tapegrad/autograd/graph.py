"""`torch.autograd.graph`: the nodes of the tape, hooks over it, gradient edges, and
allow_mutation_on_saved_tensors (tracer/mutation_on_saved.py).

`Node` is the class of every grad_fn (isinstance works for GradFn and
AccumulateGrad).  Saved-tensor hooks: the tape hands the values an operation saves
to pack_hook as it records them and to unpack_hook at backward.
`register_multi_grad_hook` is tracer/multi_grad_hook.py, `GradientEdge` and
`get_gradient_edge` tracer/gradient_edge.py.
"""
from __future__ import annotations

from ..tracer import saved_hooks as _saved_hooks
from ..tracer.gradient_edge import GradientEdge, get_gradient_edge  # noqa: F401
from ..tracer.mutation_on_saved import allow_mutation_on_saved_tensors  # noqa: F401
from ..tracer.multi_grad_hook import register_multi_grad_hook
from ..tracer.tape import AccumulateGrad, GradFn


class _NodeMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, (GradFn, AccumulateGrad))

    def __subclasscheck__(cls, sub) -> bool:
        return issubclass(sub, (GradFn, AccumulateGrad))


class Node(metaclass=_NodeMeta):
    """The type of `tensor.grad_fn` (abstract, as PyTorch's)."""


def increment_version(tensor) -> None:
    """Mark a tensor (or each of several) as changed in place, as an in-place op does."""
    for t in (tensor,) if hasattr(tensor, "_version") else tensor:
        t._version[0] += 1


class saved_tensors_hooks:
    """pack_hook(tensor) is called on each tensor an operation saves for backward, and
    unpack_hook(packed) when backward needs it (tracer/saved_hooks.py)."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        _saved_hooks.push(self.pack_hook, self.unpack_hook)
        return self

    def __exit__(self, *exc):
        _saved_hooks.pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept as copies (on the CPU, where tapegrad's tensors already are)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__(lambda t: (t.device, t.detach().clone()), lambda packed: packed[1])


class disable_saved_tensors_hooks:
    """Setting saved-tensor hooks inside raises RuntimeError(error_message)."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self.outer = _saved_hooks.state.disabled
        _saved_hooks.state.disabled = self.error_message
        return self

    def __exit__(self, *exc):
        _saved_hooks.state.disabled = self.outer
        return False


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"torch.autograd.graph.{name} is not supported by tapegrad (see "
                         "docs/torch-coverage.md)")


__all__ = ["Node", "increment_version", "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
           "register_multi_grad_hook"]
