"""Instructions per recorded eager operation and per backward, counted by callgrind.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 TAPEGRAD_NUM_THREADS=1 \
        <tree>/.venv/bin/python benchmarks/callgrind_eager.py [--n 200] [--only W3F,W3] [--split]

The tree measured is the one whose venv runs the script (tapegrad is imported from
that venv's editable install, never from beside this file), so the numbers of another
commit come from the same script run with that commit's venv, e.g. issue 17's
"before":

    git worktree add --detach /work/wt/before17 a59a5a9
    cd /work/wt/before17 && python3 -m venv .venv && .venv/bin/pip install -e ".[test]"
    /work/wt/before17/.venv/bin/python /path/to/this/benchmarks/callgrind_eager.py

Method: per workload, one process runs the warm-up (`--warmup` calls, so the eager
tier has compiled its adjoints) and then N calls, another the same warm-up and none;
instructions ("Collected" of `valgrind --tool=callgrind`) of the first minus the
second, divided by N.  Both run with a compile cache that a native run of the same
process filled first.  Derived rows: W3's and W6's backward are the step minus the
forward.

valgrind implements no AVX-512, and the LLVM backend compiles for the host CPU: the
first generated instruction stops valgrind with "Illegal instruction".  The child
processes therefore tell llvmlite that the host is a Haswell (AVX2, FMA) before
tapegrad is imported (`--cpu`; "host" keeps the real CPU, for machines without
AVX-512): the product's code generation is unchanged, the code counted is the one an
AVX2 host would run.  numpy and OpenBLAS pick their AVX2 kernels under valgrind too
(its CPUID reports no AVX-512).  The compile cache is private per tree and per CPU
setting (/tmp/tgcache-callgrind-<tree>-<cpu>), the cache key includes the features.

`--split` says where a workload's instructions go: the Python functions' inclusive
counts and each shared object's own counts, per call (N run minus zero run).  It needs
Python >= 3.12 (a venv of that Python with the tree installed): the children run with
`-X perf`, which gives every Python code object its own trampoline and lists it in
/tmp/perf-<pid>.map, so callgrind sees each Python function as a function of its own
(and, with a frame-evaluation hook installed, CPython 3.12 does not inline
Python-to-Python calls, so every call passes one).  The split's totals are that
Python's, not the table's: take its shares, not its sums (under it, libpython3.12's
thread-state reads go through ld.so's `__tls_get_addr`, ~6% of every workload).

    /root/.pyenv/versions/3.12.1/bin/python3.12 -m venv /tmp/venv312
    /tmp/venv312/bin/pip install -e <tree> numpy==<the tree venv's numpy>
    TAPEGRAD_CACHE_DIR=/tmp/tgcache-callgrind-py312 /tmp/venv312/bin/python \
        benchmarks/callgrind_eager.py --split --only W3F,W3

Every child compiles this file afresh (it runs as a script): do not edit it while it
runs, or the N and zero runs count different compilations (the parent says so).
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import time

VALGRIND = os.environ.get("VALGRIND", "/usr/bin/valgrind")
HASWELL_FEATURES = ("+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,+fma,+fsgsbase,"
                    "+fxsr,+lzcnt,+mmx,+movbe,+pclmul,+popcnt,+rdrnd,+sahf,+sse,+sse2,"
                    "+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,+xsaveopt")
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                               "MKL_NUM_THREADS", "TAPEGRAD_NUM_THREADS")}


# ------------------------------------------------------------------ the workloads
# Each takes the library module and returns the callable counted.  The programs
# benchmarks/references.py times are taken from it, beside this file (it needs only
# numpy, so any tree's venv imports it; the tree measured is the venv's tapegrad).

def _scalars(lib):
    x = lib.tensor(1.5, requires_grad=True)
    y = lib.tensor(0.5, requires_grad=True)
    assert str(x.dtype).endswith("float32") and x.dim() == 0
    return x, y


def _mul(lib):
    x, y = _scalars(lib)
    return lambda: x * y


def _mul_const(lib):
    x, _ = _scalars(lib)
    return lambda: x * 2.0


def _sin(lib):
    x, _ = _scalars(lib)
    return lambda: lib.sin(x)


def _pow2(lib):
    x, _ = _scalars(lib)
    return lambda: x ** 2


def _exp(lib):
    x, _ = _scalars(lib)
    return lambda: lib.exp(x)


def _radd(lib):
    x, _ = _scalars(lib)
    return lambda: 1 + x


def _add(lib):
    x, y = _scalars(lib)
    return lambda: x + y


def _div(lib):
    x, y = _scalars(lib)
    return lambda: x / y


def _w3_forward(lib):
    def forward():
        x = lib.tensor(1.5, requires_grad=True)
        return x ** 2 * lib.sin(x) + lib.exp(x) / (1 + x * x)
    return forward


def _w3_step(lib):
    def step():
        x = lib.tensor(1.5, requires_grad=True)
        y = x ** 2 * lib.sin(x) + lib.exp(x) / (1 + x * x)
        y.backward()
        return x.grad.item()
    return step


def _w6_tensors(lib):
    import numpy as np
    rng = np.random.default_rng(7)
    x, y = np.ones(5, np.float32), np.zeros(3, np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    return (lib.from_numpy(x), lib.tensor(w, requires_grad=True),
            lib.tensor(b, requires_grad=True), lib.from_numpy(y))


def _w6_forward(lib):
    x, w, b, y = _w6_tensors(lib)

    def forward():
        w.grad = b.grad = None
        z = lib.matmul(x, w) + b
        return lib.nn.functional.binary_cross_entropy_with_logits(z, y)
    return forward


def _w6_step(lib):
    return functools.partial(_references().w6_eager, lib, *_w6_tensors(lib))


def _seed002_pow(lib):
    return functools.partial(_references().seed002_pow, lib)


def _seed002_bce(lib):
    return functools.partial(_references().seed002_bce, lib)


def _references():
    """benchmarks/references.py, imported from beside this script."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import references
    return references


