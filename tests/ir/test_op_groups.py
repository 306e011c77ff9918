"""Op groups have one source of truth, ir.primitives: OpGroup and the sets derived from it
(ELEMENTWISE, KERNELS, NO_ARITHMETIC).  The interpreter, fusion and codegen read those,
and no other module keeps a list of its own or compares a group with a string."""
import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import tapegrad
from tapegrad.codegen import lowering
from tapegrad.codegen.lowering import LOWERINGS, LoweringKind
from tapegrad.ir import primitives as P
from tapegrad.ir import vjp_rules
from tapegrad.ir.primitives import OpGroup, Primitive
from tapegrad.runtime import interpreter

#: every set of groups or primitives that ir defines, by identity
IR_SETS = [P.ELEMENTWISE, P.KERNELS, P.NO_ARITHMETIC, P.COSTLY_ELEMENTWISE,
           P.SOFTMAX_KERNELS, P.NATIVE_WHEN_BIG, vjp_rules.NON_DIFFERENTIABLE]
#: the spellings a group test would have as a string
_GROUP_WORDS = {g.value for g in OpGroup} | {k.value for k in LoweringKind}


PACKAGES = ["tapegrad.ir.passes", "tapegrad.codegen", "tapegrad.runtime", "tapegrad.tracer"]


def _modules():
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        yield pkg
        for info in pkgutil.iter_modules(pkg.__path__):
            yield importlib.import_module(f"{package}.{info.name}")


def _group_like(value) -> bool:
    """A set of groups, of primitives, or of group names spelled as strings."""
    return isinstance(value, (set, frozenset)) and bool(value) and (
        all(isinstance(v, OpGroup) for v in value) or all(isinstance(v, Primitive) for v in value)
        or all(isinstance(v, str) and v in _GROUP_WORDS for v in value))


def test_no_module_keeps_its_own_group_set():
    own = [f"{m.__name__}.{name}" for m in _modules() for name, value in vars(m).items()
           if _group_like(value) and not any(value is s for s in IR_SETS)]
    assert own == [], f"sets of groups or primitives not taken from ir.primitives: {own}"


@pytest.mark.parametrize("own", [{OpGroup.REDUCE, OpGroup.MATMUL}, {"reduce", "matmul"},
                                 {P.select, P.broadcast}], ids=["groups", "strings", "prims"])
def test_the_check_finds_a_set_of_its_own(monkeypatch, own):
    monkeypatch.setattr(interpreter, "MY_KERNELS", own, raising=False)
    with pytest.raises(AssertionError, match="MY_KERNELS"):
        test_no_module_keeps_its_own_group_set()


def test_interpreter_reads_no_arithmetic_from_ir():
    assert interpreter.NO_ARITHMETIC is P.NO_ARITHMETIC
    assert not hasattr(interpreter, "_NO_ARITHMETIC")


def test_no_arithmetic_is_every_structural_primitive_and_a_few_more():
    structural = {p for p in P.PRIMITIVES.values() if p.group is OpGroup.STRUCTURAL}
    assert structural <= P.NO_ARITHMETIC
    assert P.NO_ARITHMETIC - structural == {P.select, P.stop_gradient, P.constant, P.iota}
    assert P.full not in P.NO_ARITHMETIC  # it casts a Python number to its dtype


def test_group_sets_are_made_of_groups():
    for groups in (P.ELEMENTWISE, P.KERNELS):
        assert groups and all(isinstance(g, OpGroup) for g in groups)
    assert not P.ELEMENTWISE & P.KERNELS


@pytest.mark.parametrize("name", sorted(P.PRIMITIVES))
def test_lowering_kind_follows_the_group(name):
    prim = P.PRIMITIVES[name]
    assert LOWERINGS[prim].kind is LoweringKind.of(prim.group)


def test_a_lowering_of_the_wrong_kind_is_refused():
    with pytest.raises(TypeError, match="add is a binary primitive: its lowering is a scalar"):
        lowering.kernel(P.add)


def test_a_primitive_needs_a_typed_group():
    with pytest.raises(TypeError, match="OpGroup"):
        Primitive("rogue", "unary")


def _string_group_tests(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        named = any(isinstance(s, ast.Attribute) and s.attr in ("group", "kind") for s in sides)
        words = {c.value for s in sides for c in ast.walk(s)
                 if isinstance(c, ast.Constant) and isinstance(c.value, str)}
        if named and words & _GROUP_WORDS:
            yield node.lineno


def test_no_product_code_compares_a_group_with_a_string():
    root = Path(tapegrad.__file__).resolve().parent.parent
    found = [f"{path.relative_to(root)}:{line}"
             for part in ("ir", "codegen", "runtime", "tracer", "tapegrad")
             for path in sorted((root / part).rglob("*.py"))
             for line in _string_group_tests(ast.parse(path.read_text()))]
    assert found == []


def test_the_string_check_finds_one():
    assert list(_string_group_tests(ast.parse('ok = prim.kind in ("unary", "select")'))) == [1]
    assert list(_string_group_tests(ast.parse('ok = low.kind == "kernel"'))) == [1]
    assert list(_string_group_tests(ast.parse('ok = spec.kind == "grad"'))) == []
