# Source: karpathy/micrograd test/test_engine.py, test_sanity_check: the PyTorch half of the
#   test (MIT). Written for tapegrad's corpus after it: the same expression built with
#   torch.Tensor([...]).double() and `x.requires_grad = True`; the values micrograd asserts
#   against are printed instead of compared with micrograd's Value.
import torch

x = torch.Tensor([-4.0]).double()
x.requires_grad = True
z = 2 * x + 2 + x
q = z.relu() + z * x
h = (z * z).relu()
y = h + q + q * x
y.backward()
xpt, ypt = x, y
print(ypt.data.item())
print(xpt.grad.item())
