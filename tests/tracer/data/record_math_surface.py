"""Record PyTorch's results for the maths-surface cases (math_surface_torch_cases.py).

    /work/refvenv/bin/python tests/tracer/data/record_math_surface.py

Writes math_surface_expected.npz beside this file: for each VALUES id its value
(and `grad_fn` name), for each GRADS id the gradient of (out * w).sum() with
respect to each named input.  torch is never a dependency of tapegrad or its tests.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from math_surface_torch_cases import GRADS, VALUES, inputs  # noqa: E402


def _as_numpy(v):
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    return np.asarray(v)


def main():
    torch.set_default_dtype(torch.float32)
    arrays, meta = {}, {}
    for case_id, expr in VALUES:
        env = {"torch": torch, **{k: torch.tensor(a) for k, a in inputs().items()}}
        out = eval(expr, env)
        outs = tuple(out) if isinstance(out, tuple) else (out,)
        meta[case_id] = {"n": len(outs), "kind": type(out).__name__}
        for k, o in enumerate(outs):
            arrays[f"value/{case_id}/{k}"] = _as_numpy(o)
    for case_id, expr, names in GRADS:
        env = {"torch": torch, **{k: torch.tensor(a, requires_grad=k in names)
                                  for k, a in inputs().items()}}
        out = eval(expr, env)
        w = torch.tensor(np.random.default_rng(7).uniform(0.5, 1.5, tuple(out.shape)))
        grads = torch.autograd.grad((out * w).sum(), [env[n] for n in names])
        meta[f"grad/{case_id}"] = {"grad_fn": type(out.grad_fn).__name__}
        for n, g in zip(names, grads):
            arrays[f"grad/{case_id}/{n}"] = g.numpy()
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(os.path.join(HERE, "math_surface_expected.npz"), **arrays)
    print(f"recorded {len(VALUES)} values and {len(GRADS)} gradients with torch {torch.__version__}")


if __name__ == "__main__":
    main()
