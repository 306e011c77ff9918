# Source: PyTorch forums, "Is the type conversion differentiable?"
#   (https://discuss.pytorch.org/t/is-the-type-conversion-differentiable/45436). Written for
#   tapegrad's corpus after the thread's example: a comparison mask converted with .float()
#   blends two tensors, and the gradient flows through the blend, not the mask; a .long()
#   conversion has no grad_fn.
import torch

target = torch.tensor([0.2, 0.9])
x = torch.tensor([0.0, 1.0], requires_grad=True)
y = torch.tensor([1.0, 0.0], requires_grad=True)
diff1 = torch.abs(target - x)
diff2 = torch.abs(target - y)
mask = (diff1 < diff2).float()
print(mask, mask.requires_grad)
z = (x * mask + y * (1 - mask) * 10).sum()
z.backward()
print(x.grad)
print(y.grad)
w = x.long()
print(w, w.grad_fn)
d = x.double() * 2
print(d)
d.sum().backward()
print(x.grad)