# name: (what is counted, its builder)
WORKLOADS = {
    "MUL": ("`x * y`, 0-d float32, both requiring grad (result discarded)", _mul),
    "MULC": ("`x * 2.0`", _mul_const),
    "SIN": ("`torch.sin(x)`", _sin),
    "POW2": ("`x ** 2`", _pow2),
    "EXP": ("`torch.exp(x)`", _exp),
    "RADD": ("`1 + x`", _radd),
    "ADD": ("`x + y`", _add),
    "DIV": ("`x / y`", _div),
    "W3F": ("W3 forward: `tensor(1.5)`, then 8 recorded primitives", _w3_forward),
    "W3": ("W3 step: forward, `backward()`, `x.grad.item()`", _w3_step),
    "W6F": ("W6 forward: `matmul(x, w) + b`, BCE with logits", _w6_forward),
    "W6": ("W6 step (references.w6_eager)", _w6_step),
    "POW": ("seed 002 pow (references.seed002_pow)", _seed002_pow),
    "BCE": ("seed 002 BCE (references.seed002_bce)", _seed002_bce),
}
# name: (what, minuend, subtrahend, divisor)
DERIVED = {
    # x ** 2, sin, *, exp, x * x, 1 +, /, +: eight nodes on the tape
    "W3 per op": ("W3 forward per recorded primitive (/8)", "W3F", None, 8),
    "W3 backward": ("W3 `backward()` + `.grad.item()` (step minus forward)", "W3", "W3F", 1),
    "W6 backward": ("W6 `backward()` (step minus forward)", "W6", "W6F", 1),
}


# ------------------------------------------------------------------ the child

def _pretend_cpu(cpu: str) -> None:
    """Make llvmlite report `cpu` as the host, before tapegrad reads it."""
    if cpu == "host":
        return
    if cpu != "haswell":
        raise SystemExit(f"--cpu {cpu!r}: only 'haswell' and 'host' are known")
    import llvmlite.binding as llvm

    class _Features:
        def flatten(self, sort=True):
            return HASWELL_FEATURES

    llvm.get_host_cpu_name = lambda: "haswell"
    llvm.get_host_cpu_features = lambda: _Features()


def child(name: str, n: int, warmup: int, cpu: str) -> None:
    _pretend_cpu(cpu)
    import tapegrad as lib
    call = WORKLOADS[name][1](lib)
    for _ in range(warmup):
        call()
    for _ in range(n):
        call()


# ------------------------------------------------------------------ the split

# the recording and backward machinery's entry points, listed by --split wherever they rank
WATCHED = {"bind_op", "_on_tape", "_caller_loc", "GradFn.__init__", "new_instr", "eval_prim",
           "_record", "walk_nodes", "walk_tape", "execute", "_call", "tensor_backward",
           "grad", "Tensor.item", "rule.<locals>.run", "scalar_constant"}

