"""The README's tour prints what the README shows (up to the machine-specific LLVM text)."""
import os
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def blocks() -> list[str]:
    return re.findall(r"```(?:python)?\n(.*?)```", README, re.S)


def run(args, cwd, tmp_path):
    env = {**os.environ, "TAPEGRAD_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_tour_prints_what_the_readme_shows(tmp_path):
    code = next(b for b in blocks() if b.startswith("# tour.py"))
    shown = blocks()[blocks().index(code) + 1]
    (tmp_path / "tour.py").write_text(code)
    printed = run(["tour.py"], tmp_path, tmp_path)
    machine_specific = "; ModuleID"  # LLVM's text names this machine's target and symbol
    assert printed.split(machine_specific)[0] == shown.split(machine_specific)[0]
    assert machine_specific in printed


def test_the_eager_example_prints_what_the_readme_shows(tmp_path):
    code = next(b for b in blocks() if b.startswith("import tapegrad as torch"))
    shown = blocks()[blocks().index(code) + 1]
    (tmp_path / "eager.py").write_text(code)
    assert run(["eager.py"], tmp_path, tmp_path) == shown


def test_the_dump_command_prints_what_the_readme_shows(tmp_path):
    model = next(b for b in blocks() if "def loss(x, w):" in b)
    shown = next(b for b in blocks() if b.startswith("$ python -m tapegrad dump"))
    command, expected = shown.split("\n", 1)
    (tmp_path / "model.py").write_text(model)
    args = ["-m", "tapegrad", "dump", "model.py:loss", "--args", "f32[64,1000]",
            "f32[1000,100]", "--grad", "1"]
    assert command.replace("'", "") == "$ python " + " ".join(args)  # the command shown
    assert run(args, tmp_path, tmp_path) == expected
