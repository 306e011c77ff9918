# Source: PyTorch docs, torch.autograd.functional.jacobian API page examples
#   (https://docs.pytorch.org/docs/stable/generated/torch.autograd.functional.jacobian.html;
#   BSD-3-Clause). Written for tapegrad's corpus after those examples: the same functions,
#   calls and printed results.
# Edits for determinism: torch.manual_seed(0) before the random inputs.
import torch
from torch.autograd.functional import jacobian

torch.manual_seed(0)


def exp_reducer(x):
    return x.exp().sum(dim=1)


inputs = torch.rand(2, 2)
print(jacobian(exp_reducer, inputs))
print(jacobian(exp_reducer, inputs, create_graph=True))


def exp_adder(x, y):
    return 2 * x.exp() + 3 * y


inputs = (torch.rand(2), torch.rand(2))
print(jacobian(exp_adder, inputs))
print(jacobian(exp_reducer, torch.rand(2, 2), vectorize=True))
