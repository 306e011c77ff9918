"""Record PyTorch's printout of every case of every module in recorded_cases.MODULES
(data/<module>.json), and the names of PyTorch's in-place Tensor methods that have an
out-of-place form (data/torch_inplace_methods.json).

Run ONLY from a side venv with PyTorch 2.13 (torch is never a dependency):

    /work/refvenv/bin/python tests/e2e/record_torch_cases.py [MODULE ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recorded_cases import DATA, MODULES, case_module, run_case  # noqa: E402


def main(only: list[str]):
    import torch

    if not torch.__version__.startswith("2.13."):
        raise SystemExit(f"needs PyTorch 2.13, found {torch.__version__}")
    torch.set_printoptions(profile="default")
    for name, file in MODULES.items():
        if only and name not in only:
            continue
        module = case_module(name)
        data = {case: run_case(module, case, torch) for case in sorted(module.CASES)}
        (DATA / file).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"{len(data)} cases -> {DATA / file}")
    names = sorted(n for n in dir(torch.Tensor) if n.endswith("_") and not n.startswith("_")
                   and hasattr(torch.Tensor, n[:-1]))
    (DATA / "torch_inplace_methods.json").write_text(json.dumps(names, indent=1) + "\n")
    print(f"{len(names)} in-place methods -> {DATA / 'torch_inplace_methods.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
