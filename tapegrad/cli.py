"""The command line: `python -m tapegrad demo`, `dump` and `cache` (in cli_cache.py).

    python -m tapegrad dump model.py:loss --args 'f32[64,1000]' 'f32[1000,100]' \\
        --grad 1 --stage adjoint

`dump` loads FILE.py as a module, wraps FUNC in tg.grad (with --grad) or
tg.compile, lowers it for arguments of the given types and prints the stages
asked for, through the same helper as TAPEGRAD_DUMP.  `--stage dot` prints a
Graphviz drawing of the compiled IR and writes FUNC.svg when `dot` is installed.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np

from . import cli_cache
from .ir import dtypes

DUMP_STAGES = ("ir", "adjoint", "optimized", "llvm", "asm", "dot")
_TYPE = re.compile(r"^\s*(f32|f64|i64|bool)\s*\[\s*([0-9,\s]*)\]\s*$")


def parse_arg_type(text: str) -> np.ndarray:
    """An array of zeros of the type `f32[64,1000]` (`f32[]` is a 0-d tensor)."""
    m = _TYPE.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(
            f"bad argument type {text!r}: write a dtype and a shape, like f32[64,1000], "
            "f64[3], i64[] or bool[2,2]")
    dims = [d.strip() for d in m.group(2).split(",") if d.strip()]
    return np.zeros(tuple(int(d) for d in dims), dtypes.by_name(m.group(1)).np)


def parse_argnums(text: str) -> int | tuple[int, ...]:
    """`1` -> 1 (one gradient); `0,1` -> (0, 1) (a tuple of gradients)."""
    try:
        nums = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        nums = ()
    if not nums:
        raise argparse.ArgumentTypeError(f"bad --grad {text!r}: write 0, or 0,1")
    return nums if "," in text else nums[0]


def parse_stages(text: str) -> list[str]:
    stages = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in stages if s not in DUMP_STAGES]
    if unknown or not stages:
        raise argparse.ArgumentTypeError(
            f"bad --stage {text!r}: choose from {', '.join(DUMP_STAGES)} (comma-separated)")
    return stages


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tapegrad",
        description="tapegrad: a tape-based tracing compiler for automatic differentiation.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train a two-layer network, compiled and eager")
    demo.add_argument("--steps", type=int, default=500, help="training steps (default 500)")
    dump = sub.add_parser("dump", help="print a function's IR, adjoint, LLVM IR or assembly")
    dump.add_argument("target", metavar="FILE.py:FUNC", help="the function to compile")
    dump.add_argument("--args", nargs="+", type=parse_arg_type, default=[], metavar="TYPE",
                      help="argument types, like f32[64,1000] (f32[] for a scalar)")
    dump.add_argument("--grad", type=parse_argnums, metavar="ARGNUMS",
                      help="differentiate with respect to these arguments (0 or 0,1)")
    dump.add_argument("--stage", type=parse_stages, metavar="STAGE",
                      help="ir, adjoint, optimized, llvm, asm or dot, comma-separated "
                           "(default: adjoint with --grad, else ir)")
    cli_cache.add_parser(sub)
    return parser


def load_function(target: str):
    """FUNC from FILE.py (`path/to/file.py:name`)."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise SystemExit(f"dump: expected FILE.py:FUNC, got {target!r}")
    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"dump: no such file: {file}")
    sys.path.insert(0, str(file.resolve().parent))
    spec = importlib.util.spec_from_file_location(f"_tapegrad_dump_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    try:
        return getattr(module, name)
    except AttributeError:
        raise SystemExit(f"dump: {file} has no function {name!r}") from None


def run_dump(ns: argparse.Namespace) -> int:
    from .runtime import dump
    from .tracer.dump_dot import to_dot, write_svg
    from .tracer.transforms import Transformed, compile, grad

    f = load_function(ns.target)
    if ns.grad is not None:
        transformed = grad(f, argnums=ns.grad)
    else:
        transformed = f if isinstance(f, Transformed) else compile(f)
    lowered = transformed.lower(*ns.args)
    stages = ns.stage or (["adjoint"] if ns.grad is not None else ["ir"])
    for stage in stages:
        if stage == "dot":
            source = to_dot(lowered.optimized)
            dump.write_stage(sys.stdout, lowered.optimized.name, "dot", source)
            svg = Path(f"{lowered.optimized.name}.svg")
            if write_svg(source, svg):
                print(f"// wrote {svg}")
            continue
        text = lowered.stage(stage)
        if text is None:
            text = f"(no {stage} stage: {ns.target} is not differentiated; pass --grad)"
        dump.write_stage(sys.stdout, lowered.optimized.name, stage, text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if ns.command == "demo":
        from .demo import run_demo
        return run_demo(steps=ns.steps)
    if ns.command == "dump":
        return run_dump(ns)
    if ns.command == "cache":
        return cli_cache.run(ns)
    parser.print_help()
    return 0
