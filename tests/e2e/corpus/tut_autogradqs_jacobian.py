# Source: pytorch/tutorials beginner_source/basics/autogradqs_tutorial.py ("Tensor Gradients
#   and Jacobian Products"; BSD-3-Clause). Written for tapegrad's corpus after that program:
#   the same calls and printed lines.
import torch

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")
