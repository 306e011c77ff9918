# Source: tinygrad/tinygrad test/test_tensor.py, TestTinygrad.test_backward_pass_diamond_model:
#   the PyTorch reference half (MIT). Written for tapegrad's corpus after it: one input used on
#   two paths that meet again (a diamond), backward; the gradients are printed.
# Edits for determinism: np.random.seed(1337) (numpy's generator only).
import numpy as np
import torch

np.random.seed(1337)
x_init = np.random.randn(1, 3).astype(np.float32)
W_init = np.random.randn(3, 3).astype(np.float32)
m_init = np.random.randn(1, 3).astype(np.float32)

u = torch.tensor(x_init, requires_grad=True)
v = torch.tensor(W_init, requires_grad=True)
w = torch.tensor(m_init, requires_grad=True)
x = u.mul(v).relu()
y = u.mul(w).relu()
out = x.add(y).mul(y).relu()
out = torch.nn.functional.log_softmax(out, dim=1)
out = out.sum()
out.backward()
print(out.detach().numpy())
print(u.grad, v.grad, w.grad, sep="\n")
