"""`tg.autograd.Function`: operations whose backward is the user's Python code.

The tape sees such an operation's outputs as opaque values (IR parameters):
the IR adjoint stops there.  The engine asks for the gradients of those
values, calls the user's `backward`, and continues from the operation's
inputs in another pass (see engine._gradients).
"""
from __future__ import annotations

import itertools
import weakref

import numpy as np

from ..ir.core import Param
from .errors import SECOND_BACKWARD, user_loc
from .grad_mode import is_grad_enabled, no_grad
from .tape import GradFn
from .tensor import Tensor

_order = itertools.count()


class FunctionCtx:
    """The `ctx` of forward/backward: saved tensors and flags."""

    def __init__(self):
        self._saved: tuple | None = ()
        self._saved_versions: tuple = ()
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._non_differentiable: set[int] = set()

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._saved_versions = tuple(t._version[0] if isinstance(t, Tensor) else None
                                     for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(SECOND_BACKWARD)
        saved = tuple(t.unpack() if isinstance(t, _SavedOutput) else t for t in self._saved)
        for t, v in zip(saved, self._saved_versions):
            if isinstance(t, Tensor) and t._version[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t._type}] is at version {t._version[0]}; "
                    f"expected version {v} instead.")
        return saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class _SavedOutput:
    """An output of the Function saved for backward.  Unpacked, it is the output as the
    graph sees it (grad_fn = the Function's node), so a backward written with tg ops
    differentiates through it under create_graph, as PyTorch's saved outputs do.  The
    node is held weakly: node -> ctx -> node would be a reference cycle."""

    __slots__ = ("node", "data", "type", "value", "version")

    def __init__(self, node: "CustomGradFn", wrapped: Tensor):
        self.node = weakref.ref(node)
        self.data, self.type, self.value = wrapped._data, wrapped._type, wrapped._value
        self.version = wrapped._version

    def unpack(self) -> Tensor:
        node = self.node()
        t = Tensor._make(self.data, self.type, requires_grad=node is not None,
                         grad_fn=node, value=self.value if node is not None else None)
        t._version = self.version
        return t


class CustomGradFn(GradFn):
    """The grad_fn of a custom Function's outputs."""

    __slots__ = ("ctx", "cls", "out_values", "out_index", "out_types", "input_links", "order")

    def call_backward(self, grads: list, create_graph: bool) -> list:
        """The user's backward on the output gradients; one gradient (or None) per input.

        `grads` follows `out_values`; backward gets one argument per output of forward,
        as in PyTorch: zeros (or None without materialize_grads) for outputs that carry
        no gradient (non-differentiable, integer, not tensors).
        """
        full = [None] * len(self.out_types)
        for k, g in zip(self.out_index, grads):
            full[k] = g
        if self.ctx.materialize_grads:
            full = [Tensor._from_array(np.zeros(t.shape, t.dtype.np))
                    if g is None and t is not None else g for g, t in zip(full, self.out_types)]
        grads = full
        if create_graph:
            result = self.cls.backward(self.ctx, *grads)
        else:
            with no_grad():
                result = self.cls.backward(self.ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        extra = result[len(self.input_links):]
        if len(result) < len(self.input_links) or any(g is not None for g in extra):
            raise RuntimeError(
                f"function {self._name} returned an incorrect number of gradients "
                f"(expected {len(self.input_links)}, got {len(result)})")
        return list(result[:len(self.input_links)])

    def release(self) -> None:
        self.ctx._saved = None


class _FunctionMeta(type):
    pass


class Function(metaclass=_FunctionMeta):
    """Subclass with `forward(ctx, *args)` and `backward(ctx, *grads)` staticmethods."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement the backward function for custom "
                                  "autograd.Function.")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return outputs
        # next_functions lists the tensor arguments only, as in PyTorch (a number
        # argument has no entry, a tensor that needs no grad has (None, 0))
        node = CustomGradFn(f"{cls.__name__}Backward",
                            tuple(a for a in args if isinstance(a, Tensor)), user_loc())
        node.ctx, node.cls, node.order = ctx, cls, next(_order)
        node.input_links = [
            (a._graph_value(), a._grad_fn, a._type) if isinstance(a, Tensor) and a.requires_grad
            else None for a in args]
        node.out_values, node.out_index = [], []
        node.out_types = [o._type if isinstance(o, Tensor) else None for o in outs]
        wrapped = []
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor) or not o.dtype.is_float or \
                    id(o) in ctx._non_differentiable:
                wrapped.append(o)
                continue
            p = Param(o._type)
            t = Tensor._make(o._data, o._type, requires_grad=True, grad_fn=node, value=p)
            t._version = o._version
            node.out_values.append(p)
            node.out_index.append(k)
            wrapped.append(t)
        by_id = {id(o): w for o, w in zip(outs, wrapped) if w is not o}
        ctx._saved = tuple(_SavedOutput(node, by_id[id(t)]) if id(t) in by_id else t
                           for t in ctx._saved)
        return wrapped[0] if single else tuple(wrapped)


def link_tensor(link) -> Tensor:
    """A stand-in tensor for a custom Function input, as a root of the next backward pass."""
    value, grad_fn, type_ = link
    return Tensor._make(None, type_, requires_grad=True, grad_fn=grad_fn, value=value)
