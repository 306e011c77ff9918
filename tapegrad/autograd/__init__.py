"""`torch.autograd` for tapegrad: backward, grad, custom Functions, the checks, anomaly
detection, grad modes, and the submodules `forward_ad`, `function`, `functional`, `graph`,
`grad_mode`, `anomaly_mode` and `gradcheck`, importable as PyTorch's are.

A name PyTorch has and tapegrad does not raises AttributeError naming it and
docs/torch-coverage.md.
"""
from __future__ import annotations

import warnings

from ..ir.core import Function as IRFunction, free_params, topo_sort
from ..tracer import engine as _engine
from ..tracer.batched_grad import batched_grad as _batched_grad
from ..tracer.gradient_edge import resolve_edges as _resolve_edges
from ..tracer.tensor import Tensor
from . import anomaly_mode, forward_ad, function, functional, grad_mode, graph  # noqa: F401
from . import profiler  # noqa: F401
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .function import Function, FunctionCtx, InplaceFunction, once_differentiable
from .grad_mode import (enable_grad, inference_mode, no_grad, set_grad_enabled,
                        set_multithreading_enabled)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck



def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of `tensors` into the leaves' (or `inputs`') `.grad`.

    `grad_variables` is PyTorch's deprecated name of `grad_tensors` (with its warning);
    `inputs` may be a tensor, a sequence or a dict of tensors; tensors and inputs may be
    GradientEdges (graph.get_gradient_edge) too."""
    if grad_variables is not None:
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.",
                      FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both "
                               "passed to `backward()`. Please only use `grad_tensors`.")
        grad_tensors = grad_variables
    tensors, _ = _resolve_edges(tensors)
    inputs, _ = _resolve_edges(inputs)
    if type(inputs) is dict:
        inputs = list(inputs.values())
    if inputs is not None and not isinstance(inputs, Tensor):
        inputs = list(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    elif type(tensors) is not list:
        tensors = list(tensors)
    _engine.backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def Variable(tensor, requires_grad=None):
    """Deprecated in PyTorch since 0.4: returns the tensor itself."""
    if requires_grad is not None:
        tensor.requires_grad_(requires_grad)
    return tensor


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False,
         materialize_grads=False):
    """The gradients of `outputs` w.r.t. `inputs`, returned (not accumulated).

    PyTorch's keywords: `only_inputs` is deprecated and ignored (with its warning);
    `materialize_grads` gives zeros for unused inputs (and implies allow_unused);
    `is_grads_batched`: each row of the grad_outputs is one vjp, all computed by one
    adjoint mapped over the rows with the batching pass (tracer/batched_grad.py).
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please "
                      "use torch.autograd.backward.", FutureWarning, stacklevel=2)
    keys = list(inputs.keys()) if type(inputs) is dict else None
    if keys is not None:
        inputs = list(inputs.values())
    outputs, _ = _resolve_edges(outputs)
    inputs, edges = _resolve_edges(inputs)
    inputs_tuple = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs_tuple:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if is_grads_batched:
        result = _batched_grad(outputs, inputs_tuple, grad_outputs, retain_graph,
                               create_graph)  # the batching pass (tracer/batched_grad.py)
    else:
        result = _engine.grad(outputs, inputs_tuple, grad_outputs, retain_graph=retain_graph,
                              create_graph=create_graph, allow_unused=True)
    out = []
    for k, (t, g) in enumerate(zip(inputs_tuple, result)):
        if g is None and not allow_unused:
            raise RuntimeError(f"The differentiated Tensor at index {k} appears to not have "
                               "been used in the graph. Set allow_unused=True if this is the "
                               "desired behavior.")
        if g is None and materialize_grads:
            if edges is True or edges and edges[k]:
                raise RuntimeError("materialize_grads cannot be used when the given input is "
                                   "a GradientEdge")
            g = _zeros_like(t)
        out.append(g)
    return dict(zip(keys, out)) if keys is not None else tuple(out)


def _zeros_like(t: Tensor) -> Tensor:
    from ..tracer.creation import zeros_like
    return zeros_like(t)


def tape(t: Tensor) -> IRFunction:
    """The IR Function of the eager tape that produced `t` (parameters are its leaves
    and the other tensors it read)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"tape() expects a Tensor, got {type(t).__name__}")
    if t._value is None:
        raise RuntimeError("this tensor has no tape: it was not computed from a tensor that "
                           "requires grad (or it was computed under no_grad)")
    return IRFunction("tape", free_params([t._value]), topo_sort([t._value]), [t._value])


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"torch.autograd.{name} is not supported by tapegrad (see "
                         "docs/torch-coverage.md)")


__all__ = ["Variable", "Function", "FunctionCtx", "backward", "grad", "gradcheck",
           "gradgradcheck", "GradcheckError", "detect_anomaly", "set_detect_anomaly",
           "enable_grad", "no_grad", "set_grad_enabled", "inference_mode",
           "set_multithreading_enabled",
           "once_differentiable", "forward_ad", "functional", "graph", "profiler", "tape"]
