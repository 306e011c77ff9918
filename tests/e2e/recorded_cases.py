"""What the recorded-behaviour tests share: the case modules, how a case runs, where
PyTorch's printout of each is stored.

A case module holds `CASES` (name -> source text, filled by `case`) and may hold a
`PRELUDE` run before each case.  A case runs with `torch` bound to the library under
test and its result is what it prints.  record_torch_cases.py runs every case with
PyTorch 2.13 from a side venv and writes data/<module>.json; test_torch_recorded.py
runs them with tapegrad and compares the text line by line.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import sys
import textwrap
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

#: case module -> the JSON file of its recorded printouts
MODULES = {
    "torch_behaviour_cases": "torch_behaviour.json",
    "torch_gaps_cases": "torch_gaps.json",
    "torch_autograd_cases": "torch_autograd.json",
    "torch_factory_out_cases": "torch_factory_out.json",
    "torch_gradient_edge_cases": "torch_gradient_edge.json",
    "torch_mutation_saved_cases": "torch_mutation_saved.json",
}


def case_module(name: str):
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return importlib.import_module(name)


#: a prelude for case modules: `attempt(label, f, phrase)` prints f()'s result, or the
#: exception's type and whether PyTorch's key phrase is in its message
ATTEMPT = '''
def attempt(label, f, phrase=""):
    """Print f()'s result, or the exception's type and whether `phrase` is in its message."""
    try:
        result = f()
    except Exception as e:
        result = f"{type(e).__name__} {phrase in str(e)}"
    print(label, result)
'''


def add_case(cases: dict[str, str], name: str, source: str) -> None:
    if name in cases:
        raise ValueError(f"case {name!r} defined twice")
    cases[name] = textwrap.dedent(source).strip() + "\n"


def run_case(module, name: str, torch) -> str:
    """What case `name` of `module` prints with `torch` bound to the given library
    (warnings outside the case's own `catch_warnings` are silenced: stdout is the result)."""
    source = getattr(module, "PRELUDE", "") + module.CASES[name]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(source, f"<case {name}>", "exec"), {"torch": torch, "__name__": name})
    return out.getvalue()
