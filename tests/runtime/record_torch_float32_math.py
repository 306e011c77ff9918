"""Record PyTorch 2.13's float32 exp, tanh, sigmoid, log, log1p, expm1, sin, cos and atan,
and pow, atan2 and hypot on pairs of them (BINARY: one tensor per function, 1 thread)
on a few hundred inputs as bit patterns:
data/torch_float32_math.json, read by test_eager_math_torch.py.  The inputs take in
saturated tanh/sigmoid, exp near over- and underflow, denormals, +-0, +-inf, NaN and the
corpus's exp(10.0) and exp(12.0).  Run ONLY from a side venv with PyTorch (never a
dependency):

    /work/refvenv/bin/python tests/runtime/record_torch_float32_math.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FUNCTIONS = ("exp", "tanh", "sigmoid", "log", "log1p", "expm1", "sin", "cos", "atan")
#: name -> f(torch, x, y) on x and y = pair(x)
BINARY = {
    "pow": lambda torch, x, y: torch.pow(x.abs(), y),
    "pow_3": lambda torch, x, y: x ** 3, "pow_2.5": lambda torch, x, y: x.abs() ** 2.5,
    "pow_0.5": lambda torch, x, y: x ** 0.5, "pow_-1": lambda torch, x, y: x ** -1,
    "atan2": lambda torch, x, y: torch.atan2(x, y), "hypot": lambda torch, x, y: torch.hypot(x, y),
}


def pair(x: np.ndarray) -> np.ndarray:
    """The second operand: x rotated by one, exponents above 64 in size replaced by 2.5."""
    y = np.roll(x, 1)
    return np.where(np.abs(y) < 64, y, np.float32(2.5)).astype(np.float32)


def inputs() -> np.ndarray:
    rng = np.random.default_rng(17)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40, -3e-39, 1.17e-38,
               3.4e38, -3.4e38, 1.0, -1.0, 0.5, 2.0, 10.0, 12.0, 88.7, 88.72, 89.0, -87.3,
               -103.9, -104.5, -110.0, 9.0, 9.01, 10.5, 15.0, -15.0, 20.0, 1e6, -3e5]
    return np.concatenate([
        special, np.linspace(-12, 12, 97), rng.uniform(-9, 9, 60), rng.uniform(-90, 90, 40),
        np.exp(rng.uniform(-60, 40, 40)), rng.uniform(-1e-3, 1e-3, 20),
        rng.uniform(6, 11, 30), -rng.uniform(6, 11, 20)]).astype(np.float32)


def main():
    import torch

    if not torch.__version__.startswith("2.13."):
        raise SystemExit(f"needs PyTorch 2.13, found {torch.__version__}")
    torch.set_num_threads(1)
    x = inputs()
    data = {"torch": torch.__version__, "x": x.view(np.uint32).tolist()}
    for name in FUNCTIONS:
        y = getattr(torch, name)(torch.from_numpy(x)).numpy()
        data[name] = y.view(np.uint32).tolist()
    for name, fn in BINARY.items():
        y = fn(torch, torch.from_numpy(x), torch.from_numpy(pair(x))).numpy()
        data[name] = y.view(np.uint32).tolist()
    (HERE / "data" / "torch_float32_math.json").write_text(json.dumps(data) + "\n")
    print(f"{len(x)} inputs, {len(FUNCTIONS) + len(BINARY)} functions")


if __name__ == "__main__":
    main()
