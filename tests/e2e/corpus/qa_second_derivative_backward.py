# Source: FromEssence/AI_Pytorch on GitHub, the notebook on keeping the gradient's graph
#   (https://github.com/FromEssence/AI_Pytorch): y = 2x^3 at x = 2 built by writing into
#   torch.ones(1), the second derivative two ways (autograd.grad with create_graph, and
#   backward(create_graph=True) then the first derivative's backward). Written for tapegrad's
#   corpus after it; the printed labels are in English here.
import torch

x = torch.ones(1)
x[0] = 2
x.requires_grad = True
y = 2*x*x*x
d1 = torch.autograd.grad(y, x, create_graph=True)[0]
print(d1.grad)
print('first derivative:', d1)
d2 = torch.autograd.grad(d1, x)[0]
print('second derivative:', d2)

x = torch.ones(1)
x[0] = 2
x.requires_grad = True
y = 2*x*x*x
y.backward(create_graph=True, retain_graph=True)
d1 = x.grad
print('first derivative:', d1)
x.grad = None
d1.backward(create_graph=True)
print('second derivative:', x.grad)
