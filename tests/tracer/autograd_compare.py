"""Compare a case's result with PyTorch's recording (data/autograd_expected.json)."""
from __future__ import annotations

import json
import math
import os

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                     "autograd_expected.json")


def expected(case: str):
    with open(_DATA) as f:
        return json.load(f)[case]


def differences(got, want, path: str = "") -> list[str]:
    """Where `got` differs from `want`: numbers to 1e-5 (relative) and NaN equal to NaN;
    an error message may say more than PyTorch's (the user's line), so it must start with
    PyTorch's; all else exactly."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: {got!r} is not a dict like {want!r}"]
        out = [f"{path}/{k}: missing" for k in want if k not in got]
        out += [f"{path}/{k}: unexpected" for k in got if k not in want]
        for k in want:
            if k in got:
                if k == "message" and isinstance(want[k], str) and isinstance(got[k], str):
                    if not got[k].startswith(want[k]):
                        out.append(f"{path}/message: {got[k]!r} does not start with "
                                   f"{want[k]!r}")
                    continue
                out += differences(got[k], want[k], f"{path}/{k}")
        return out
    if isinstance(want, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return [f"{path}: {got!r} != {want!r}"]
        return [d for k, (g, w) in enumerate(zip(got, want))
                for d in differences(g, w, f"{path}[{k}]")]
    if isinstance(want, bool) or want is None or isinstance(want, str):
        return [] if got == want and type(got) is type(want) else [f"{path}: {got!r} != {want!r}"]
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return [f"{path}: {got!r} != {want!r}"]
        if math.isnan(want):
            return [] if math.isnan(got) else [f"{path}: {got!r} != nan"]
        ok = math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6)
        return [] if ok else [f"{path}: {got!r} != {want!r}"]
    return [f"{path}: cannot compare {want!r}"]
