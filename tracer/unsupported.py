"""The errors for PyTorch names and arguments tapegrad does not have.

A missing name raises AttributeError (what `hasattr` and `getattr(x, n, default)`
expect) and an unsupported argument NotImplementedError; both name the PyTorch
API and point at docs/torch-coverage.md, so a program written for PyTorch stops
at the first thing tapegrad lacks instead of computing something else. It lives
in tracer/ so that the operations can raise `unsupported_argument` too.
"""
from __future__ import annotations

COVERAGE = "docs/torch-coverage.md"


def missing_name_error(owner: str, torch_owner: str, name: str) -> AttributeError:
    """`owner` has no `name`: the message names the PyTorch API it stands for."""
    if name.startswith("__") and name.endswith("__"):  # protocol probes (copy, pickle, ...)
        return AttributeError(f"{owner!r} has no attribute {name!r}")
    return AttributeError(f"{owner} has no attribute {name!r} ({torch_owner}.{name} is not "
                          f"supported yet: see {COVERAGE})")


def module_getattr(owner: str, torch_owner: str):
    """A module-level __getattr__ (PEP 562) for a tapegrad module standing in for a torch one."""
    def __getattr__(name: str):
        raise missing_name_error(owner, torch_owner, name)
    return __getattr__


def unsupported_argument(api: str, argument: str, why: str = "") -> NotImplementedError:
    """`api` was called with an argument (or value) tapegrad does not implement."""
    why = f": {why}" if why else ""
    return NotImplementedError(f"{api}: the argument {argument} is not supported{why} "
                               f"(see {COVERAGE})")


def _tensor_getattr(self, name: str):
    """Tensor.__getattr__: reached only when normal lookup failed, so it costs hits nothing."""
    raise missing_name_error("Tensor", "torch.Tensor", name)


def install_tensor_getattr(tensor_class) -> None:
    """Installed by the public package (tapegrad/__init__), which also installs the modules'
    __getattr__: importing this module alone changes nothing."""
    tensor_class.__getattr__ = _tensor_getattr
