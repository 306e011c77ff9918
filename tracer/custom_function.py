"""`tg.autograd.Function`: operations whose backward is the user's Python code.

The tape sees such an operation's outputs as opaque values (IR parameters):
the IR adjoint stops there.  The engine asks for the gradients of those
values, calls the user's `backward`, and continues from the operation's
inputs in another pass (see engine._gradients).
"""
from __future__ import annotations

import functools
import inspect
import itertools
import warnings
import weakref

import numpy as np

from ..ir.core import Param
from . import anomaly as _anomaly
from . import forward_ad as _forward_ad
from .dual_state import state as _duals
from .errors import SECOND_BACKWARD, user_loc
from .grad_mode import is_grad_enabled, no_grad
from .ops_core import sum_to_shape
from .tape import GradFn, node_class
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
        self._dirty: set[int] = set()

    def save_for_forward(self, *tensors) -> None:
        """What `jvp` reads as `ctx.saved_tensors` (forward-mode AD)."""
        self._saved_forward = tensors

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._saved_versions = tuple(t._version[0] if isinstance(t, Tensor) else None
                                     for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if getattr(self, "_in_jvp", False):
            return tuple(getattr(self, "_saved_forward", ()))
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

    def mark_dirty(self, *tensors) -> None:
        """The inputs forward changed in place: they become the outputs, with this node
        as their history (PyTorch's rebase), instead of new tensors."""
        self._dirty.update(id(t) for t in tensors)

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

    custom = True
    __slots__ = ("ctx", "cls", "out_values", "out_index", "out_types", "input_links", "order",
                 "input_is_tensor")

    def __repr__(self) -> str:  # a Python class, named with its module as PyTorch's are
        return f"<tapegrad.autograd.function.{self._name} object at {id(self):#x}>"

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
        if _anomaly.enabled:
            _anomaly.check_custom_backward(self._name, self.loc, result)
        extra = result[len(self.input_links):]
        if len(result) < len(self.input_links) or any(g is not None for g in extra):
            raise RuntimeError(
                f"function {self._name} returned an incorrect number of gradients "
                f"(expected {len(self.input_links)}, got {len(result)})")
        return [self._checked(k, g) for k, g in enumerate(result[:len(self.input_links)])]

    def _checked(self, k: int, g):
        """PyTorch's checks of one returned gradient: None for a non-tensor input; a shape
        the input's broadcasts to (summed back to it), else an error naming the index."""
        if g is None:
            return None
        if not self.input_is_tensor[k]:
            raise RuntimeError(f"function {self._name} returned a gradient different than None "
                               f"at position {k + 1}, but the corresponding forward input was "
                               "not a Variable")
        link = self.input_links[k]
        if link is None or not isinstance(g, Tensor):
            return g
        want = tuple(link[2].shape)
        if tuple(g.shape) != want:
            try:
                ok = np.broadcast_shapes(want, tuple(g.shape)) == tuple(g.shape)
            except ValueError:
                ok = False
            if not ok:
                raise RuntimeError(f"Function {self._name} returned an invalid gradient at index "
                                   f"{k} - got {list(g.shape)} but expected shape compatible "
                                   f"with {list(want)}")
            g = sum_to_shape(g, want)
        return g

    def release(self) -> None:
        self.ctx._saved = None


class Function:
    """Subclass with `forward(ctx, *args)` and `backward(ctx, *grads)` staticmethods, or
    PyTorch 2's `forward(*args)` plus `setup_context(ctx, inputs, output)`."""

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd "
                      "functions are all static, so you should invoke them on the class "
                      "itself.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please "
            "use new-style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    vjp = backward

    #: the grad_fn name, when not `<class name>Backward`
    _node_name: str | None = None

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        if cls.setup_context is not Function.setup_context:  # forward without ctx
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        dual = _duals.active and any(isinstance(a, Tensor) and _forward_ad.tangent_of(a)
                                     is not None for a in args)
        with no_grad(), _forward_ad.suspended():
            if cls.setup_context is Function.setup_context:
                outputs = cls.forward(ctx, *args, **kwargs)
            else:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outputs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        _check_dirty(cls, ctx, args, outs)
        tangents = _output_tangents(cls, ctx, args) if dual else None
        if not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return _with_tangents(outputs, outs, tangents)
        # next_functions lists the tensor arguments only, as in PyTorch (a number
        # argument has no entry, a tensor that needs no grad has (None, 0))
        name = cls._node_name or f"{cls.__name__}Backward"
        node = node_class(name, CustomGradFn)(
            name, tuple(a for a in args if isinstance(a, Tensor)), user_loc())
        node.ctx, node.cls, node.order = ctx, cls, next(_order)
        node.input_is_tensor = [isinstance(a, Tensor) for a in args]
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
            if id(o) in ctx._dirty:  # the input itself takes the node as its history
                t = o
                t._requires_grad, t._grad_fn, t._value, t._accum = True, node, p, None
            else:
                t = Tensor._make(o._data, o._type, requires_grad=True, grad_fn=node, value=p)
                t._version = o._version
            node.out_values.append(p)
            node.out_index.append(k)
            wrapped.append(t)
        by_id = {id(o): w for o, w in zip(outs, wrapped) if w is not o or id(o) in ctx._dirty}
        ctx._saved = tuple(_SavedOutput(node, by_id[id(t)]) if id(t) in by_id else t
                           for t in ctx._saved)
        return _with_tangents(wrapped[0] if single else tuple(wrapped), wrapped, tangents)


def _output_tangents(cls, ctx: FunctionCtx, args: tuple) -> tuple:
    """`cls.jvp(ctx, *input tangents)` (zeros for a float tensor without one), as a tuple
    with one entry per output; computed with forward-mode AD suspended, as PyTorch does."""
    ins = []
    for a in args:
        t = _forward_ad.tangent_of(a) if isinstance(a, Tensor) else None
        if t is None and isinstance(a, Tensor) and a.dtype.is_float:
            t = Tensor._from_array(np.zeros(a.shape, a.dtype.np))
        ins.append(t)
    ctx._in_jvp = True
    try:
        with _forward_ad.suspended():
            out = cls.jvp(ctx, *ins)
    finally:
        ctx._in_jvp = False
    return out if isinstance(out, tuple) else (out,)


def _with_tangents(result, outs, tangents):
    """`result` after its tensors (`outs`, by output index) take their tangents."""
    if tangents is not None:
        for o, t in zip(outs, tangents):
            if isinstance(o, Tensor) and isinstance(t, Tensor):
                _forward_ad.set_tangent(o, t)
    return result


def _check_dirty(cls, ctx: FunctionCtx, args: tuple, outs: tuple) -> None:
    """mark_dirty's rules: only inputs, returned as outputs, and no leaf requiring grad."""
    if not ctx._dirty:
        return
    by_id = {id(a): a for a in args if isinstance(a, Tensor)}
    returned = {id(o) for o in outs}
    for key in ctx._dirty:
        t = by_id.get(key)
        if t is None:
            raise RuntimeError(f"{cls.__name__}.forward: mark_dirty was given a tensor that is "
                               "not an input of the function")
        if key not in returned:
            raise RuntimeError("Some elements marked as dirty during the forward method were "
                               "not returned as output. The inputs that are modified inplace "
                               "must all be outputs of the Function.")
        if t._requires_grad and t._grad_fn is None and is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad has been used in an "
                               "in-place operation.")


