"""`autograd.grad(..., is_grads_batched=True)`: every row of the grad_outputs is one
vjp, computed together by the batching pass, as PyTorch computes them under vmap.

    (jac,) = autograd.grad(y, x, torch.eye(n), is_grads_batched=True)   # one call, n vjps

The tape below the outputs is differentiated once (`backward_plan.plan_for`, the
adjoint every backward caches), and that adjoint is mapped over its cotangent
parameters by `ir.batching.vmap`: one Function, run once on the stacked cotangents
(native from its second use, as every cached adjoint).  What the batching pass does
not cover (a custom Function, a hook, create_graph, detect_anomaly, saved-tensor
hooks) takes one pass per row, with the same checks.
"""
from __future__ import annotations

import threading

import numpy as np

from ..ir.batching import vmap
from ..ir.core import Function
from ..runtime.execute import execute
from . import anomaly
from . import saved_hooks as _saved_hooks
from .backward_plan import COTANGENT, plan_for, walk_tape
from .backward_walk import adjoint_inputs, walk_nodes
from .engine import _record_leaf_root
from .engine import grad as engine_grad
from .grad_mode import no_grad
from .sizes import Size
from .tensor import Tensor

#: guards the batched adjoints kept in each plan's `templates` (key: is_grads_batched, size)
_lock = threading.Lock()


def batched_cotangents(outputs: tuple, grad_outputs: tuple) -> tuple[list[Tensor], int]:
    """The grad_outputs as PyTorch's `_make_grads` checks them when batched, and the batch
    size vmap reads from them."""
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad_tensors has {len(grad_outputs)} entries but there are "
                           f"{len(outputs)} outputs")
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"expected a Tensor as element {i} of tensors, got "
                            f"{type(out).__name__}")
        if g is None:
            if not out.requires_grad:
                grads.append(None)
                continue
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = Tensor._make(np.ones(out._type.shape, out.dtype.np), out._type)
            if g.ndim and tuple(g.shape[1:]) != tuple(out.shape):  # vmap's row of ones
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{Size(g.shape[1:])!r} and output[{i}] has a shape of "
                                   f"{out.shape!r}.")
        elif not isinstance(g, Tensor):
            raise TypeError("gradients can be either Tensors or None, but got "
                            + type(g).__name__)
        elif g.ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>(m)` in C++ to convert a 0-dim tensor to a "
                             "number")
        elif g.shape[0] == 0:
            raise IndexError("index 0 is out of bounds for dimension 0 with size 0")
        elif tuple(g.shape[1:]) != tuple(out.shape):
            first = Size(g.shape[2:])  # PyTorch prints grad[0].shape[1:] here
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each "
                "grad_output as the batch dimension. The sizes of the remaining dimensions "
                "are expected to match the shape of corresponding output, but a mismatch "
                f"was detected: grad_output[{i}] has a shape of {first!r} and "
                f"output[{i}] has a shape of {out.shape!r}. If you only want some tensors "
                "in `grad_output` to be considered batched, consider using vmap.")
        grads.append(g)
    present = [g for g in grads if g is not None]
    for g in present:
        if g.ndim == 0:
            raise ValueError("vmap(vjp, in_dims=0, ...)(<inputs>): Got in_dim=0 for some "
                             "input, but that input is a Tensor of dimensionality 0 so "
                             "expected in_dim to satisfy 0 <= in_dim < 0.")
    sizes = [g.shape[0] for g in present]
    if len(set(sizes)) > 1:
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return grads, (sizes[0] if sizes else 0)


def batched_grad(outputs, inputs: tuple, grad_outputs, retain_graph, create_graph) -> tuple:
    """One gradient per input, each with the batch of rows first (None where unused)."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    else:
        grad_outputs = tuple(grad_outputs)
    grads, size = batched_cotangents(outputs, grad_outputs)
    keep = [k for k, (o, g) in enumerate(zip(outputs, grads)) if g is not None]
    outputs = [outputs[k] for k in keep]
    with no_grad():
        grads = [grads[k] if grads[k].dtype is outputs[j].dtype
                 else grads[k].to(outputs[j].dtype) for j, k in enumerate(keep)]
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    walk = walk_nodes([t._grad_fn for t in outputs if t._grad_fn is not None])
    if create_graph or not walk.plain or anomaly.enabled or _saved_hooks.used:
        return _row_by_row(outputs, inputs, grads, size, retain_graph, create_graph)
    return _vmapped(outputs, inputs, grads, size, retain_graph, walk)


def _vmapped(outputs, inputs, grads, size: int, retain_graph: bool, walk) -> tuple:
    graph = walk_tape([t._graph_value() for t in outputs], walk.blocks)
    numbers = [graph.number(t._graph_value()) for t in inputs]
    wrt_index = [k for k in numbers if k is not None]
    result: list = [None] * len(inputs)
    if wrt_index:
        plan = plan_for(graph, wrt_index)
        for t in outputs:
            _record_leaf_root(t, walk)
        fn = _batched_adjoint(plan, size)
        arrays = adjoint_inputs(plan, graph, [np.ascontiguousarray(g._data) for g in grads],
                                walk)
        outs = execute(fn, arrays)
        given = {id(a) for a in arrays}
        it = iter([Tensor._make(np.array(a) if id(a) in given else a, t)
                   for a, t in zip(outs, fn.result_types)])
        result = [next(it) if k is not None else None for k in numbers]
    if not retain_graph:
        walk.release()
    return tuple(result)


def _batched_adjoint(plan, size: int) -> Function:
    """The plan's adjoint with its cotangent parameters batched by `size` (cached: the
    eager tier runs a Function natively from its second use, by identity)."""
    key = ("is_grads_batched", size)
    fn = plan.templates.get(key)
    if fn is None:
        in_dims = [0 if kind is COTANGENT else None for kind, _, _ in plan.sources]
        fn = vmap(plan.fn, in_dims, [0] * len(plan.fn.results), size,
                  name=f"batched_{plan.fn.name}")
        with _lock:
            fn = plan.templates.setdefault(key, fn)
    return fn


def _row_by_row(outputs, inputs, grads, size: int, retain_graph: bool,
                create_graph: bool) -> tuple:
    """One backward pass per row (what the batching pass does not cover)."""
    from .ops import stack
    rows = [engine_grad(outputs, inputs, [g[b] for g in grads], retain_graph=True,
                        create_graph=create_graph, allow_unused=True) for b in range(size)]
    if not retain_graph:
        with no_grad():
            engine_grad(outputs, inputs, [g[0] for g in grads], retain_graph=False,
                        allow_unused=True)  # frees the graph, as the batched pass would
    return tuple(None if rows[0][k] is None else stack([r[k] for r in rows])
                 for k in range(len(inputs)))
