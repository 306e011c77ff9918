"""The eager math kernels are compiled once per machine: a second process loads them
from the disk cache (a module the loader could not find again was compiled anew by
every process, 0.1-0.4 s per function at the first eager exp or tanh)."""
import subprocess
import sys

import pytest

from tapegrad.runtime import eager_math

PROGRAM = """
import tapegrad as tg
from tapegrad.runtime import eager_math
x = tg.ones(3)
tg.tanh(x); tg.exp(x); tg.pow(x, x)
print(len(eager_math.compile_seconds))
"""


@pytest.mark.skipif(not eager_math.ENABLED, reason="eager math kernels switched off")
def test_second_process_loads_the_kernels_from_the_cache(tmp_path):
    env = {"TAPEGRAD_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    compiled = [int(r.stdout.split()[-1]) for r in runs]
    if compiled[0] == 0:
        pytest.skip("no native code on this machine")
    assert compiled == [3, 0]