def once_differentiable(backward):
    """A backward that runs without recording: its gradients cannot be differentiated
    again.  Under create_graph, results that would need a graph get a node whose own
    backward raises (PyTorch's DelayedError)."""

    @functools.wraps(backward)
    def wrapper(ctx, *args, **kwargs):
        with no_grad():
            outputs = backward(ctx, *args, **kwargs)
        if not is_grad_enabled() or not any(isinstance(a, Tensor) and a.requires_grad
                                             for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        marked = _DelayedError.apply(*[o.detach().requires_grad_() if isinstance(o, Tensor)
                                       and o.dtype.is_float else o for o in outs])
        return marked if single else tuple(marked) if isinstance(marked, tuple) else (marked,)
    return wrapper


class _DelayedError(Function):
    """The identity, whose gradient raises: marks gradients of a once_differentiable backward."""

    _node_name = "torch::autograd::Error"  # PyTorch's DelayedError node

    @staticmethod
    def forward(ctx, *xs):
        return xs[0] if len(xs) == 1 else xs

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def link_tensor(link) -> Tensor:
    """A stand-in tensor for a custom Function input, as a root of the next backward pass."""
    value, grad_fn, type_ = link
    return Tensor._make(None, type_, requires_grad=True, grad_fn=grad_fn, value=value)
