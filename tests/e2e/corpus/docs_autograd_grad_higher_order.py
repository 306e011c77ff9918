# Source: PyTorch docs, torch.autograd.grad API page and notes/autograd.rst (gradients of
#   gradients with create_graph=True; https://docs.pytorch.org/docs/stable/generated/torch.autograd.grad.html;
#   BSD-3-Clause). Written for tapegrad's corpus after those: first, second and third
#   derivatives of x**3 and a gradient penalty of the docs' kind.
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x ** 3).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
print(g)
(g2,) = torch.autograd.grad(g.sum(), x, create_graph=True)
print(g2)
(g3,) = torch.autograd.grad(g2.sum(), x)
print(g3)

w = torch.tensor([[0.5, -1.0], [1.5, 2.0]], requires_grad=True)
inp = torch.tensor([[1.0, 2.0]], requires_grad=True)
out = (inp @ w).tanh().sum()
(grad_inp,) = torch.autograd.grad(out, inp, create_graph=True)
penalty = grad_inp.pow(2).sum()
penalty.backward()
print(grad_inp)
print(w.grad)

a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(3.0, requires_grad=True)
c = a * b
print(torch.autograd.grad(c, [a], retain_graph=True, allow_unused=True))
ga, gb = torch.autograd.grad(c, (a, b), grad_outputs=torch.tensor(2.0))
print(ga, gb)
