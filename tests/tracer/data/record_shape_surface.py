"""Record PyTorch's values for shape_surface_cases.CASES: run with /work/refvenv/bin/python
from the repository root; writes tests/tracer/data/shape_surface_expected.json."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from shape_surface_cases import CASES, N, T, V, X  # noqa: E402


def describe(r):
    if isinstance(r, torch.Tensor):
        return {"kind": "tensor", "dtype": str(r.dtype).replace("torch.", ""),
                "shape": list(r.shape), "value": r.detach().double().flatten().tolist()
                if r.dtype.is_floating_point else r.flatten().tolist(),
                "grad_fn": type(r.grad_fn).__name__ if r.grad_fn is not None else None}
    if isinstance(r, tuple) and hasattr(r, "values"):
        return {"kind": "pair", "name": type(r).__name__, "values": describe(r[0]),
                "indices": describe(r[1])}
    if isinstance(r, (tuple, list, torch.Size)):
        return {"kind": "tuple", "value": list(r)}
    return {"kind": "scalar", "value": r}


def main():
    out = {}
    for case in CASES:
        env = {"torch": torch, "x": torch.tensor(X, requires_grad=True),
               "v": torch.tensor(V, requires_grad=True), "n": torch.tensor(N, dtype=torch.float32),
               "t": torch.tensor(T)}
        out[case] = describe(eval(case, env))
    path = os.path.join(os.path.dirname(__file__), "shape_surface_expected.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=0, allow_nan=True)


main()
