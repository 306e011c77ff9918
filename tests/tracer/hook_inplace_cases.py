"""Hooks that change a gradient in place, written once against a `torch` module.

PyTorch hands one gradient tensor to every input an add passes it through to
(and hands the caller's grad_tensors on as they are), so a hook that writes into
its gradient changes what the others receive after it, and the caller's tensor.
Run this file with PyTorch (`/work/refvenv/bin/python tests/tracer/hook_inplace_cases.py`)
to record data/hook_inplace_expected.json; test_hook_inplace.py runs the same
cases with tapegrad bound as `torch` and compares.
"""
from __future__ import annotations

import json
import os

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                    "hook_inplace_expected.json")


def _v(t):
    return None if t is None else t.detach().tolist()


def case_leaf_hook_reaches_the_other_operand_and_the_callers_tensor(torch):
    a = torch.tensor([1., 1.], requires_grad=True)
    b = torch.tensor([1., 1.], requires_grad=True)
    a.register_hook(lambda g: g.add_(299))
    g = torch.ones(2)
    (a + b).backward(g)
    return {"a": _v(a.grad), "b": _v(b.grad), "g": _v(g)}


def case_second_operand_hook_comes_after_the_first_accumulated(torch):
    a = torch.tensor([1., 1.], requires_grad=True)
    b = torch.tensor([1., 1.], requires_grad=True)
    b.register_hook(lambda g: g.add_(299))
    g = torch.ones(2)
    (a + b).backward(g)
    return {"a": _v(a.grad), "b": _v(b.grad), "g": _v(g)}


def case_computed_gradient_shared_by_an_add(torch):
    a = torch.tensor([1., 1.], requires_grad=True)
    b = torch.tensor([1., 1.], requires_grad=True)
    a.register_hook(lambda g: g.mul_(100))
    ((a + b) * 2).backward(torch.ones(2))
    return {"a": _v(a.grad), "b": _v(b.grad)}


def case_implicit_root_gradient(torch):
    a = torch.tensor(1., requires_grad=True)
    b = torch.tensor(2., requires_grad=True)
    a.register_hook(lambda g: g.mul_(100))
    (a + b).backward()
    return {"a": _v(a.grad), "b": _v(b.grad)}


def case_product_gradients_are_not_shared(torch):
    a = torch.tensor(1., requires_grad=True)
    b = torch.tensor(2., requires_grad=True)
    a.register_hook(lambda g: g.mul_(100))
    (a * b).backward()
    return {"a": _v(a.grad), "b": _v(b.grad)}


def case_intermediate_hook_in_place_returning_it(torch):
    a = torch.tensor(1., requires_grad=True)
    b = torch.tensor(2., requires_grad=True)
    c = a + b
    c.register_hook(lambda g: g.mul_(100))
    c.backward()
    return {"a": _v(a.grad), "b": _v(b.grad)}


def case_intermediate_used_twice_hook_in_place(torch):
    a = torch.tensor(1., requires_grad=True)
    h = a * 1
    h.register_hook(lambda g: g.mul_(100))
    (h + h).backward()
    return {"a": _v(a.grad)}


def case_intermediate_hook_in_place_returning_none(torch):
    x = torch.tensor([1., 2.], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: None if g.mul_(10) is None else None)
    (y * 2).backward(torch.ones(2))
    return {"x": _v(x.grad)}


def case_existing_grad_then_in_place_hook(torch):
    a = torch.tensor([1., 1.], requires_grad=True)
    b = torch.tensor([1., 1.], requires_grad=True)
    a.grad = torch.ones(2)
    a.register_hook(lambda g: g.mul_(3))
    (a + b).backward(torch.ones(2))
    return {"a": _v(a.grad), "b": _v(b.grad)}


def case_autograd_grad_returns_the_shared_tensor(torch):
    a = torch.tensor([1., 1.], requires_grad=True)
    b = torch.tensor([1., 1.], requires_grad=True)
    g = torch.ones(2)
    ga, gb = torch.autograd.grad(a + b, [a, b], g)
    return {"ga_is_g": ga is g, "gb_is_ga": gb is ga, "values": [_v(ga), _v(gb)]}


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    import torch
    results = {name: fn(torch) for name, fn in CASES.items()}
    with open(DATA, "w") as f:
        json.dump({"torch": torch.__version__, "cases": results}, f, indent=1, sort_keys=True)
        f.write("\n")