def _read_callgrind(path: str):
    """(pid, {fn: self Ir}, {fn: Ir of its calls}, {fn: object}) of a callgrind file.
    A name with callgrind's recursion mark (fn'2) is a nested activation, whose cost its
    outermost one already includes: it is kept apart."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    space = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl",
             "cfl": "fl", "fn": "fn", "cfn": "fn"}
    self_cost, call_cost, obj_of = {}, {}, {}
    pid, fn, ob, cob, in_call = 0, None, "", "", False

    def name(kind, rest):
        rest = rest.strip()
        if rest.startswith("("):
            key, _, text = rest.partition(")")
            table = names[space[kind]]
            if text.strip():
                table[key] = text.strip()
            return table.get(key, rest)
        return rest
    with open(path) as f:
        for line in f:
            if not line or line[0] == "#" or line == "\n":
                continue
            head, eq, rest = line.partition("=")
            if eq and head in space:
                value = name(head, rest)
                if head == "fn":
                    fn, cob = value, ob
                    obj_of.setdefault(fn, ob)
                elif head == "ob":
                    ob = cob = value
                elif head == "cob":
                    cob = value
                continue
            if head == "calls" and eq:
                in_call = True
                continue
            if line.startswith("pid:"):
                pid = int(line.split()[1])
                continue
            if line[0] in "0123456789+-*" and fn is not None:
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                table = call_cost if in_call else self_cost
                table[fn] = table.get(fn, 0) + cost
                in_call = False
    return pid, self_cost, call_cost, obj_of


def _perf_names(path: str, pid: int) -> dict:
    """{trampoline address: Python function} from the child's perf map."""
    found = {}
    maps = [m for m in (f"/tmp/perf-{pid}.map", f"{path}.perf-{pid}.map") if os.path.exists(m)]
    for name in maps[:1]:
        with open(name) as f:
            for line in f:
                addr, _, label = line.rstrip("\n").split(" ", 2)
                found[int(addr, 16)] = label.removeprefix("py::")
    return found


def _costs(path: str):
    """({Python function: inclusive Ir}, {object: self Ir}) of one callgrind file."""
    pid, self_cost, call_cost, obj_of = _read_callgrind(path)
    perf = _perf_names(path, pid)
    functions, objects = {}, {}
    for fn in set(self_cost) | set(call_cost):
        own = self_cost.get(fn, 0)
        obj = os.path.basename(obj_of.get(fn, "") or "???")
        address, _, nested = fn.partition("'")
        label = perf.get(int(address, 16)) if address.startswith("0x") else None
        if label is not None:
            obj = "Python trampolines"
            if not nested:
                functions[label] = functions.get(label, 0) + own + call_cost.get(fn, 0)
        objects[obj] = objects.get(obj, 0) + own
    if os.path.exists(f"/tmp/perf-{pid}.map"):  # kept beside its callgrind file
        os.replace(f"/tmp/perf-{pid}.map", f"{path}.perf-{pid}.map")
    return functions, objects


def _print_split(args, name: str) -> None:
    base = os.path.join(args.out, f"callgrind.{name}")
    f0, o0 = _costs(f"{base}.0.out")
    f1, o1 = _costs(f"{base}.{args.n}.out")

    def per_call(a, b):
        return {k: (a.get(k, 0) - b.get(k, 0)) / args.n for k in set(a) | set(b)}
    funcs, objs = per_call(f1, f0), per_call(o1, o0)
    total = sum(objs.values())
    here = os.path.realpath(__file__)
    rows = sorted(((v, k) for k, v in funcs.items()
                   if here not in k and "<frozen" not in k), reverse=True)
    print(f"    inclusive per call, of {total:,.0f} under -X perf:", flush=True)
    for v, k in rows[:args.top]:
        print(f"    {v:12,.0f} {100 * v / total:5.1f}%  {k}", flush=True)
    watched = [(k.split(":")[0], v) for v, k in rows if k.split(":")[0] in WATCHED and v > 0]
    print("    watched: " + ", ".join(f"{k} {v:,.0f}" for k, v in watched), flush=True)
    print("    own instructions per shared object:", flush=True)
    for v, k in sorted(((v, k) for k, v in objs.items()), reverse=True)[:6]:
        print(f"    {v:12,.0f} {100 * v / total:5.1f}%  {k}", flush=True)


