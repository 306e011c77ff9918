# Source: Stack Overflow answer to "Pytorch, what are the gradient arguments"
#   (https://stackoverflow.com/questions/43451125/pytorch-what-are-the-gradient-arguments/47026836;
#   CC BY-SA). Written for tapegrad's corpus after its two examples: a vector output with a
#   gradient= argument built by the legacy torch.FloatTensor, then scalar inputs.
import torch

a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = torch.tensor([3.0, 4.0, 5.0], requires_grad=True)
c = torch.tensor([6.0, 7.0, 8.0], requires_grad=True)
y = 3*a + 2*b*b + torch.log(c)
gradients = torch.FloatTensor([0.1, 1.0, 0.0001])
y.backward(gradients, retain_graph=True)
print(a.grad)
print(b.grad)
print(c.grad)

a = torch.tensor(0.1, requires_grad=True)
b = torch.tensor(1.0, requires_grad=True)
c = torch.tensor(0.1, requires_grad=True)
y = 3*a + 2*b*b + torch.log(c)
y.backward()
print(a.grad)
print(b.grad)
print(c.grad)
