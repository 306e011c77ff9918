# Source: PyTorch forums, "Inplace operation changes is_leaf attribute"
#   (https://discuss.pytorch.org/t/inplace-operation-changes-is-leaf-attribute/120297).
#   Written for tapegrad's corpus after the question's experiments: which in-place writes to a
#   leaf that requires grad raise (printed as the exception type), and what detach() and an
#   indexed in-place write do (PyTorch 2.13 refuses it: a view of a leaf).
# Edits for determinism: torch.ones instead of torch.randn (the values play no part) and the
#   index_copy_ case is left out.
import torch

c = torch.ones(10, 3, 2, 32, requires_grad=True)
print(c.is_leaf)
try:
    c += 1
except RuntimeError as e:
    print(type(e).__name__)
try:
    torch.add(c, 1, out=c)
except RuntimeError as e:
    print(type(e).__name__)
try:
    c.add_(1)
except RuntimeError as e:
    print(type(e).__name__)
d = c.detach()
d += 1
print(c.is_leaf)
print(c[0, 0, 0, :3])
try:
    c[:] += 1
except RuntimeError as e:
    print(type(e).__name__, "view of a leaf Variable" in str(e))
print(c.is_leaf)
