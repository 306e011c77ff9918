"""grad_fn nodes as PyTorch has them: a class per kind, pre-hooks and post-hooks.

Run with PyTorch (`/work/refvenv/bin/python tests/tracer/node_hook_cases.py`) to
record data/node_hook_expected.json; test_node_hooks.py runs the cases with
tapegrad bound as `torch` and compares.
"""
from __future__ import annotations

import json
import os

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "node_hook_expected.json")


def _v(t):
    return None if t is None else t.detach().tolist()


def case_node_class_names(torch):
    x = torch.tensor([1., 2.], requires_grad=True)
    nodes = [(x * 2).grad_fn, (x + 1).grad_fn, x.sum().grad_fn, x.exp().grad_fn,
             x.clone().grad_fn, x.view(2, 1).grad_fn]
    return {"names": [type(n).__name__ for n in nodes],
            "same_class": type((x * 3).grad_fn) is type(nodes[0]),
            "is_node": all(isinstance(n, torch.autograd.graph.Node) for n in nodes),
            "repr_start": repr(nodes[0]).split(" object")[0]}


def case_prehook_changes_what_the_node_receives(torch):
    a = torch.tensor([1., 2.], requires_grad=True)
    b = torch.tensor([3., 4.], requires_grad=True)
    c = a * b
    c.grad_fn.register_prehook(lambda gO: (gO[0] + 1,))
    (c * 2).sum().backward()
    return {"a": _v(a.grad), "b": _v(b.grad)}


def case_post_hook_replaces_one_input_gradient(torch):
    a = torch.tensor([1., 2.], requires_grad=True)
    b = torch.tensor([3., 4.], requires_grad=True)
    c = a * b
    c.grad_fn.register_hook(lambda gI, gO: (gI[0] * 10, gI[1]))
    (c * 2).sum().backward()
    return {"a": _v(a.grad), "b": _v(b.grad)}


def case_post_hook_on_an_inner_node_flows_below(torch):
    x = torch.tensor([1., 2.], requires_grad=True)
    y = x * 3
    z = y.sin()
    seen = []
    z.grad_fn.register_hook(lambda gI, gO: seen.append(len(gI)) or (gI[0] * 0 + 1,))
    w = z * 2
    h = y.grad_fn.register_hook(lambda gI, gO: (gI[0] + 5, gI[1]))
    w.sum().backward(retain_graph=True)
    first = _v(x.grad)
    h.remove()
    x.grad = None
    w.sum().backward()
    bad = torch.tensor([1.], requires_grad=True) * torch.tensor([2.], requires_grad=True)
    bad.grad_fn.register_hook(lambda gI, gO: (gI[0],))
    try:
        bad.backward()
        error = None
    except RuntimeError as e:
        error = str(e)
    return {"first": first, "after_remove": _v(x.grad), "seen": seen, "error": error}


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    import torch
    results = {name: fn(torch) for name, fn in CASES.items()}
    with open(DATA, "w") as f:
        json.dump({"torch": torch.__version__, "cases": results}, f, indent=1, sort_keys=True)
        f.write("\n")
