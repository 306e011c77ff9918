"""The per-primitive case tables of other test files, loaded by path for reuse.

`ir` names the product's package on sys.path (the editable install), so the test
folder `tests/ir` cannot be imported as `ir`; these loaders read the files under
their own module names (their tests are still collected only from their files).
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

_TESTS = pathlib.Path(__file__).resolve().parent.parent


def load(relative: str):
    """The module of `tests/<relative>` (cached in sys.modules under a private name)."""
    name = "_tables_" + relative.replace("/", "_").removesuffix(".py")
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, _TESTS / relative)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def autodiff_cases():
    """tests/ir/test_autodiff.py: forward programs around each differentiable primitive."""
    return load("ir/test_autodiff.py")


def primitive_cases():
    """tests/ir/test_primitive_rules.py: every primitive's operands, attributes, reference."""
    return load("ir/test_primitive_rules.py")
