# Source: d2l-ai/d2l-en chapter_preliminaries/autograd.md, the PyTorch tab ("Automatic
#   Differentiation"; code MIT-0, text CC BY-SA 4.0). Written for tapegrad's corpus after that
#   section: the same calls in the same order, each cell's result printed.
# Edits for determinism: torch.manual_seed(0) before torch.randn (the printed comparison
#   `a.grad == d / a` holds for any draw).
import torch

x = torch.arange(4.0)
print(x)
x.requires_grad_(True)
print(x.grad)
y = 2 * torch.dot(x, x)
print(y)
y.backward()
print(x.grad)
print(x.grad == 4 * x)

x.grad.zero_()
y = x.sum()
y.backward()
print(x.grad)

x.grad.zero_()
y = x * x
y.backward(gradient=torch.ones(len(y)))
print(x.grad)

x.grad.zero_()
y = x * x
u = y.detach()
z = u * x
z.sum().backward()
print(x.grad == u)

x.grad.zero_()
y.sum().backward()
print(x.grad == 2 * x)


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


torch.manual_seed(0)
a = torch.randn(size=(), requires_grad=True)
d = f(a)
d.backward()
print(a.grad == d / a)
