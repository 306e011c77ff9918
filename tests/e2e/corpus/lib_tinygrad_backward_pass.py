# Source: tinygrad/tinygrad test/test_tensor.py, TestTinygrad.test_backward_pass: the PyTorch
#   reference half (MIT). Written for tapegrad's corpus after it: numpy-seeded inputs, a matmul,
#   relu, log_softmax, mul/add/sum chain, backward; the gradients the test compares are printed.
# Edits for determinism: np.random.seed(1337) (numpy's generator only; no torch randomness).
import numpy as np
import torch

np.random.seed(1337)
x_init = np.random.randn(1, 3).astype(np.float32)
W_init = np.random.randn(3, 3).astype(np.float32)
m_init = np.random.randn(1, 3).astype(np.float32)

x = torch.tensor(x_init, requires_grad=True)
W = torch.tensor(W_init, requires_grad=True)
m = torch.tensor(m_init)
out = x.matmul(W).relu()
out = torch.nn.functional.log_softmax(out, dim=1)
out = out.mul(m).add(m).sum()
out.backward()
print(out.detach().numpy())
print(x.grad)
print(W.grad)
