"""The import rules of ARCHITECTURE.md, read from the source with `ast`.

Imports run one way, down the floors tapegrad -> tracer -> runtime -> codegen
-> ir, and no modules import each other in a circle (function-level imports
count: they run as surely as top-level ones, only later). A higher module that
needs to be reached from a lower one registers itself there instead.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Lowest floor last; a module may import from its own floor or any below it.
FLOORS = ["tapegrad", "tracer", "runtime", "codegen", "ir"]
FLOOR_RANK = {name: rank for rank, name in enumerate(FLOORS)}

MAX_LINES = 600


def _module_name(path, root=ROOT):
    """`tracer/ops_core.py` -> `tapegrad.tracer.ops_core` (the installed name)."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] != "tapegrad":
        parts.insert(0, "tapegrad")
    return ".".join(parts)


def _floor(module):
    """The floor of an installed module name: `tapegrad.ir.passes.dce` -> `ir`."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in FLOOR_RANK:
        return parts[1]
    return "tapegrad"


def product_files():
    files = []
    for floor in FLOORS:
        files.extend(sorted((ROOT / floor).rglob("*.py")))
    assert len(files) > 40, "the product tree was not found"
    return files


def _imports(path, modules, root=ROOT):
    """Every product module `path` imports, with the line, at any depth (each once)."""
    me = _module_name(path, root)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found, seen = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            # `from . import ir` names a module; `from .core import Value` names a
            # thing inside one: the target is the longest known module.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if not target.startswith("tapegrad"):
                continue
            # `tapegrad.ir.core.Value` -> `tapegrad.ir.core`
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != me and target not in seen:
                seen.add(target)
                found.append((target, node.lineno))
    return me, found


def import_graph():
    files = product_files()
    modules = {_module_name(p): p for p in files}
    graph = {}
    for path in files:
        me, found = _imports(path, modules)
        graph[me] = found
    return modules, graph


def _strongly_connected(graph):
    """Tarjan's algorithm over {module: [(target, line)]}."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w, _ in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_imports_point_down_the_floors():
    modules, graph = import_graph()
    upward = []
    for me, found in graph.items():
        for target, line in found:
            # a package's __init__ may name its own submodules (tapegrad.ir is on floor ir)
            if FLOOR_RANK[_floor(target)] < FLOOR_RANK[_floor(me)]:
                path = modules[me].relative_to(ROOT)
                upward.append(f"{path}:{line}: {me} ({_floor(me)}) imports {target} ({_floor(target)})")
    assert not upward, "imports pointing up the floors:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    _, graph = import_graph()
    cycles = [comp for comp in _strongly_connected(graph) if len(comp) > 1]
    detail = []
    for comp in cycles:
        members = set(comp)
        edges = sorted(f"  {a} -> {b} (line {line})" for a in comp
                       for b, line in graph[a] if b in members)
        detail.append(", ".join(comp) + "\n" + "\n".join(edges))
    assert not cycles, "modules that import each other in a circle:\n" + "\n\n".join(detail)


def test_product_files_are_short():
    long = []
    for path in product_files():
        rel = path.relative_to(ROOT).as_posix()
        n = len(path.read_text().splitlines())
        if n > MAX_LINES:
            long.append(f"{rel}: {n} lines")
    assert not long, f"product files over {MAX_LINES} lines:\n" + "\n".join(long)


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    """The checker itself: an import inside a function, written relatively, is found."""
    modules, graph = import_graph()
    targets = {t for t, _ in graph["tapegrad.tracer.tensor"]}
    assert "tapegrad.tracer.tape" in targets  # a top-level relative import
    assert _floor("tapegrad.ir.passes.dce") == "ir"
    assert _floor("tapegrad.cli") == "tapegrad"
    assert _floor("tapegrad") == "tapegrad"
    pkg = tmp_path / "tracer"
    pkg.mkdir()
    src = pkg / "probe.py"
    src.write_text("def f():\n    from ..runtime import cache\n    from .. import __version__\n")
    me, found = _imports(src, set(modules) | {"tapegrad.tracer.probe"}, root=tmp_path)
    assert me == "tapegrad.tracer.probe"
    assert ("tapegrad.runtime.cache", 2) in found
    assert ("tapegrad", 3) in found
    sccs = _strongly_connected({"a": [("b", 1)], "b": [("a", 1)], "c": [("a", 1)]})
    assert ["a", "b"] in sccs and ["c"] in sccs


def test_one_version():
    """pyproject.toml reads the version from ir/version.py; tg re-exports it."""
    import importlib.metadata
    import tapegrad
    from tapegrad.ir.version import __version__
    assert tapegrad.__version__ == __version__
    assert importlib.metadata.version("tapegrad") == __version__
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and "tapegrad.ir.version.__version__" in text
