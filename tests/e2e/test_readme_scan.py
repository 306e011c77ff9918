"""The README's scan example prints what the README shows (its IR holds one region)."""
import os
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_scan_example_prints_what_the_readme_shows(tmp_path):
    blocks = re.findall(r"```(?:python)?\n(.*?)```", README, re.S)
    code = next(b for b in blocks if b.startswith("# scan.py"))
    shown = blocks[blocks.index(code) + 1]
    assert "scan %w, %h, %xs body=func @cell(" in shown
    (tmp_path / "scan.py").write_text(code)
    env = {**os.environ, "TAPEGRAD_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "scan.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown
