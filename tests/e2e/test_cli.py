"""`python -m tapegrad`: usage, and `dump` printing every stage of a function from a file."""
import shutil
import subprocess
import sys
import textwrap

import pytest

MODEL = textwrap.dedent("""\
    import tapegrad as tg


    def loss(x, w):
        return (x @ w).tanh().sum()


    @tg.grad
    def already_transformed(x):
        return (x * x).sum()
    """)


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tapegrad", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return path


def test_no_arguments_prints_usage():
    out = run()
    assert out.returncode == 0
    assert out.stdout.startswith("usage: python -m tapegrad")
    assert "demo" in out.stdout and "dump" in out.stdout


def test_dump_prints_the_forward_ir(model):
    out = run("dump", f"{model}:loss", "--args", "f32[2,3]", "f32[3,4]")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        "// ---- tapegrad ir: loss ----\n"
        "func @loss(%x: f32[2,3], %w: f32[3,4]) -> (f32[]) {\n"
        "  %0: f32[2,4] = matmul %x, %w  # model.py:5\n"
        "  %1: f32[2,4] = tanh %0  # model.py:5\n"
        "  %2: f32[] = reduce_sum %1 axes=(0, 1)  # model.py:5\n"
        "  return %2\n"
        "}\n")


def test_dump_grad_prints_the_adjoint_by_default(model):
    out = run("dump", f"{model}:loss", "--args", "f32[2,3]", "f32[3,4]", "--grad", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("// ---- tapegrad adjoint: grad_loss ----\n"
                                 "func @grad_loss(%x: f32[2,3], %w: f32[3,4]) -> (f32[3,4]) {\n")
    two = run("dump", f"{model}:loss", "--args", "f32[2,3]", "f32[3,4]", "--grad", "0,1",
              "--stage", "optimized")
    assert "-> (f32[2,3], f32[3,4]) {" in two.stdout


def test_dump_llvm_and_asm(model):
    out = run("dump", f"{model}:loss", "--args", "f64[2,3]", "f64[3,4]", "--stage", "llvm,asm")
    assert out.returncode == 0, out.stderr
    llvm, asm = out.stdout.split("// ---- tapegrad asm: loss ----\n")
    assert llvm.startswith("// ---- tapegrad llvm: loss ----\n") and "define void @tg_" in llvm
    assert "tg_" in asm and "ret" in asm


def test_dump_dot_draws_the_graph(model, tmp_path):
    out = run("dump", f"{model}:already_transformed", "--args", "f32[3]", "--stage", "dot",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert 'digraph "grad_already_transformed" {' in out.stdout
    assert 'label="%x\\nf32[3]"' in out.stdout and "-> result0;" in out.stdout
    assert (tmp_path / "grad_already_transformed.svg").exists() == bool(shutil.which("dot"))


def test_dump_of_compile_has_no_adjoint(model):
    out = run("dump", f"{model}:loss", "--args", "f32[2,3]", "f32[3,4]", "--stage", "adjoint")
    assert "(no adjoint stage" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["--args", "float[3]"], "bad argument type 'float[3]'"),
    (["--args", "f32[2,3]", "f32[3,4]", "--stage", "bytecode"], "bad --stage 'bytecode'"),
    (["--args", "f32[2,3]", "f32[3,4]", "--grad", "x"], "bad --grad 'x'"),
])
def test_dump_rejects_bad_options(model, args, message):
    out = run("dump", f"{model}:loss", *args)
    assert out.returncode == 2 and message in out.stderr


def test_dump_names_a_missing_function_or_file(model, tmp_path):
    out = run("dump", f"{model}:nope", "--args", "f32[1]")
    assert out.returncode == 1 and "has no function 'nope'" in out.stderr
    out = run("dump", f"{tmp_path}/absent.py:f", "--args", "f32[1]")
    assert out.returncode == 1 and "no such file" in out.stderr


def test_dump_reports_errors_in_the_traced_function(model):
    out = run("dump", f"{model}:loss", "--args", "f32[2,3]", "f32[4,4]")
    assert out.returncode == 1
    assert "(2x3 and 4x4)" in out.stderr and "model.py:5" in out.stderr
