"""Which gradients a node post-hook's None leaves undefined.

PyTorch's engine passes an undefined gradient on: a node whose inputs' gradients are all
undefined gives none below it, so a leaf reached only through a dropped edge keeps
`.grad` None (and `autograd.grad` returns None for it).  tapegrad's backward is linear
(the dropped part is subtracted), so engine.py asks here, after the hooks ran, which
values no path from the outputs reaches without crossing a dropped edge.
"""
from __future__ import annotations

from ..ir.core import Instr, Param
from .backward_walk import NodeWalk
from .tape import AccumulateGrad


def undefined_below(outputs, walk: NodeWalk, dropped: set, allv: list, res: list) -> None:
    """None for each value that no path from the outputs reaches without crossing an edge a
    post-hook dropped: PyTorch's engine passes an undefined gradient on, so such a leaf's
    `.grad` stays None (tapegrad's linear sum would have left zeros)."""
    reached_nodes, reached_leaves = set(), set()
    stack = [t._grad_fn for t in outputs if t._grad_fn is not None]
    reached_leaves.update(id(t._graph_value()) for t in outputs if t._grad_fn is None)
    while stack:
        node = stack.pop()
        if id(node) in reached_nodes:
            continue
        reached_nodes.add(id(node))
        for k, n in enumerate(node.next_fns):
            if n is None or (id(node), k) in dropped:
                continue
            if isinstance(n, AccumulateGrad):
                reached_leaves.add(id(n.param))
            else:
                stack.append(n)
    producer = walk.producer
    for j, w in enumerate(allv):
        node = producer.get(id(w)) if isinstance(w, Instr) else None
        if id(w) not in reached_leaves and (node is None or id(node) not in reached_nodes):
            res[j] = None


def edges_into(walk: NodeWalk, leaf: Param) -> int:
    """How many node inputs of the walk are the leaf's AccumulateGrad."""
    return sum(1 for f in walk.fns for n in f.next_fns
               if isinstance(n, AccumulateGrad) and n.param is leaf)
