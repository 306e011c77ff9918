"""Fuzzing control flow: random programs with nested scan / fori_loop / while_loop / cond
(fuzz_region_programs.py writes them), each checked through every layer:

  values    eager on the interpreter (the oracle; each construct runs its Python
            functions) == tg.compile's native code == the interpreter on the traced IR
            (== eager with native adjoints, TAPEGRAD_EAGER=compile, gradients too)
  text      str(parse(str(fn))) == str(fn), and the verifier passes, for every stage of
            lower() (ir, adjoint, program, optimized) of compile, grad and vmap
  passes    the verifier passes after each pass of `optimize` and of codegen's own, and
            the interpreter gives the same values on the result
  gradients (no while_loop: it has no reverse mode) tg.grad's native code == eager
            backward() on the interpreter == float64 central differences; second order
            when asked (a Hessian-vector product, reverse over reverse, against
            differences of the gradient, and forward over reverse against it)
  jvp       tg.jvp's tangent == float64 central differences (through while_loop too)
  vmap      tg.vmap with some arguments batched and some not (so predicates come both
            batched and shared) == a Python loop over the batch
  safety    a loop counter used as an index past the end of a buffer raises IndexError
            in eager, native and interpreted code alike (never a wild read or write)

Programs run in a child process, as in test_fuzz_programs.py: a native crash fails the
test and names the program.  The default run tries QUICK_EXAMPLES programs with a fixed
seed; `pytest -m slow` tries SLOW_EXAMPLES with a random one (TAPEGRAD_FUZZ_SEED replays).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

QUICK_EXAMPLES = 5
SLOW_EXAMPLES = 200
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _arrays(inputs, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, shape).astype(np.float32 if d == "f32" else np.float64)
            for d, shape in inputs]


def _close(got, want, label, dtype):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, \
        (label, got.shape, want.shape, got.dtype, want.dtype)
    rtol = 2e-4 if dtype == "f32" else 1e-9
    finite = want[np.isfinite(want)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * (1.0 + scale),
                               equal_nan=True, err_msg=label)


class _Eager:
    """TAPEGRAD_EAGER=mode for a block."""

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.old = os.environ.get("TAPEGRAD_EAGER")
        os.environ["TAPEGRAD_EAGER"] = self.mode

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop("TAPEGRAD_EAGER", None)
        else:
            os.environ["TAPEGRAD_EAGER"] = self.old


def check_text_and_verifier(fn, label):
    from tapegrad.ir import parse, verify
    verify(fn)
    text = str(fn)
    back = parse(text)
    assert str(back) == text, f"{label}: the round trip changed the text:\n{text}\n---\n{back}"
    verify(back)


def check_stages(lowered, label):
    for stage in ("ir", "adjoint", "program", "optimized"):
        fn = getattr(lowered, stage)
        if fn is not None:
            check_text_and_verifier(fn, f"{label}.{stage}")


def check_passes(fn, arrays, want, dtype, label):
    """Each pass, one at a time, keeps the function valid and its values."""
    from tapegrad.codegen.passes import compiled_ir
    from tapegrad.ir import verify
    from tapegrad.ir.passes import cse, dce, fold, simplify
    from tapegrad.runtime import interpret
    for p in (dce, simplify, fold, simplify, dce, cse, dce, compiled_ir):
        fn = p(fn)
        try:
            verify(fn)
        except Exception as e:
            raise AssertionError(f"{label}: the verifier fails after {p.__name__}:\n{fn}") from e
    for k, (g, w) in enumerate(zip(interpret(fn, arrays), want)):
        _close(g, w, f"{label}: interpreted after the passes, result {k}", dtype)


def _moved(arrays, direction, eps):
    return [np.asarray(a + eps * v) for a, v in zip(arrays, direction)]


def _directional(values, v):
    return sum(float(np.sum(a * b)) for a, b in zip(values, v))


def _agrees_with_differences(exact, at, label, steps=(1e-6, 1e-4)):
    """`exact` (a number or an array) against central differences `at(eps)` for a few step
    sizes: one agreeing is enough (a step across a kink of where/max/cond spoils one)."""
    errors = []
    if not np.size(exact):
        return
    for eps in steps:
        numeric = at(eps)
        scale = 1.0 + float(np.max(np.abs(exact))) + float(np.max(np.abs(numeric)))
        err = float(np.max(np.abs(np.asarray(exact) - numeric)))
        if err <= 2e-5 * scale:
            return
        errors.append((eps, err, numeric))
    raise AssertionError(f"{label}: {exact} against finite differences {errors}")


def run_region_program(source, inputs, seed, kinds, second_order=False):
    """Every check of the module docstring on one program."""
    import tapegrad as tg
    from tapegrad.runtime import interpret

    scope = {"tg": tg}
    exec(compile(source, "<region fuzz program>", "exec"), scope)
    f = scope["f"]
    arrays = _arrays(inputs, seed)
    dtype = inputs[0][0]
    n = len(arrays)
    rng = np.random.default_rng(seed + 1)
    reverse = "while" not in kinds

    # the oracle: eager, each construct running its Python functions on the interpreter
    with _Eager("interpret"):
        xs = [tg.tensor(a, requires_grad=reverse) for a in arrays]
        try:
            out = f(*xs)
        except IndexError:
            return _check_fault(f, arrays)
        want = out.detach().numpy()
        weights = rng.uniform(-1, 1, want.shape).astype(want.dtype)
        if reverse and out.requires_grad:
            (out * tg.tensor(weights)).sum().backward()
        if reverse:
            want_grads = [x.grad.numpy() if x.grad is not None else np.zeros_like(a)
                          for x, a in zip(xs, arrays)]

    if reverse:  # eager again, the adjoints native (each construct records ordinary ops)
        with _Eager("compile"):
            xs = [tg.tensor(a, requires_grad=True) for a in arrays]
            out = f(*xs)
            _close(out.detach().numpy(), want, "eager, native adjoints", dtype)
            if out.requires_grad:
                (out * tg.tensor(weights)).sum().backward()
            for k, x in enumerate(xs):
                got = x.grad.numpy() if x.grad is not None else np.zeros_like(arrays[k])
                _close(got, want_grads[k], f"eager grad {k}, native adjoints", dtype)

    compiled = tg.compile(f)
    _close(compiled(*arrays).numpy(), want, "tg.compile (native)", dtype)
    lowered = compiled.lower(*arrays)
    check_stages(lowered, "compile")
    _close(interpret(lowered.ir, arrays)[0], want, "the interpreter on the traced IR", dtype)
    check_passes(lowered.ir, arrays, [want], dtype, "compile")

    def loss(*xs):
        return (f(*xs) * tg.tensor(weights)).sum()

    direction = [rng.uniform(-1, 1, a.shape).astype(a.dtype) for a in arrays]
    if reverse:
        grad = tg.grad(loss, argnums=tuple(range(n)))
        grads = [g.numpy() for g in grad(*arrays)]
        for k in range(n):
            _close(grads[k], want_grads[k], f"tg.grad {k} against eager backward", dtype)
        glow = grad.lower(*arrays)
        check_stages(glow, "grad")
        got = interpret(glow.program, arrays)
        for k in range(n):
            _close(got[k], want_grads[k], f"the interpreter on grad's program, {k}", dtype)
        check_passes(glow.adjoint, arrays, got, dtype, "grad's adjoint")
        if dtype == "f64":
            native_loss = tg.compile(loss)

            def loss_at(eps):
                plus = native_loss(*_moved(arrays, direction, eps)).item()
                minus = native_loss(*_moved(arrays, direction, -eps)).item()
                return (plus - minus) / (2 * eps)
            _agrees_with_differences(_directional(grads, direction), loss_at,
                                     "grad against finite differences")
            if second_order:
                _check_second_order(tg, loss, grad, arrays, direction)

    with np.errstate(all="ignore"):
        primal, tangent = tg.jvp(f, tuple(tg.tensor(a) for a in arrays),
                                 tuple(tg.tensor(v) for v in direction))
    _close(primal.numpy(), want, "tg.jvp's primal", dtype)
    if dtype == "f64":
        def f_at(eps):
            plus = compiled(*_moved(arrays, direction, eps)).numpy()
            minus = compiled(*_moved(arrays, direction, -eps)).numpy()
            return (plus - minus) / (2 * eps)
        _agrees_with_differences(tangent.numpy(), f_at, "jvp against finite differences")
    _check_vmap(tg, f, arrays, rng, dtype)


def _check_second_order(tg, loss, grad, arrays, direction):
    n = len(arrays)

    def along(*xs):
        gs = tg.grad(loss, argnums=tuple(range(n)))(*xs)
        return sum((g * tg.tensor(v)).sum() for g, v in zip(gs, direction))
    hvp = [h.numpy() for h in tg.grad(along, argnums=tuple(range(n)))(*arrays)]

    def grads_at(eps):
        plus = grad(*_moved(arrays, direction, eps))
        minus = grad(*_moved(arrays, direction, -eps))
        return np.concatenate([((p.numpy() - m.numpy()) / (2 * eps)).reshape(-1)
                               for p, m in zip(plus, minus)])
    flat = np.concatenate([h.reshape(-1) for h in hvp])
    _agrees_with_differences(flat, grads_at,
                             "Hessian-vector product against differences of the gradient",
                             steps=(1e-5, 1e-3))
    # forward over reverse: the JVP of the gradient (regions_jvp on the adjoint's regions)
    _, tangents = tg.jvp(grad, tuple(tg.tensor(a) for a in arrays),
                         tuple(tg.tensor(v) for v in direction))
    _close(np.concatenate([t.numpy().reshape(-1) for t in tangents]), flat,
           "jvp of grad against grad of grad", "f32")


def _check_vmap(tg, f, arrays, rng, dtype, size=2):
    batched = [bool(b) for b in rng.integers(0, 2, len(arrays))]
    if not any(batched):
        batched[rng.integers(0, len(arrays))] = True
    args = [np.stack([a + 0.5 * k * rng.uniform(-1, 1, a.shape).astype(a.dtype)
                      for k in range(size)]) if b else a for a, b in zip(arrays, batched)]
    examples = []
    with _Eager("interpret"):
        for k in range(size):
            try:
                examples.append(f(*[tg.tensor(a[k] if b else a)
                                    for a, b in zip(args, batched)]).numpy())
            except IndexError:
                return  # the loop over the batch faults: nothing to compare
    mapped = tg.vmap(f, in_axes=tuple(0 if b else None for b in batched))
    got = mapped(*[tg.tensor(a) for a in args])
    check_stages(mapped.lower(*[tg.tensor(a) for a in args]), "vmap")
    _close(got.numpy(), np.stack(examples), f"tg.vmap, batched arguments {batched}", dtype)


def _check_fault(f, arrays):
    """The eager program indexed out of bounds: native and interpreted code must say so."""
    import tapegrad as tg
    from tapegrad.runtime import interpret
    with pytest.raises(IndexError, match="out of bounds"):
        tg.compile(f)(*arrays)
    with pytest.raises(IndexError, match="out of bounds"):
        interpret(tg.compile(f).lower(*arrays).ir, arrays)


def describe(source, inputs, seed, kinds):
    args = ", ".join(f"{d}{list(s)}" for d, s in inputs)
    return f"{source}# arguments: {args}; data seed {seed}; regions: {kinds}"


# ---------------------------------------------------------------- the child process


def child_main(examples: int, seed: int, last_path: str) -> int:
    sys.path.insert(0, str(HERE))
    from fuzz_region_programs import region_program
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    from hypothesis import seed as hseed

    @hseed(seed)  # no shrinking: a program costs seconds, and the failing one is printed
    @settings(max_examples=examples, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(st.data())
    def fuzz(data):
        prog = region_program(data.draw, faults=data.draw(st.integers(0, 4)) == 0)
        second = data.draw(st.integers(0, 3)) == 0
        with open(last_path, "w") as fh:  # survives a crash: the parent reports it
            json.dump(prog, fh)
        try:
            with np.errstate(all="ignore"):
                run_region_program(*prog, second_order=second)
        except BaseException:
            print("\n--- failing program ---\n" + describe(*prog), file=sys.stderr, flush=True)
            raise

    fuzz()
    return 0


def _run_child(examples: int, seed: int, timeout: float):
    with tempfile.TemporaryDirectory() as tmp:
        last = os.path.join(tmp, "last.json")
        env = dict(os.environ, TAPEGRAD_CACHE_DIR=os.path.join(tmp, "cache"))
        proc = subprocess.run([sys.executable, __file__, str(examples), str(seed), last],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env=env)
        program = None
        if os.path.exists(last):
            with open(last) as fh:
                program = describe(*json.load(fh))
    if proc.returncode < 0:
        pytest.fail(f"the fuzz child died with signal {-proc.returncode} (seed {seed}) "
                    f"running:\n{program}\n{proc.stderr[-3000:]}")
    assert proc.returncode == 0, f"seed {seed}:\n{proc.stderr[-6000:]}"


#: Programs that random runs found failing, replayed under `-m slow`: (source, inputs,
#: data seed, regions, second order), as `describe` prints them.
REGRESSIONS = {
    # seed 1: jvp of a scan inside a scan failed to verify (simplify rebuilt the kept
    # inner scan, whose body had a reshape to the same shape from e2[[0]])
    "jvp of a nested scan": (
        "def f(x0):\n    def s1(c, _):\n        c1_0, c1_1, = c\n"
        "        def s2(c, e2):\n            c2_0, = c\n            v3 = e2[[0]]\n"
        "            return (c2_0 * 0.5 + (v3).tanh(), ), None\n"
        "        (v6, ), _ = tg.lax.scan(s2, (c1_0, ), c1_0)\n"
        "        return (c1_0 * 0.5 + (v6).tanh(), c1_1 * 0.5 + (v6).tanh(), ), None\n"
        "    (v9, v10, ), _ = tg.lax.scan(s1, (x0, x0, ), None, length=3)\n"
        "    return v10\n",
        [("f64", (3, 1, 1))], 0, ["scan"], False),
    # seed 2: the Hessian-vector product reads element 1 of a captured constant in
    # place; the compile-time bounds check measured that view against its own size
    "second order through a reversed nested scan and a cond": (
        "def f(x0, x1, x2):\n    v1 = x1.sum(0)\n    v2 = v1 * v1\n"
        "    def s3(c, _):\n        c3_0, = c\n        def s4(c, e4):\n"
        "            c4_0, c4_1, = c\n            v5 = (e4 * 0.5).exp()\n"
        "            v6 = x1[-1]\n"
        "            return (c4_0 * 0.5 + (v6).tanh(), c4_1 * 0.5 + (v6).tanh(), ), (v5, v6, )\n"
        "        (v7, v8, ), (v9, v10, ) = tg.lax.scan(s4, (v2, v2, ), x0, reverse=True)\n"
        "        return (c3_0 * 0.5 + (v8).tanh(), ), (v10, )\n"
        "    (v11, ), (v12, ) = tg.lax.scan(s3, (x1, ), None, length=2, reverse=True)\n"
        "    def b14t(a14_0, a14_1, a14_2):\n        v15 = a14_2[[0]]\n"
        "        return (a14_0 * 0.5 + (v15.sum()).tanh(), a14_0 * 0.5 + (x2).tanh(), )\n"
        "    def b14f(a14_0, a14_1, a14_2):\n        v18 = (x0 * x0 + 0.25).sqrt()\n"
        "        v19 = v18.sin()\n"
        "        return (a14_0 * 0.5 + (v18).tanh(), a14_0 * 0.5 + (v19).tanh(), )\n"
        "    (v20, v21, ) = tg.cond(v12.mean() < 0.25, b14t, b14f, (x1, v12, v12, ))\n"
        "    return v21\n",
        [("f64", (1,)), ("f64", (2,)), ("f64", (2,))], 1, ["cond", "scan"], True),
    # seed 8 (depth 3): a cond guarding x0[i5] inside a fori_loop; tracing moved the
    # index (it reads no parameter of the branch) out of the branch, so it ran for i5 = 3
    "an index a cond guards, inside a loop": (
        'def f(x0):\n'
        '    v1 = (x0 * x0 + 1.0).log()\n'
        '    v2 = x0.sin()\n'
        '    def b3t(a3_0):\n'
        '        v4 = a3_0.transpose(0, 2)\n'
        '        return (a3_0 * 0.5 + (v4.sum()).tanh(), )\n'
        '    def b3f(a3_0):\n'
        '        def l5(i5, c):\n'
        '            c5_0, = c\n'
        '            def b6t(a6_0):\n'
        '                v7 = x0[i5]\n'
        '                v8 = v7.mean(0)\n'
        '                v9 = v8.sin()\n'
        '                return (a6_0 * 0.5 + (v8).tanh() + 0.125 * (v7.sum()).tanh(), '
        'a6_0 * 0.5 + (v8).tanh(), )\n'
        '            def b6f(a6_0):\n'
        '                v10 = (v1 * v1 + 1.0).log()\n'
        '                v11 = v10 * v10\n'
        '                return (a6_0 * 0.5 + (v10).tanh(), a6_0 * 0.5 + (v11).tanh(), )\n'
        '            (v12, v13, ) = tg.cond(i5 < 3, b6t, b6f, (v2, ))\n'
        '            return (c5_0 * 0.5 + (v12).tanh() + 0.125 * (v12.sum() + v13.sum()).tanh(), )\n'
        '        (v14, ) = tg.lax.fori_loop(0, 4, l5, (a3_0, ))\n'
        '        return (a3_0 * 0.5 + (v14).tanh() + 0.125 * (v14.sum()).tanh(), )\n'
        '    (v15, ) = tg.lax.cond(v2.sum() > 0, b3t, b3f, v1)\n'
        '    v16 = v15 + 0.125 * (v15.sum()).tanh()\n'
        '    return v16\n'
        , [("f64", (3, 1, 2))], 11929, ["cond", "scan"], False),
}


@pytest.mark.slow  # (each bug has a focused test in the default run)
@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_fuzz_regions_regressions(name):
    with np.errstate(all="ignore"):
        run_region_program(*REGRESSIONS[name])


def test_the_generator_writes_every_construct():
    """The generator itself (no program runs): over 60 draws, every construct and
    variant the module docstring promises shows up, nested, and every program is valid
    Python."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    from hypothesis import seed as hseed
    sys.path.insert(0, str(HERE))
    from fuzz_region_programs import region_program
    wanted = {
        "scan": r"tg\.lax\.scan\(", "reverse": "reverse=True", "length": "length=",
        "scan over indices": r"dtype=tg\.int64\)", "fori_loop": r"tg\.lax\.fori_loop\(",
        "fori_loop, tensor bounds": r"fori_loop\(tg\.tensor\(", "while_loop": r"while_loop\(",
        "lax.cond": r"tg\.lax\.cond\(", "torch cond": r"tg\.cond\(", "matmul": " @ ",
        "reduction": r"\.sum\(0\)", "counter index": r"\[[ike]\d+\]|, [ike]\d+\.reshape",
        "counter write": r"\] = ", "index_add": r"\.index_add\(",
        "guarded index": r"cond\([ik]\d+ <", "strided view": "::", "nested region": "        def "}
    seen = dict.fromkeys(wanted, 0)

    @hseed(1)
    @settings(max_examples=60, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data):
        source = region_program(data.draw, faults=True)[0]
        compile(source, "<region fuzz program>", "exec")
        for name, needle in wanted.items():
            seen[name] += re.search(needle, source) is not None
    collect()
    assert all(seen.values()), {k: v for k, v in seen.items() if not v}


def test_fuzz_regions_quick():
    _run_child(QUICK_EXAMPLES, seed=2718, timeout=300)


@pytest.mark.slow
def test_fuzz_regions_many():
    seed = int(os.environ.get("TAPEGRAD_FUZZ_SEED") or np.random.SeedSequence().entropy % 2**32)
    print(f"region fuzz seed {seed} (replay with TAPEGRAD_FUZZ_SEED={seed})")
    _run_child(SLOW_EXAMPLES, seed=seed, timeout=3600)


if __name__ == "__main__":
    sys.exit(child_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
