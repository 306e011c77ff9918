"""`torch.autograd.graph.GradientEdge` and `get_gradient_edge`: a place in the graph
(a node and the number of its output) where a gradient flows, usable as `inputs` (the
gradient flowing into that edge) or `outputs` of autograd.grad and backward.

tapegrad gives every output of an operation its own node, so a tensor's edge is its
grad_fn (or a leaf's AccumulateGrad) and output number 0.  The engine works on tensors:
an edge is resolved to a stand-in tensor with the node and the IR value of the edge's
tensor (a leaf's edge to the leaf itself), so nothing of the edge's tensor but its
node has to stay alive.
"""
from __future__ import annotations

import weakref
from typing import Any, NamedTuple

from .errors import SECOND_BACKWARD
from .tape import AccumulateGrad, GradFn
from .tensor import Tensor

#: node -> the IR value of the tensor get_gradient_edge was asked for (an operation's
#: node holds intermediate values too: this says which one is the output)
_EDGE_VALUES: "weakref.WeakKeyDictionary[GradFn, Any]" = weakref.WeakKeyDictionary()


class GradientEdge(NamedTuple):
    """A given gradient edge within the autograd graph (`get_gradient_edge(tensor)`)."""

    node: Any
    output_nr: int
    ownership_token: Any = None


def get_gradient_edge(tensor: Tensor) -> GradientEdge:
    """The edge where `tensor`'s gradient is computed: grad(loss, get_gradient_edge(t))
    equals grad(loss, t)."""
    if not tensor._requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that "
                           "does not require gradients")
    if tensor._grad_fn is None:
        return GradientEdge(tensor._accumulator(), 0)
    _EDGE_VALUES[tensor._grad_fn] = tensor._graph_value()
    return GradientEdge(tensor._grad_fn, 0)


def edge_tensor(edge: GradientEdge) -> Tensor:
    """The tensor the engine differentiates for `edge` (see the module docstring)."""
    node = edge.node
    if isinstance(node, AccumulateGrad):
        leaf = node.variable
        if leaf is None:
            raise RuntimeError("the leaf tensor of this GradientEdge no longer exists")
        return leaf
    if not isinstance(node, GradFn) or edge.output_nr != 0:
        raise RuntimeError(f"GradientEdge({node!r}, {edge.output_nr}) is not an edge of the "
                           "graph: its node is not a grad_fn, or it has no such output "
                           "(every tapegrad node has one output, number 0)")
    value = _EDGE_VALUES.get(node)
    if value is None:  # an edge from next_functions: the node's last value is its output
        value = getattr(node, "outputs", None) or node.instrs
        value = value[-1] if value else None
    saved = node.saved.get(id(value)) if value is not None else None
    if saved is None:  # a backward freed the node's values
        raise RuntimeError(SECOND_BACKWARD)
    return Tensor._make(saved.array, value.type, True, node, value)


def resolve_edges(items):
    """`items` (a tensor, an edge, or a sequence of them) with each edge replaced by its
    tensor, and whether any was an edge (per item, as a tuple, for a sequence)."""
    if isinstance(items, GradientEdge):
        return edge_tensor(items), True
    if isinstance(items, (Tensor, dict)) or items is None:
        return items, False
    items = list(items)
    was_edge = tuple(isinstance(t, GradientEdge) for t in items)
    return [edge_tensor(t) if e else t for t, e in zip(items, was_edge)], was_edge
