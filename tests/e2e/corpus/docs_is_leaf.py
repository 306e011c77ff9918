# Source: PyTorch docs, torch.Tensor.is_leaf API page
#   (https://docs.pytorch.org/docs/stable/generated/torch.Tensor.is_leaf.html; BSD-3-Clause).
#   Written for tapegrad's corpus after that example. The `.cuda()` lines of the page are not
#   included (no GPU here); the others print the flag the page states in its comments.
import torch

a = torch.rand(10, requires_grad=True)
print(a.is_leaf)
c = torch.rand(10, requires_grad=True) + 2
print(c.is_leaf)
d = torch.rand(10)
print(d.is_leaf)
e = torch.rand(10).requires_grad_()
print(e.is_leaf)
