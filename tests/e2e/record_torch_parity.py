"""Record PyTorch's side of every case in test_torch_parity.py: data/torch_parity.json.

Run ONLY from a side venv with PyTorch 2.13 (torch is never a dependency):

    /work/refvenv/bin/python tests/e2e/record_torch_parity.py

Each case runs once with the real `torch`; what it hands to `out` is stored in
the test's own normalised form, so CI compares tapegrad's run with it exactly
as it would with a live PyTorch.
"""
from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _pytest_stand_in():
    """The test module only decorates with pytest; the side venv need not have it."""
    try:
        import pytest  # noqa: F401
        return
    except ImportError:
        pass
    stub = types.ModuleType("pytest")

    class _Mark:
        def __getattr__(self, _name):
            return lambda *a, **k: (lambda f: f)

    stub.mark = _Mark()
    stub.param = lambda *values, **_: values[0] if len(values) == 1 else values
    stub.raises = None
    sys.modules["pytest"] = stub


def main():
    import torch

    if not torch.__version__.startswith("2.13."):
        raise SystemExit(f"needs PyTorch 2.13, found {torch.__version__}")
    _pytest_stand_in()
    spec = importlib.util.spec_from_file_location("test_torch_parity",
                                                  HERE / "test_torch_parity.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = {name: [mod.encode(item) for item in mod.run(fn, torch)]
            for name, fn in mod.CASES.items()}
    out = HERE / "data" / "torch_parity.json"
    out.parent.mkdir(exist_ok=True)
    # one case a line, so a re-recording's diff shows which cases changed
    lines = [f"{json.dumps(name)}: {json.dumps(data[name], separators=(',', ':'))}"
             for name in sorted(data)]
    out.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"{len(data)} cases, {sum(map(len, data.values()))} items -> {out}")


if __name__ == "__main__":
    main()
