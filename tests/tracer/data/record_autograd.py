"""Record PyTorch's results for tests/tracer/autograd_cases.py (run with a side venv
that has torch; tapegrad never depends on it):

    /work/refvenv/bin/python tests/tracer/data/record_autograd.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import autograd_cases  # noqa: E402


def main() -> None:
    results = {"torch_version": torch.__version__}
    for name, case in autograd_cases.CASES.items():
        torch.set_grad_enabled(True)
        results[name] = case(torch)
    with open(os.path.join(HERE, "autograd_expected.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
