"""Run a program written for PyTorch with `import torch` bound to tapegrad.

    python tests/e2e/corpus/_run_as_torch.py PROGRAM.py

Every `torch` or `torch.X.Y` import resolves to `tapegrad` or `tapegrad.X.Y`,
so the program runs unchanged; a submodule tapegrad does not have raises
ModuleNotFoundError naming both names. This stays a test tool, not a public
helper: binding `torch` process-wide would hide a real PyTorch from every other
library in the process, and users who own their code write
`import tapegrad as torch`.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import runpy
import sys


class TorchAsTapegrad(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `torch[.X]` as the already-imported `tapegrad[.X]` module object."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "tapegrad" + fullname[len("torch"):]
        try:
            importlib.import_module(real)
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: tapegrad has no {real!r} "
                "(see docs/torch-coverage.md)", name=fullname) from e
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return sys.modules["tapegrad" + spec.name[len("torch"):]]

    def exec_module(self, module):
        pass  # already executed as tapegrad[.X]


def install() -> None:
    sys.modules.pop("torch", None)
    sys.meta_path.insert(0, TorchAsTapegrad())


if __name__ == "__main__":
    install()
    program = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(program, run_name="__main__")
