"""The README's commands: `python -m tapegrad demo` and the tutorial example both run and agree."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    env = {**os.environ, "TAPEGRAD_EAGER": "auto"}  # the default tiers, whatever the suite's
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=env)


def test_demo_trains_compiled_and_eager_and_compares_them():
    out = run("-m", "tapegrad", "demo", "--steps", "60")  # 500 by default; 60 keeps this fast
    assert out.returncode == 0, out.stderr
    text = out.stdout
    rows = re.findall(r"^\s+(\d+)\s+(\S+)\s+(\S+)$", text, re.M)
    assert [int(step) for step, _, _ in rows] == [0, 50, 59]
    losses = [(float(a), float(b)) for _, a, b in rows]
    assert all(abs(a - b) <= 1e-4 * abs(b) for a, b in losses)
    assert losses[-1][0] < losses[0][0] / 100  # it learns
    assert "func @loss_fn(%w1: f32[1000,100], %w2: f32[100,10], %x: f32[64,1000], " \
           "%y: f32[64,10]) -> (f32[]) {" in text
    assert "func @value_and_grad_loss_fn(" in text and "more instructions ..." in text
    assert "compiled once: 1 trace, 60 cache hits" in text
    # the eager loop's backward: interpreted once, compiled once, native from step 1 on
    assert "eager backward: 59 of 60 steps ran native code (1 interpreted, 1 compiled)" in text
    assert re.search(r"time per step \(median of 59\): compiled [\d.]+ ms, eager [\d.]+ ms", text)


@pytest.mark.slow  # 500 eager steps: a few seconds, more on a busy machine
def test_two_layer_net_example_reports_how_backward_ran():
    out = run(str(ROOT / "examples" / "two_layer_net.py"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("0 ") and float(lines[0].split()[1]) > 1e6
    assert lines[10].startswith("499 ") and float(lines[10].split()[1]) < 1e-2
    assert lines[-2] == "eager adjoints: 499 native calls, 1 interpreted, 1 compiled"
    assert lines[-1] == "backward ran natively"
