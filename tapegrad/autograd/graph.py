"""`torch.autograd.graph`: the nodes of the tape, and what tapegrad does not offer yet.

`Node` is the class of every grad_fn (isinstance works for GradFn and
AccumulateGrad).  Saved-tensor hooks need the tape to hand saved arrays to Python
code at record and backward time; tapegrad's saved values are numpy arrays kept by
the tape itself, so those APIs raise NotImplementedError naming themselves.
"""
from __future__ import annotations

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


def _unsupported(api: str):
    raise NotImplementedError(f"torch.autograd.graph.{api} is not supported by tapegrad: saved "
                              "tensors are kept by the tape as arrays (see "
                              "docs/torch-coverage.md)")


class saved_tensors_hooks:
    """Not supported: raises NotImplementedError when constructed."""

    def __init__(self, pack_hook, unpack_hook):
        _unsupported("saved_tensors_hooks")


class save_on_cpu(saved_tensors_hooks):
    def __init__(self, pin_memory=False, device_type="cuda"):
        _unsupported("save_on_cpu")


def disable_saved_tensors_hooks(error_message):
    _unsupported("disable_saved_tensors_hooks")


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    _unsupported("register_multi_grad_hook")


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"torch.autograd.graph.{name} is not supported by tapegrad (see "
                         "docs/torch-coverage.md)")


__all__ = ["Node", "increment_version", "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
           "register_multi_grad_hook"]
