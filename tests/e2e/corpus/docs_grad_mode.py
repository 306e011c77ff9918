# Source: PyTorch docs, notes/autograd.rst ("Locally disabling gradient computation") and the
#   torch.no_grad / torch.enable_grad / torch.set_grad_enabled / torch.inference_mode API pages
#   (https://docs.pytorch.org/docs/stable/notes/autograd.html; BSD-3-Clause). Written for
#   tapegrad's corpus after those examples: the same calls, each printed.
import torch

x = torch.tensor([1.], requires_grad=True)
with torch.no_grad():
    y = x * 2
print(y.requires_grad)


@torch.no_grad()
def doubler(x):
    return x * 2


z = doubler(x)
print(z.requires_grad)


@torch.no_grad
def tripler(x):
    return x * 3


z = tripler(x)
print(z.requires_grad)

x = torch.tensor([1.], requires_grad=True)
with torch.no_grad():
    with torch.enable_grad():
        y = x * 2
print(y.requires_grad)
y.backward()
print(x.grad)


@torch.enable_grad()
def doubler2(x):
    return x * 2


with torch.no_grad():
    z = doubler2(x)
print(z.requires_grad)


@torch.enable_grad
def tripler2(x):
    return x * 3


with torch.no_grad():
    z = tripler2(x)
print(z.requires_grad)

x = torch.tensor([1.], requires_grad=True)
is_train = False
with torch.set_grad_enabled(is_train):
    y = x * 2
print(y.requires_grad)
_ = torch.set_grad_enabled(True)
y = x * 2
print(y.requires_grad)
_ = torch.set_grad_enabled(False)
y = x * 2
print(y.requires_grad)
_ = torch.set_grad_enabled(True)

x = torch.ones(1, 2, 3, requires_grad=True)
with torch.inference_mode():
    y = x * x
print(y.requires_grad)


@torch.inference_mode()
def func(x):
    return x * x


out = func(x)
print(out.requires_grad)
print(torch.is_grad_enabled())
