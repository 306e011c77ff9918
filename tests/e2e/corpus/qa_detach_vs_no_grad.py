# Source: Stack Overflow answer to "Difference between detach() and with torch.no_grad() in
#   PyTorch?" (https://stackoverflow.com/questions/56816241; CC BY-SA). Written for tapegrad's
#   corpus after the answer's examples, without torchviz's make_dot (the graphs are drawn
#   there; here the leaf's gradient shows which path was kept).
import torch

x = torch.ones(2, requires_grad=True)
y = 2*x
z = 3+x
r = (y+z).sum()
r.backward()
print(x.grad)

x = torch.ones(2, requires_grad=True)
y = 2*x
z = 3+x.detach()
r = (y+z).sum()
r.backward()
print(x.grad)

x = torch.ones(2, requires_grad=True)
y = 2*x
z = 3+x.data
r = (y+z).sum()
r.backward()
print(x.grad)

print(x)
print(x.detach())

x = torch.ones(2, requires_grad=True)
with torch.no_grad():
    y = x * 2
print(y.requires_grad)
