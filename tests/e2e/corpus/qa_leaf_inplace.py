# Source: PyTorch forums, "Leaf variable was used in an inplace operation", answer 2
#   (https://discuss.pytorch.org/t/leaf-variable-was-used-in-an-inplace-operation/308/2).
#   Written for tapegrad's corpus after that answer: leaf or not, the in-place error on a leaf
#   that requires grad (its type and key phrase printed), and both work-arounds (clone, no_grad).
import torch

w = torch.tensor([1.0, 2.0, 3.0])
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x + 1
print(w.is_leaf, x.is_leaf, y.is_leaf)
try:
    x += 1
except RuntimeError as e:
    print(type(e).__name__, "a leaf Variable that requires grad" in str(e))

x2 = x.clone()
x2 += 1
print(x2)
with torch.no_grad():
    x += 1
print(x)
print(x.requires_grad, x.is_leaf)
