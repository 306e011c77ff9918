"""Record PyTorch 2.13's erf / erfc / erfinv on float32 and float64 inputs (tails,
+-inf, NaN, +-0, +-1 for erfinv) as bit patterns: data/torch_erf_values.json, read by
test_erf_values.py.  Run ONLY from a side venv with PyTorch (never a dependency):

    /work/refvenv/bin/python tests/runtime/record_torch_erf.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BITS = {"float32": np.uint32, "float64": np.uint64}


def inputs(name: str, dtype) -> np.ndarray:
    rng = np.random.default_rng(15)
    if name == "erfinv":
        eps = np.finfo(dtype).eps
        near = np.concatenate([1 - eps * np.arange(1, 40), -(1 - eps * np.arange(1, 40) / 2)])
        special = [1, -1, 0, -0.0, np.nan, 1.5, -1.5, np.inf, 1e-30, -1e-20, 0.5, -0.5]
        return np.concatenate([np.linspace(-1, 1, 1201), rng.uniform(-1, 1, 800), near,
                               special]).astype(dtype)
    special = [0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-38, 1e-45, 0.5, -0.5, 3.9, -3.9,
               9.0, 10.0, 10.05, 10.06, 11.0, -11.0, 26.5, 27.0, 30.0]
    return np.concatenate([np.linspace(-6, 6, 1201), rng.standard_normal(800) * 2.5,
                           rng.uniform(-11, 11, 400), special]).astype(dtype)


def main():
    import torch

    if not torch.__version__.startswith("2.13."):
        raise SystemExit(f"needs PyTorch 2.13, found {torch.__version__}")
    data = {}
    for name in ("erf", "erfc", "erfinv"):
        for dtype in ("float32", "float64"):
            x = inputs(name, np.dtype(dtype))
            y = getattr(torch, name)(torch.from_numpy(x)).numpy()
            data[f"{name} {dtype}"] = {"x": x.view(BITS[dtype]).tolist(),
                                       "y": y.view(BITS[dtype]).tolist()}
    out = HERE / "data" / "torch_erf_values.json"
    out.write_text(json.dumps(data) + "\n")
    print(f"{len(data)} tables -> {out}")


if __name__ == "__main__":
    main()
