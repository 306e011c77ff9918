# Source: PyTorch docs, torch.Tensor.backward and torch.autograd.backward API pages and
#   notes/autograd.rst (gradients accumulate into .grad; retain_graph; backward of a
#   non-scalar with gradient=; https://docs.pytorch.org/docs/stable/generated/torch.Tensor.backward.html;
#   BSD-3-Clause). Written for tapegrad's corpus after those pages.
import torch

x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward(retain_graph=True)
print(x.grad)
y.backward()
print(x.grad)
x.grad = None
z = x * 2
z.backward(gradient=torch.tensor([1.0, 0.1, 0.01]))
print(x.grad)
torch.autograd.backward([(x * 2).sum(), (x ** 2).sum()], [torch.tensor(1.0), torch.tensor(0.5)])
print(x.grad)
try:
    w = (x * 3).sum()
    w.backward()
    w.backward()
except RuntimeError as e:
    print("RuntimeError:", "backward through the graph a second time" in str(e))
