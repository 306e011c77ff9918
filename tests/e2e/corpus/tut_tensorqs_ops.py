# Source: pytorch/tutorials beginner_source/basics/tensorqs_tutorial.py ("Operations on Tensors":
#   indexing, joining, arithmetic with out=, single-element tensors, in-place; BSD-3-Clause).
#   Written for tapegrad's corpus after that program: the same calls and printed lines, plus a
#   print of the matmul and mul results (the tutorial computes them without printing).
# Edits: the accelerator move of the tutorial's newer version is kept; torch.manual_seed(0)
#   before rand_like (its values are overwritten by out=).
import torch

torch.manual_seed(0)
tensor = torch.ones(4, 4)
if torch.accelerator.is_available():
    tensor = tensor.to(torch.accelerator.current_accelerator())
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)

t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)

y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
print(y1, y2, y3)

z1 = tensor * tensor
z2 = tensor.mul(tensor)
z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(z1, z2, z3)

agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))

print(f"{tensor} \n")
tensor.add_(5)
print(tensor)
