"""`nn.Parameter`: a Tensor subclass that a Module registers when it is assigned as an attribute.

It shares the storage of the tensor it wraps (as PyTorch's does) and requires grad
by default; its repr is PyTorch's ("Parameter containing:" over the tensor's).
"""
from __future__ import annotations

from ..tracer.creation import empty
from ..tracer.tensor import Tensor


def _as_subclass(cls, src: Tensor) -> Tensor:
    """A `cls` instance holding src's buffer and type (Tensor._make would call cls.__new__)."""
    plain = Tensor._make(src._check_concrete(f"nn.{cls.__name__}"), src._type)
    t = object.__new__(cls)
    for slot in Tensor.__slots__:
        if slot != "__weakref__" and hasattr(plain, slot):
            setattr(t, slot, getattr(plain, slot))
    t._version = src._version
    return t


class Parameter(Tensor):
    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"nn.Parameter expects a Tensor, got {type(data).__name__}")
        t = _as_subclass(cls, data)
        t.requires_grad_(requires_grad)
        return t

    def __init__(self, data=None, requires_grad: bool = True):
        pass  # everything happened in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.detach(), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(self.detach().clone(), self.requires_grad)
        memo[id(self)] = p
        return p


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module."""
    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        src = data if data is not None else empty(0)
        t = _as_subclass(cls, src)
        t._persistent = persistent
        return t

    def __init__(self, data=None, *, persistent: bool = True):
        pass


def zero_grads(params, set_to_none: bool = True) -> None:
    """What Module.zero_grad and Optimizer.zero_grad do to each parameter's `.grad`:
    drop it (PyTorch's default since 2.0), or zero it in place, detached first when
    create_graph left it with a history."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            g = p.grad.detach() if p.grad.grad_fn is not None else p.grad
            p.grad = g.zero_()
