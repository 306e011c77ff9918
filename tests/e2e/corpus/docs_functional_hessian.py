# Source: PyTorch docs, torch.autograd.functional.hessian API page examples
#   (https://docs.pytorch.org/docs/stable/generated/torch.autograd.functional.hessian.html;
#   BSD-3-Clause). Written for tapegrad's corpus after those examples.
# Edits for determinism: torch.manual_seed(0) before the random inputs.
import torch
from torch.autograd.functional import hessian

torch.manual_seed(0)


def pow_reducer(x):
    return x.pow(3).sum()


inputs = torch.rand(2, 2)
print(hessian(pow_reducer, inputs))
print(hessian(pow_reducer, inputs, create_graph=True))


def pow_adder_reducer(x, y):
    return (2 * x.pow(2) + 3 * y.pow(2)).sum()


inputs = (torch.rand(2), torch.rand(2))
print(hessian(pow_adder_reducer, inputs))
