# Source: PyTorch docs, notes/autograd.rst "Hooks for saved tensors" and the
#   torch.autograd.graph.saved_tensors_hooks API page
#   (https://docs.pytorch.org/docs/stable/notes/autograd.html#hooks-for-saved-tensors;
#   BSD-3-Clause). Written for tapegrad's corpus after those examples.
import torch


def pack_hook(x):
    print("Packing", x)
    return x


def unpack_hook(x):
    print("Unpacking", x)
    return x


a = torch.ones(5, requires_grad=True)
b = torch.ones(5, requires_grad=True) * 2
with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    y = a * b
y.sum().backward()
print(a.grad, b.grad if b.is_leaf else None)

x = torch.ones(5, requires_grad=True)
with torch.autograd.graph.save_on_cpu():
    z = x.pow(2).sum()
z.backward()
print(x.grad)
