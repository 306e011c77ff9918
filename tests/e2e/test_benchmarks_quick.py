"""benchmarks/run.py --quick runs end to end (every workload checks its results
against numpy before timing).  Slow: it compiles every workload and starts
child processes for W5; run with -m slow."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_benchmark_quick_run_prints_the_table(tmp_path):
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--quick"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    for row in ("W1 compiled step", "W2 grad", "W3 grad at a scalar", "W4a", "W4b", "W5", "W6",
                "NN Adam step, eager nn + optim", "NN Adam.step alone"):
        assert row in out.stdout
    assert "OPENBLAS_CORETYPE" in out.stdout
