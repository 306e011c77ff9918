"""The eager autograd tests again with every adjoint forced through native code.

`TAPEGRAD_EAGER=compile` must pass the whole suite (the LLVM backend issue); this
keeps the tests that exercise backward most honest about it in every default run.
"""
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FILES = ["e2e/test_seeds.py", "tracer/test_autograd_engine.py", "tracer/test_op_gradients.py",
         "tracer/test_tensor_graph.py", "e2e/test_torch_parity_recorded.py"]


def test_eager_tests_pass_with_native_adjoints(tmp_path):
    env = {**os.environ, "TAPEGRAD_EAGER": "compile",
           "TAPEGRAD_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         *[str(TESTS / f) for f in FILES]],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
