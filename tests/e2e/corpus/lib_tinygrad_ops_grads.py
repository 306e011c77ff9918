# Source: tinygrad/tinygrad test/test_ops.py (MIT): its helper runs each op in torch and
#   compares forward values and gradients. Written for tapegrad's corpus after a handful of its
#   cases (add, sub, mul, div, pow, sqrt, exp, log, sigmoid, tanh, relu, abs, sum/mean/max over
#   an axis, matmul, transpose/reshape): the torch half, results printed.
# Edits for determinism: np.random.seed(0) for the inputs (numpy's generator only).
import numpy as np
import torch

np.random.seed(0)


def helper(shapes, fn, low=-2.0, high=2.0):
    ts = [torch.tensor(np.random.uniform(low, high, size=s).astype(np.float32), requires_grad=True)
          for s in shapes]
    out = fn(*ts)
    out.mean().backward()
    print(out.detach())
    for t in ts:
        print(t.grad)


helper([(3, 4), (3, 4)], lambda x, y: x + y)
helper([(3, 4), (3, 4)], lambda x, y: x - y)
helper([(3, 4), (3, 4)], lambda x, y: x * y)
helper([(3, 4), (3, 4)], lambda x, y: x / y, low=0.5)
helper([(3, 4), (3, 4)], lambda x, y: x ** y, low=0.5)
helper([(3, 4)], lambda x: x.sqrt(), low=0.5)
helper([(3, 4)], lambda x: x.exp())
helper([(3, 4)], lambda x: x.log(), low=0.5)
helper([(3, 4)], lambda x: x.sigmoid())
helper([(3, 4)], lambda x: x.tanh())
helper([(3, 4)], lambda x: x.relu())
helper([(3, 4)], lambda x: x.abs())
helper([(3, 4, 5)], lambda x: x.sum(axis=1))
helper([(3, 4, 5)], lambda x: x.mean(axis=(0, 2)))
helper([(3, 4, 5)], lambda x: x.max(axis=1)[0])
helper([(3, 4), (4, 5)], lambda x, y: x.matmul(y))
helper([(3, 4)], lambda x: x.transpose(0, 1).reshape(2, 6))
helper([(3, 4)], lambda x: x.clamp(-1, 1))
helper([(3, 4)], lambda x: x.softmax(dim=1))
