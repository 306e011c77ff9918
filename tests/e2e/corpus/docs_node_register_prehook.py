# Source: PyTorch docs, torch.autograd.graph.Node.register_prehook and register_hook API pages
#   (https://docs.pytorch.org/docs/stable/generated/torch.autograd.graph.Node.register_prehook.html;
#   BSD-3-Clause). Written for tapegrad's corpus after those examples.
import torch

a = torch.tensor([0., 0., 0.], requires_grad=True)
b = a.clone()
print(isinstance(b.grad_fn, torch.autograd.graph.Node))
handle = b.grad_fn.register_prehook(lambda gI: (gI[0] * 2,))
b.sum().backward(retain_graph=True)
print(a.grad)
handle.remove()
a.grad = None
b.sum().backward(retain_graph=True)
print(a.grad)

a = torch.tensor([0., 0., 0.], requires_grad=True)
b = a.clone()
handle = b.grad_fn.register_hook(lambda gI, gO: (gO[0] * 2,))
b.sum().backward(retain_graph=True)
print(a.grad)
handle.remove()
a.grad = None
b.sum().backward(retain_graph=True)
print(a.grad)
