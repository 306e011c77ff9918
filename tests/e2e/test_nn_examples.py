"""examples/nn_*.py: the tutorial's two-layer network trained three ways (eager nn + optim,
functional_call + value_and_grad + a compiled Adam step, pure pytree functions) from the
same weights; each prints the loss every 100 steps and the three agree."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAYS = ("nn_eager", "nn_functional_compiled", "nn_pytree_jax_style")


def _losses(name: str) -> list[float]:
    # one thread each: on a busy machine (CI, several runs) spinning pools cost seconds
    env = {**os.environ, "TAPEGRAD_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    rows = re.findall(r"^(\d+) (\S+)$", out.stdout, re.M)
    assert [int(t) for t, _ in rows] == [99, 199, 299, 399, 499], out.stdout
    return [float(v) for _, v in rows]


def test_the_three_ways_print_the_same_losses():
    eager, functional, pytree = (_losses(w) for w in WAYS)
    assert eager[0] > 1.0 and eager[-1] < 1e-6 * eager[0]  # it learns
    for other in (functional, pytree):
        # the first losses to float32 rounding; the last ones (1e-6 .. 1e-10, the
        # residual's rounding noise) to a few percent
        for k, (a, b) in enumerate(zip(eager, other)):
            assert abs(a - b) <= (1e-4 if k < 2 else 5e-2) * abs(a), (eager, other)
