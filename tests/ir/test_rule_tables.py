"""Every primitive has a rule in every rule table: shape, VJP, interpreter, LLVM.

A new table joins by adding a row to TABLES.
"""
from __future__ import annotations

import importlib

import pytest

from tapegrad.ir.primitives import PRIMITIVES, SHAPE_RULES, OpGroup, Primitive

#: (what it is, module, attribute): each table maps Primitive objects to a rule.
TABLES = [
    ("shape rules", "tapegrad.ir.primitives", "SHAPE_RULES"),
    ("VJP rules", "tapegrad.ir.vjp_rules", "VJP_RULES"),
    ("JVP rules", "tapegrad.ir.jvp_rules", "JVP_RULES"),
    ("batching rules", "tapegrad.ir.batching_rules", "BATCHING_RULES"),
    ("interpreter", "tapegrad.runtime.interpreter", "IMPLS"),
    ("LLVM lowerings", "tapegrad.codegen.lowering", "LOWERINGS"),
]


def load(module: str, attr: str) -> dict:
    table = getattr(importlib.import_module(module), attr)
    if attr == "VJP_RULES":  # a declared non-differentiable primitive needs no rule
        from tapegrad.ir.vjp_rules import NON_DIFFERENTIABLE
        table = {**table, **{p: "non-differentiable" for p in NON_DIFFERENTIABLE}}
    return table


@pytest.mark.parametrize("what,module,attr", TABLES, ids=[t[0] for t in TABLES])
def test_every_primitive_has_a_rule(what, module, attr):
    table = load(module, attr)
    missing = [name for name, prim in PRIMITIVES.items() if table.get(prim) is None]
    assert not missing, f"primitives without {what} ({module}.{attr}): {missing}"


@pytest.mark.parametrize("what,module,attr", TABLES, ids=[t[0] for t in TABLES])
def test_tables_hold_only_registered_primitives(what, module, attr):
    """Keys are the registry's objects, not names and not look-alike Primitive objects."""
    registered = set(map(id, PRIMITIVES.values()))
    stray = [k for k in load(module, attr) if id(k) not in registered]
    assert not stray, f"{module}.{attr} has keys that are not registered primitives: {stray}"


def test_registry_is_consistent():
    for name, prim in PRIMITIVES.items():
        assert isinstance(prim, Primitive) and prim.name == name
        assert isinstance(prim.group, OpGroup)
        assert prim.nullary_typed == (prim.group is OpGroup.SOURCE)
    assert set(SHAPE_RULES) == set(PRIMITIVES.values())
