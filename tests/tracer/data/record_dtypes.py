"""Record PyTorch's answers to the dtype cases (dtype_cases.py) into dtypes_torch.json.

Run only with the side venv that has PyTorch (never a dependency of tapegrad):
    /work/refvenv/bin/python tests/tracer/data/record_dtypes.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dtype_cases as C  # noqa: E402


def describe(value, torch) -> dict:
    """What a case gave, in a form both libraries' results can be compared in."""
    if isinstance(value, torch.Tensor):
        v = value.detach()
        return {"kind": "tensor", "dtype": str(v.dtype).replace("torch.", ""),
                "shape": list(v.shape), "bytes": v.contiguous().numpy().tobytes().hex(),
                "repr": repr(value)}
    if isinstance(value, torch.dtype):
        return {"kind": "dtype", "name": str(value).replace("torch.", "")}
    return {"kind": "value", "repr": repr(value)}


def run(expr: str, torch, env: dict) -> dict:
    try:
        value = eval(expr, {"torch": torch, **env})
    except Exception as e:  # the error is the expectation
        return {"kind": "error", "type": type(e).__name__, "msg": str(e).split("\n")[0]}
    return describe(value, torch)


def operands(torch) -> dict:
    return {"A": torch.tensor(C.F16_A, dtype=torch.float16),
            "B": torch.tensor(C.F16_B, dtype=torch.float16)}


def main() -> None:
    import torch
    env = operands(torch)
    out = {"torch": torch.__version__,
           "cases": {e: run(e, torch, env) for e in C.all_cases()}}
    torch.set_default_dtype(torch.float64)
    try:
        out["default_float64"] = {e: run(e, torch, env) for e in C.DEFAULT_DTYPE_CASES}
    finally:
        torch.set_default_dtype(torch.float32)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dtypes_torch.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
