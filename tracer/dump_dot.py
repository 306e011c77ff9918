"""A Graphviz drawing of an IR Function: parameters, instructions and results as a dataflow graph.

    print(to_dot(fn))                 # the dot source
    write_svg(to_dot(fn), "f.svg")    # when the `dot` program is installed

Node labels use the printer's value names, so the drawing matches the text form.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..ir.core import Function
from ..ir.printer import format_attr, function_name, value_names


MAX_ATTR_CHARS = 40  # a constant's array would swamp its box


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(fn: Function) -> str:
    names = value_names(fn)
    node = {key: f"v{i}" for i, key in enumerate(names)}
    lines = [f"digraph {_quote(function_name(fn.name))} {{",
             "  rankdir=TB;",
             '  node [fontname="monospace", fontsize=10];']
    for p in fn.params:
        label = f"{names[id(p)]}\n{p.type}"
        lines.append(f"  {node[id(p)]} [shape=ellipse, style=filled, fillcolor=lightblue, "
                     f"label={_quote(label)}];")
    for instr in fn.body:
        attrs = " ".join(f"{k}={format_attr(v)}" for k, v in sorted(instr.attrs.items()))
        if len(attrs) > MAX_ATTR_CHARS:
            attrs = attrs[:MAX_ATTR_CHARS - 3] + "..."
        label = "\n".join(filter(None, [f"{names[id(instr)]} = {instr.prim.name}", attrs,
                                        str(instr.type)]))
        lines.append(f"  {node[id(instr)]} [shape=box, label={_quote(label)}];")
        for op in instr.operands:
            lines.append(f"  {node[id(op)]} -> {node[id(instr)]};")
    for k, r in enumerate(fn.results):
        lines.append(f"  result{k} [shape=doublecircle, style=filled, fillcolor=lightgrey, "
                     f"label={_quote(f'result {k}')}];")
        lines.append(f"  {node[id(r)]} -> result{k};")
    lines.append("}")
    return "\n".join(lines)


def write_svg(dot_source: str, path: str | Path) -> bool:
    """Render with Graphviz's `dot`; False (nothing written) when it is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        return False
    subprocess.run([exe, "-Tsvg", "-o", str(path)], input=dot_source.encode(), check=True,
                   capture_output=True)
    return True
