# Source: pytorch/tutorials beginner_source/introyt/autogradyt_tutorial.py (detach, "More
#   Autograd Detail and the High-Level API"; BSD-3-Clause). Written for tapegrad's corpus after
#   that program: the same calls and printed lines.
# Edits for determinism and headless runs: torch.manual_seed(0) first; the notebook shows the
#   value of each cell's last expression (the jacobian and vjp calls), so those are printed.
import torch

torch.manual_seed(0)
x = torch.rand(5, requires_grad=True)
y = x.detach()
print(x)
print(y)

x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
print(y)
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(v)
print(x.grad)


def exp_adder(x, y):
    return 2 * x.exp() + 3 * y


inputs = (torch.rand(1), torch.rand(1))
print(inputs)
print(torch.autograd.functional.jacobian(exp_adder, inputs))
inputs = (torch.rand(3), torch.rand(3))
print(inputs)
print(torch.autograd.functional.jacobian(exp_adder, inputs))


def do_some_doubling(x):
    y = x * 2
    while y.data.norm() < 1000:
        y = y * 2
    return y


inputs = torch.randn(3)
my_gradients = torch.tensor([0.1, 1.0, 0.0001])
print(torch.autograd.functional.vjp(do_some_doubling, inputs, v=my_gradients))
