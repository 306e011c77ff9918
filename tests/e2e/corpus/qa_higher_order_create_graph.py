# Source: fxnnxc/torch_autograd on GitHub, "Torch High-order Derivates with create_graph"
#   notebook (https://github.com/fxnnxc/torch_autograd). Written for tapegrad's corpus after
#   its first cell: f = 2x^3 at x = -2, the first derivative by backward, the second, third and
#   fourth by torch.autograd.grad(create_graph=True) then backward(gradient=...).
import torch

v = -2.0
x = torch.tensor(v, requires_grad=True)
f = 2 * x**3
print(f"x={v},         f = {f}")

f.backward(retain_graph=True)
print(f"x={v},     df/dx = {x.grad}")

x.grad.zero_()
df = torch.autograd.grad(f, x, create_graph=True)[0]
df.backward(gradient=torch.tensor(1.0))
print(f"x={v}, d^2f/dx^2 = {x.grad}")

x.grad.zero_()
df = torch.autograd.grad(f, x, create_graph=True)[0]
ddf = torch.autograd.grad(df, x, create_graph=True)[0]
ddf.backward(gradient=torch.tensor(1.0))
print(f"x={v}, d^3f/dx^3 = {x.grad}")

x.grad.zero_()
df = torch.autograd.grad(f, x, create_graph=True)[0]
ddf = torch.autograd.grad(df, x, create_graph=True)[0]
dddf = torch.autograd.grad(ddf, x, create_graph=True)[0]
dddf.backward(gradient=torch.tensor(1.0))
print(f"x={v}, d^4f/dx^4 = {x.grad}")
