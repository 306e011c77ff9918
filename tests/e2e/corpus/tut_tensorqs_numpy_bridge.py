# Source: pytorch/tutorials beginner_source/basics/tensorqs_tutorial.py ("Bridge with NumPy";
#   BSD-3-Clause). Written for tapegrad's corpus after that program: the same calls and lines.
import numpy as np
import torch

t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")

n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")