# ------------------------------------------------------------------ the parent

def _tree() -> str:
    import tapegrad
    import tapegrad.tracer
    root = os.path.dirname(os.path.dirname(os.path.realpath(tapegrad.__file__)))
    if not os.path.realpath(tapegrad.tracer.__file__).startswith(root + os.sep):
        raise SystemExit(f"tapegrad is {tapegrad.__file__} but tapegrad.tracer is "
                         f"{tapegrad.tracer.__file__}: run with the tree's own venv")
    return root


def _commit(root: str) -> str:
    out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def _env(args, root: str) -> dict:
    env = dict(os.environ, **ONE_THREAD, PYTHONHASHSEED="0")  # the same dict orders each run
    env.setdefault("TAPEGRAD_CACHE_DIR",
                   f"/tmp/tgcache-callgrind-{os.path.basename(root)}-{args.cpu}")
    return env


def _child_argv(args, name: str, n: int, perf: bool = False) -> list:
    return [sys.executable, *(["-X", "perf"] if perf else []), os.path.abspath(__file__),
            "--child", name, "--n", str(n), "--warmup", str(args.warmup), "--cpu", args.cpu]


def _collected(args, env, name: str, n: int) -> int:
    out_file = os.path.join(args.out, f"callgrind.{name}.{n}.out")
    run = subprocess.run([VALGRIND, "--tool=callgrind", f"--callgrind-out-file={out_file}",
                          *_child_argv(args, name, n, args.split)],
                         env=env, capture_output=True, text=True)
    found = re.search(r"Collected\s*:\s*(\d+)", run.stderr)
    if run.returncode != 0 or not found:
        raise SystemExit(f"{name} N={n} under valgrind failed:\n{run.stderr[-3000:]}")
    return int(found.group(1))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="calls counted (default 200)")
    p.add_argument("--warmup", type=int, default=50, help="calls before counting")
    p.add_argument("--only", default="", help="comma-separated workloads: " + ",".join(WORKLOADS))
    p.add_argument("--cpu", default="haswell", help="target told to llvmlite: haswell | host")
    p.add_argument("--out", default="/tmp/callgrind-eager", help="callgrind output files")
    p.add_argument("--split", action="store_true",
                   help="per Python function and per shared object (Python >= 3.12)")
    p.add_argument("--top", type=int, default=12, help="functions listed by --split")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child, args.n, args.warmup, args.cpu)

    if args.split and sys.version_info < (3, 12):
        raise SystemExit("--split needs Python >= 3.12 (perf trampolines)")
    root = _tree()
    env = _env(args, root)
    names = [s.strip().upper() for s in args.only.split(",") if s.strip()] or list(WORKLOADS)
    args.out = os.path.join(args.out, os.path.basename(root) + ("-split" if args.split else ""))
    os.makedirs(args.out, exist_ok=True)
    print(f"# tree {root} @ {_commit(root)}, python {sys.version.split()[0]}, cpu {args.cpu}, "
          f"N={args.n}, warm-up {args.warmup}, cache {env['TAPEGRAD_CACHE_DIR']}", flush=True)
    per_call = {}
    stamp = os.stat(__file__).st_mtime_ns
    for name in names:
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")
        t0 = time.time()
        native = subprocess.run(_child_argv(args, name, args.n), env=env,
                                capture_output=True, text=True)
        if native.returncode != 0:  # an API the tree lacks, or a failure: say so, go on
            last = (native.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{name:12s} {'n/a':>12s}   {last}", flush=True)
            continue
        zero = _collected(args, env, name, 0)
        full = _collected(args, env, name, args.n)
        per_call[name] = (full - zero) / args.n
        print(f"{name:12s} {per_call[name]:12,.0f}   {WORKLOADS[name][0]}  "
              f"[{zero:,} / {full:,}; {time.time() - t0:.0f} s]", flush=True)
        if os.stat(__file__).st_mtime_ns != stamp:
            print(f"    ({__file__} changed during the run: {name}'s runs are not comparable)")
        if args.split:
            _print_split(args, name)
    for name, (what, a, b, div) in DERIVED.items():
        if a in per_call and (b is None or b in per_call):
            value = (per_call[a] - (per_call[b] if b else 0.0)) / div
            print(f"{name:12s} {value:12,.0f}   {what}", flush=True)


if __name__ == "__main__":
    main()
