"""examples/data_parallel.py on the tests' LocalCluster, small: it ends with the issue's
line and its training matches one process's to D <= 1e-5."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data_parallel.py"
LAST = re.compile(r"data-parallel: (\d+) workers, (\d+) steps, final loss (\S+), largest "
                  r"relative difference from one process (\S+)")


def test_example_trains_like_one_process(client):
    address = client.scheduler.address
    done = subprocess.run([sys.executable, str(EXAMPLE), "--scheduler", address,
                           "--samples", "1024", "--steps", "5"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    m = LAST.fullmatch(lines[-1])
    assert m, lines[-1]
    assert (m.group(1), m.group(2)) == ("2", "5")
    losses = [float(line.split()[-1]) for line in lines if line.startswith("step")]
    assert len(losses) == 5 and losses[-1] < 0.8 * losses[0]  # it learns
    assert f"{losses[-1]:.6e}" == m.group(3)
    assert float(m.group(4)) <= 1e-5


def test_the_readme_shows_how_to_run_it():
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    section = readme.split("## Scale out", 1)[1].split("\n## ", 1)[0]
    assert '.venv/bin/pip install -q -e ".[distributed]"' in section
    assert ".venv/bin/python examples/data_parallel.py" in section
    for flag in ("--workers", "--samples", "--steps", "--scheduler"):
        assert flag in section and flag in EXAMPLE.read_text()
    shown = re.search(r"`(data-parallel: .*?)`", section, re.S).group(1).replace("\n", " ")
    m = LAST.fullmatch(shown)
    assert m and float(m.group(4)) <= 1e-5


@pytest.mark.slow
def test_example_as_the_issue_runs_it():
    """The defaults: its own LocalCluster of 2 worker processes, N = 65,536, 20 steps."""
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    m = LAST.fullmatch(done.stdout.strip().splitlines()[-1])
    assert m and (m.group(1), m.group(2)) == ("2", "20") and float(m.group(4)) <= 1e-5
