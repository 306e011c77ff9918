"""Record PyTorch's printout of every case in torch_gaps_cases.py (data/torch_gaps.json)
and the names of PyTorch's in-place Tensor methods that have an out-of-place form
(data/torch_inplace_methods.json).

Run ONLY from a side venv with PyTorch 2.13 (torch is never a dependency):

    /work/refvenv/bin/python tests/e2e/record_torch_gaps.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch_gaps_cases as cases  # noqa: E402


def main():
    import torch

    if not torch.__version__.startswith("2.13."):
        raise SystemExit(f"needs PyTorch 2.13, found {torch.__version__}")
    torch.set_printoptions(profile="default")
    data = {name: cases.run_case(name, torch) for name in sorted(cases.CASES)}
    out = HERE / "data" / "torch_gaps.json"
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{len(data)} cases -> {out}")
    names = sorted(n for n in dir(torch.Tensor) if n.endswith("_") and not n.startswith("_")
                   and hasattr(torch.Tensor, n[:-1]))
    out = HERE / "data" / "torch_inplace_methods.json"
    out.write_text(json.dumps(names, indent=1) + "\n")
    print(f"{len(names)} in-place methods -> {out}")


if __name__ == "__main__":
    main()
