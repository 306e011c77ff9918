"""torch.autograd.graph.saved_tensors_hooks, written once against a `torch` module.

Run with PyTorch (`/work/refvenv/bin/python tests/tracer/saved_hooks_cases.py`) to record
data/saved_hooks_expected.json; test_saved_hooks.py runs them with tapegrad as `torch`.
"""
from __future__ import annotations

import json
import os

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                    "saved_hooks_expected.json")


def _v(t):
    return None if t is None else t.detach().tolist()


def _logging(torch, log):
    def pack(t):
        log.append(["pack", _v(t), t.grad_fn is not None])
        return t

    def unpack(t):
        log.append(["unpack", _v(t)])
        return t
    return torch.autograd.graph.saved_tensors_hooks(pack, unpack)


def case_what_each_operation_saves(torch):
    x = torch.tensor([1., 2.], dtype=torch.float64, requires_grad=True)
    log = []
    with _logging(torch, log):
        a = x + 1          # saves nothing
        b = a.exp()        # its result
        c = b * x          # both operands
        d = c * 3          # nothing: the other side is a number
    d.sum().backward()
    return {"log": log, "grad": _v(x.grad)}


def case_unpack_may_return_another_tensor(torch):
    x = torch.tensor([1., 2.], requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t * 1, lambda t: t * 10):
        y = (x * x).sum()
    y.backward()
    return {"grad": _v(x.grad)}


def case_hooks_apply_only_inside_and_nest(torch):
    x = torch.tensor([3.], dtype=torch.float64, requires_grad=True)
    log = []
    with _logging(torch, log):
        with torch.autograd.graph.saved_tensors_hooks(lambda t: ("inner", t),
                                                      lambda p: p[1]):
            y = x.sin()
        z = x.cos()
    w = x.exp()
    (y + z + w).backward()
    return {"log": log, "grad": _v(x.grad)}


def case_save_on_cpu_keeps_the_values(torch):
    x = torch.tensor([1., 2.], requires_grad=True)
    with torch.autograd.graph.save_on_cpu():
        y = (x ** 3).sum()
    y.backward()
    return {"grad": _v(x.grad)}


def case_disabled_hooks_raise(torch):
    try:
        with torch.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
            with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
    except RuntimeError as e:
        return {"error": str(e)}
    return {"error": None}


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    import torch
    results = {name: fn(torch) for name, fn in CASES.items()}
    with open(DATA, "w") as f:
        json.dump({"torch": torch.__version__, "cases": results}, f, indent=1, sort_keys=True)
        f.write("\n")
