# Source: pytorch/tutorials beginner_source/blitz/autograd_tutorial.py ("Differentiation in
#   Autograd", "Exclusion from the DAG"; BSD-3-Clause). Written for tapegrad's corpus after that
#   program: the same calls and printed lines. The torchvision resnet18 part is not included
#   (it downloads weights and needs torch.nn).
# Edits for determinism: torch.manual_seed(0) before torch.rand.
import torch

a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3*a**3 - b**2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(9*a**2 == a.grad)
print(-2*b == b.grad)

torch.manual_seed(0)
x = torch.rand(5, 5)
y = torch.rand(5, 5)
z = torch.rand((5, 5), requires_grad=True)
a = x + y
print(f"Does `a` require gradients?: {a.requires_grad}")
b = x + z
print(f"Does `b` require gradients?: {b.requires_grad}")
