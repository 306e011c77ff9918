"""Record PyTorch's softmax / log_softmax values and gradients for test_softmax_kernels.py.

Run ONLY from a side venv with PyTorch 2.13 on an AVX-512 CPU (the capability whose
kernels the interpreter reproduces; torch is never a dependency):

    /work/refvenv/bin/python tests/runtime/record_softmax_torch.py

Each case stores its inputs too (x, and the cotangent g of backward), so the test reads
everything from data/softmax_torch.npz.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data" / "softmax_torch.npz"

#: (shape, dim, dtype, how the inputs are drawn)
CASES = [((3, 4), 1, "float32", "uniform")]
CASES += [((5, n), 1, "float32", "uniform") for n in (1, 2, 3, 5, 15, 16, 17, 31, 33, 100, 257)]
CASES += [((2, 3, 20), 2, "float32", "normal"), ((2, 3, 20), -1, "float32", "wide"),
          ((6,), 0, "float32", "normal"), ((4, 17), 0, "float32", "uniform"),
          ((2, 5, 18), 1, "float32", "normal"), ((3, 40), 1, "float64", "uniform"),
          ((3, 5), 0, "float64", "normal"), ((4, 37), 1, "float16", "uniform"),
          ((3, 8), 0, "float16", "uniform"), ((4, 6), 1, "float32", "special")]


def inputs(shape, dtype, how, rng):
    if how == "uniform":
        x = rng.uniform(-4, 4, shape)
    elif how == "normal":
        x = rng.standard_normal(shape) * 3
    elif how == "wide":
        x = rng.standard_normal(shape) * 40
    else:  # large values, infinities and a NaN, one kind per row
        x = rng.uniform(-4, 4, shape)
        x[0] += 1e4
        x[1, 0] = -np.inf
        x[2, 1] = np.nan
        x[3, :] = -np.inf
    return x.astype(dtype), rng.uniform(-1, 1, shape).astype(dtype)


def main():
    import torch

    if not torch.__version__.startswith("2.13."):
        raise SystemExit(f"needs PyTorch 2.13, found {torch.__version__}")
    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        raise SystemExit("needs PyTorch's AVX512 kernels (the interpreter's model)")
    rng = np.random.default_rng(2026)
    data = {}
    for i, (shape, dim, dtype, how) in enumerate(CASES):
        x, g = inputs(shape, dtype, how, rng)
        for name in ("softmax", "log_softmax"):
            xt = torch.from_numpy(x).requires_grad_()
            y = getattr(torch, name)(xt, dim)
            y.backward(torch.from_numpy(g))
            key = f"{i}-{name}"
            data[f"{key}-x"], data[f"{key}-g"] = x, g
            data[f"{key}-y"], data[f"{key}-grad"] = y.detach().numpy(), xt.grad.numpy()
            data[f"{key}-dim"] = np.array(dim)
            data[f"{key}-node"] = np.array(type(y.grad_fn).__name__)
            # the second-order node: create_graph's gradient is the backward kernel
            xt = torch.from_numpy(x).requires_grad_()
            (gx,) = torch.autograd.grad(getattr(torch, name)(xt, dim), xt,
                                        torch.from_numpy(g), create_graph=True)
            data[f"{key}-node2"] = np.array(type(gx.grad_fn).__name__)
    np.savez_compressed(OUT, **data)
    print(f"{len(CASES)} cases -> {OUT}")


if __name__ == "__main__":
    main()
