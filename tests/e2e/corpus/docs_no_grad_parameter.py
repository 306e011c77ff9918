# Source: PyTorch docs, torch.no_grad API page (factory functions under no_grad: a
#   torch.nn.Parameter made inside it still requires grad;
#   https://docs.pytorch.org/docs/stable/generated/torch.no_grad.html; BSD-3-Clause).
#   Written for tapegrad's corpus after that example.
import torch

x = torch.tensor([1.], requires_grad=True)
with torch.no_grad():
    a = torch.nn.Parameter(torch.ones(10))
print(a.requires_grad)
print(a)
