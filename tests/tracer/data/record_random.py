"""Record PyTorch's outputs for random_cases.py into random_streams.npz.

RUN ONLY IN A SIDE VENV THAT HAS PYTORCH (never a dependency of tapegrad or its
tests), from the repository root:

    /work/refvenv/bin/python tests/tracer/data/record_random.py

It writes, per case and result index, the values (`<case>/<i>`) and for tensors
their printed form (`<case>/<i>/repr`), plus the printed output of seed 002's
`torch.manual_seed(7)` cell run alone (`seed002/stdout`) and the torch version.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from random_cases import CASES  # noqa: E402

SEED002_CELL = '''
torch.manual_seed(7)
x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w)+b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
loss.backward()
print(w.grad)
print(b.grad)
print(z.requires_grad)

with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)

z = torch.matmul(x, w) + b
print(z.requires_grad)
z_det = z.detach()
print(z_det.requires_grad)
'''


def record() -> dict:
    out = {"torch_version": np.array(torch.__version__)}
    for name, fn in CASES.items():
        for i, value in enumerate(fn(torch, F)):
            key = f"{name}/{i}"
            if isinstance(value, torch.Tensor):
                out[key] = value.detach().numpy().copy()
                out[key + "/repr"] = np.array(repr(value))
            else:
                out[key] = np.asarray(value)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(SEED002_CELL, {"torch": torch})
    out["seed002/stdout"] = np.array(buf.getvalue())
    out["seed002/cell"] = np.array(SEED002_CELL)
    return out


if __name__ == "__main__":
    data = record()
    path = os.path.join(HERE, "random_streams.npz")
    np.savez_compressed(path, **data)
    print(f"wrote {len(data)} entries to {path} (torch {torch.__version__})")
