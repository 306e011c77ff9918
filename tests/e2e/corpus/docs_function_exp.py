# Source: PyTorch docs, torch.autograd.Function API page example (class Exp)
#   (https://docs.pytorch.org/docs/stable/autograd.html#function; BSD-3-Clause). Written for
#   tapegrad's corpus after that example, with a backward pass and the printed results added
#   (the page only defines the class and calls it).
import torch
from torch.autograd import Function


class Exp(Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        result, = ctx.saved_tensors
        return grad_output * result


input = torch.tensor([0.0, 0.5, 1.0], requires_grad=True)
output = Exp.apply(input)
print(output)
output.sum().backward()
print(input.grad)
