"""The in-process JIT path (no disk cache, or no linker) on code with vector constants.

With the disk cache off, code is never linked into a shared library: it goes to
MCJIT. llvmlite's own memory manager aborted the process there on the polynomial
math's constant sections, so this runs in a child process: an abort is a failure
with its message, not the end of the test run.
"""
import os
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent("""
    import numpy as np
    import tapegrad as tg
    x = np.linspace(-3, 3, 37).astype(np.float32)
    for f, df in [(lambda x: (x.sin() * x).sum(), lambda x: np.sin(x) + x * np.cos(x)),
                  (lambda x: x.exp().sum(), np.exp),
                  (lambda x: x.tanh().sum(), lambda x: 1 - np.tanh(x) ** 2),
                  (lambda x: x.sigmoid().log().sum(), lambda x: 1 - 1 / (1 + np.exp(-x)))]:
        g = tg.grad(f)(x).numpy()
        np.testing.assert_allclose(g, df(x), rtol=1e-5, atol=1e-6)
        assert tg.grad(f).lower(x).llvm
    print("ok")
""")


def test_jit_path_without_disk_cache_runs_math_kernels():
    env = {**os.environ, "TAPEGRAD_CACHE_DIR": ""}
    run = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert run.stdout.strip() == "ok"
