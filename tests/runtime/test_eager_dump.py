"""TAPEGRAD_DUMP and TAPEGRAD_DUMP_DIR cover what an eager backward compiles.

The eager tier interprets an adjoint the first time and compiles it the second
(runtime/execute.py); the compile goes through the same dump helper as the
transforms' (runtime/dump.py)."""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad.ir import parse
from tapegrad.runtime import execute


def _train(steps: int) -> None:
    x = tg.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
    w = tg.tensor(np.full((4, 2), 0.25, np.float32), requires_grad=True)
    for _ in range(steps):  # one tape structure, seen again: compiled at the second
        (tg.tanh(x.mm(w)) * 3.0).sum().backward()


def test_the_dump_dir_gets_every_stage_of_an_eager_adjoint(monkeypatch, tmp_path):
    monkeypatch.setenv("TAPEGRAD_EAGER", "auto")
    monkeypatch.setenv("TAPEGRAD_DUMP_DIR", str(tmp_path))
    compiled = execute.stats.compiled
    _train(1)
    assert execute.stats.compiled == compiled and not list(tmp_path.iterdir())  # interpreted
    _train(2)
    assert execute.stats.compiled == compiled + 1
    files = sorted(p.name for p in tmp_path.iterdir())
    stems = {name.split(".")[0] for name in files}
    assert len(stems) == 1, files
    stem = stems.pop()
    assert stem.startswith("backward-")
    assert files == [f"{stem}.{s}" for s in ("adjoint.ir", "asm.s", "llvm.ll", "optimized.ir")]
    adjoint = (tmp_path / f"{stem}.adjoint.ir").read_text()
    assert str(parse(adjoint)) == adjoint.rstrip("\n")  # the IR as text, reads back
    assert "= matmul " in adjoint and "= transpose " in adjoint  # x.T @ (...)
    optimized = (tmp_path / f"{stem}.optimized.ir").read_text()
    assert "[loop]" in optimized  # loop nests tagged, as a transform's optimized stage
    assert "define" in (tmp_path / f"{stem}.llvm.ll").read_text()
    assert (tmp_path / f"{stem}.asm.s").read_text().strip()


def test_dump_prints_the_asked_stages_of_an_eager_adjoint(monkeypatch, capsys):
    monkeypatch.setenv("TAPEGRAD_EAGER", "compile")
    monkeypatch.setenv("TAPEGRAD_DUMP", "adjoint,llvm")
    monkeypatch.delenv("TAPEGRAD_DUMP_DIR", raising=False)
    w = tg.tensor(np.arange(5, dtype=np.float64), requires_grad=True)
    (tg.sin(w) * w).sum().backward()
    err = capsys.readouterr().err
    assert "// ---- tapegrad adjoint: backward ----" in err
    assert "// ---- tapegrad llvm: backward ----" in err
    assert "tapegrad optimized" not in err and "tapegrad asm" not in err


def test_nothing_is_dumped_unless_asked(monkeypatch, capsys):
    monkeypatch.setenv("TAPEGRAD_EAGER", "compile")
    monkeypatch.delenv("TAPEGRAD_DUMP", raising=False)
    monkeypatch.delenv("TAPEGRAD_DUMP_DIR", raising=False)
    w = tg.tensor(np.arange(3, dtype=np.float32), requires_grad=True)
    (w * w).sum().backward()
    assert "tapegrad" not in capsys.readouterr().err
