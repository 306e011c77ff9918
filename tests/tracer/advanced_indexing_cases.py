"""Programs using advanced indexing, written against `torch`: the test runs them with
tapegrad bound to `torch` and compares with what PyTorch 2.13 gave for the same code
(data/advanced_indexing_torch.json, written by `python advanced_indexing_cases.py`
in a venv that has torch).  Each returns a dict of named results (lists of numbers)."""
from __future__ import annotations

import json
import os


def _x(torch, *shape):
    n = 1
    for d in shape:
        n *= d
    return (torch.arange(n, dtype=torch.float64).reshape(*shape) * 0.37 - 1.1).sin()


def _out(t):
    return {"shape": list(t.shape), "values": t.detach().reshape(-1).tolist()}


def getitem_combinations(torch):
    x = _x(torch, 3, 4, 5).requires_grad_()
    i, j = torch.tensor([0, 2, 2, -1]), torch.tensor([[1], [-3], [2]])
    idx = {"list": ([0, 2],), "tensor": (i,), "int_slice_list": (1, slice(None), [0, 4]),
           "list_int": ([0, 1], 2), "separated": (i, slice(1, 3), torch.tensor([4, 0, 1, -5])),
           "broadcast": (j, i), "none_ellipsis": (None, Ellipsis, [1, -2]),
           "adjacent_middle": (slice(None), j, i), "step": (slice(None, None, 2), [3, 0], 1),
           "mask": (x.detach() > 0.3,), "mask2d": (x.detach()[:, :, 0] > -0.5,),
           "mask_slice": (slice(None), x.detach()[0] > 0)}
    res = {}
    for k, ix in idx.items():
        y = x[ix]
        w = torch.arange(y.numel(), dtype=torch.float64).reshape(y.shape) + 1
        (g,) = torch.autograd.grad((y * y * w).sum(), x)
        res[k] = _out(y)
        res[k + "_grad"] = _out(g)
        res[k + "_grad_fn"] = y.grad_fn.name() if y.grad_fn is not None else None
    return res


def setitem_combinations(torch):
    res = {}
    for k, (ix, v) in {
        "list": (([0, 2],), 7.0), "dup_add": ((torch.tensor([1, 1, 0]),), None),
        "mask": ((None,), 0.0), "int_list": ((1, [0, 3]), [[5.0], [6.0]]),
        "broadcast_value": ((slice(None), [0, 2]), [1.0, 2.0]),
        "separated": (([0, 2], slice(None), [1, -2]), 9.0),
    }.items():
        a = _x(torch, 3, 4, 2).requires_grad_()
        y = a * 1
        if k == "mask":
            y[y < 0] = 0
        elif k == "dup_add":
            y[ix] += torch.tensor([[1.0, 2.0]] * 4).reshape(1, 4, 2) * torch.tensor(
                [1.0, 10.0, 100.0]).reshape(3, 1, 1)
        else:
            val = torch.tensor(v, dtype=torch.float64) if isinstance(v, list) else v
            y[ix] = val
        w = torch.arange(y.numel(), dtype=torch.float64).reshape(y.shape) + 1
        (g,) = torch.autograd.grad((y * y * w).sum(), a)
        res[k] = _out(y)
        res[k + "_grad"] = _out(g)
        res[k + "_grad_fn"] = y.grad_fn.name()
    return res


def functions(torch):
    x = _x(torch, 3, 4).requires_grad_()
    s = _x(torch, 2, 4).requires_grad_()
    i = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    outs = {
        "gather": torch.gather(x, 0, i), "gather1": x.gather(1, torch.tensor([[3, 0], [1, 1], [0, 2]])),
        "index_select": x.index_select(1, torch.tensor([3, 0, 3])),
        "take": x.take(torch.tensor([[0, 11], [-1, 5]])),
        "masked_fill": x.masked_fill(x > 0.2, -1.0),
        "masked_select": x.masked_select(x > 0.1),
        "scatter": x.scatter(0, torch.tensor([[2, 0, 1, 1], [1, 2, 0, 2]]), s),
        "scatter_value": x.scatter(1, torch.tensor([[0], [3], [1]]), 2.5),
        "scatter_add": x.scatter_add(0, i, s),
        "index_add": x.index_add(0, torch.tensor([2, 2]), s, alpha=2.0),
        "index_put": x.index_put((torch.tensor([0, 0, 2]), torch.tensor([1, 1, 3])),
                                 torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), accumulate=True),
    }
    res = {}
    for k, y in outs.items():
        w = torch.arange(y.numel(), dtype=torch.float64).reshape(y.shape) + 1
        gx, gs = torch.autograd.grad((y * y * w).sum(), (x, s), allow_unused=True)
        res[k] = _out(y)
        res[k + "_grad_x"] = _out(gx) if gx is not None else None
        res[k + "_grad_s"] = _out(gs) if gs is not None else None
        res[k + "_grad_fn"] = y.grad_fn.name()
    res["nonzero"] = _out(torch.nonzero(x > 0.2))
    res["where1"] = [_out(t) for t in torch.where(x > 0.2)]
    res["argwhere"] = _out(torch.argwhere(x < 0))
    return res


def errors(torch):
    x = _x(torch, 2, 3, 4)
    res = {}
    for k, f in {"getitem0": lambda: x[[0, 5]], "getitem1": lambda: x[:, [0, 5]],
                 "negative": lambda: x[torch.tensor([0, -4])],
                 "gather": lambda: torch.gather(x, 1, torch.tensor([[[5]]])),
                 "scatter": lambda: torch.zeros(3).scatter_(0, torch.tensor([3]), 1.0),
                 "take": lambda: x.take(torch.tensor([30]))}.items():
        try:
            f()
            res[k] = None
        except (IndexError, RuntimeError) as e:
            res[k] = str(e).split(" (at ")[0]
    return res


CASES = [getitem_combinations, setitem_combinations, functions, errors]
DATA = os.path.join(os.path.dirname(__file__), "data", "advanced_indexing_torch.json")

if __name__ == "__main__":  # run with a torch venv to record
    import torch
    with open(DATA, "w") as f:
        json.dump({c.__name__: c(torch) for c in CASES}, f, indent=0, sort_keys=True)
    print("recorded", DATA, torch.__version__)
