# Source: gongchang/ML_DL_Stats_Tutorials on GitHub, the autograd notebook
#   (https://github.com/gongchang/ML_DL_Stats_Tutorials), itself after the old 60-minute blitz:
#   y = x + 2, z = y*y*3, out = z.mean(), backward; then a vector output with a gradient= vector.
#   Written for tapegrad's corpus after it.
import torch

x = torch.ones(2, 2, requires_grad=True)
print(x)
y = x + 2
print(y)
print(type(y.grad_fn).__name__)
z = y * y * 3
out = z.mean()
print(z, out)
out.backward()
print(x.grad)

x = torch.tensor([2., 5.], requires_grad=True)
print('x:', x)
y = 2*x**2
print('y:', y)
gradient_value = [1.0, 0.1]
y.backward(torch.tensor(gradient_value))
print('x.grad:', x.grad)
