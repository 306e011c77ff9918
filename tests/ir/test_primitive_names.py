"""The naming rule for primitives: a primitive's Python name is its IR name, and a
trailing underscore never names one (in tapegrad it means only "in place")."""
import ast
import builtins
import inspect

import pytest

from tapegrad.ir import primitives as P
from tapegrad.ir.builder import Builder
from tapegrad.ir.primitives import PRIMITIVES, Primitive


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_python_name_is_ir_name(name):
    assert getattr(P, name, None) is PRIMITIVES[name]


def test_no_primitive_is_reachable_by_a_trailing_underscore():
    spelled = {attr for attr, value in vars(P).items() if isinstance(value, Primitive)}
    assert spelled == set(PRIMITIVES)
    assert not any(attr.endswith("_") for attr in spelled)
    with pytest.raises(AttributeError):
        Builder().pow_


def test_primitives_module_calls_no_builtin_its_primitives_shadow():
    """abs, pow, max, min and slice are primitives there; a bare `max(...)` would call one."""
    shadowed = set(PRIMITIVES) & set(dir(builtins))
    assert shadowed >= {"abs", "pow", "max", "min", "slice"}
    tree = ast.parse(inspect.getsource(P))
    loads = [(node.id, node.lineno) for node in ast.walk(tree)
             if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
             and node.id in shadowed]
    assert loads == [], f"use builtins.<name> in ir/primitives.py: {loads}"
