# Source: Stack Overflow answer to "Why pytorch autograd need another vector to backward
#   instead of computing Jacobian?" (https://stackoverflow.com/questions/63816321; CC BY-SA).
#   Written for tapegrad's corpus after it: the Jacobian built column by column with one-hot
#   vectors, backward(v, retain_graph=True), J[:, i] = x.grad.
# Edits for determinism: torch.manual_seed(0) before torch.randn (the Jacobian printed does not
#   depend on the draw: y = 2x).
import torch

torch.manual_seed(0)
x = torch.randn(3, requires_grad=True)
y = x * 2
J = torch.zeros(x.shape[0], x.shape[0])
for i in range(x.shape[0]):
    v = torch.tensor([1 if j == i else 0 for j in range(x.shape[0])], dtype=torch.float)
    y.backward(v, retain_graph=True)
    J[:, i] = x.grad
    x.grad.zero_()
print(J)
