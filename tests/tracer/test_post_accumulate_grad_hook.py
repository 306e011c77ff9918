"""Tensor.register_post_accumulate_grad_hook: the hook sees the leaf once `.grad` holds
the new gradient (after tensor hooks changed it), may step and clear it (an optimizer
fused into backward), and refuses non-leaves and tensors without grad. The program in
data/ runs with `import torch` bound to tapegrad and must print what PyTorch 2.13
printed for it (data/post_accumulate_grad_hook_torch.txt, recorded from a side venv)."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE.parents[1] / "tests" / "e2e" / "corpus" / "_run_as_torch.py"


def test_program_prints_what_pytorch_printed():
    program = HERE / "data" / "post_accumulate_grad_hook_program.py"
    out = subprocess.run([sys.executable, str(LAUNCHER), str(program)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    want = (HERE / "data" / "post_accumulate_grad_hook_torch.txt").read_text()
    assert out.stdout == want
