"""The PyTorch tutorial's two-layer network ("Tensors and autograd"), run by tapegrad.

The loop below is the tutorial's code with `import tapegrad as torch`: eager
tensors, `loss.backward()` on the tape, an SGD update under `no_grad`.  At the
end it says how the backward passes ran: the eager engine interprets an adjoint
the first time it sees a tape's structure and runs native code from then on.

    python examples/two_layer_net.py
"""
import tapegrad as torch

dtype = torch.float
device = torch.device("cpu")

# N is batch size; D_in is input dimension; H is hidden dimension; D_out is output dimension.
N, D_in, H, D_out = 64, 1000, 100, 10

torch.manual_seed(0)
x = torch.randn(N, D_in, device=device, dtype=dtype)
y = torch.randn(N, D_out, device=device, dtype=dtype)
w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(500):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 0 or t == 499:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()

# How did the 500 backward passes run?  The runtime's eager tier keeps counters.
tier_stats = getattr(getattr(torch.runtime, "execute", None), "stats", None)
if tier_stats is not None:
    print(tier_stats)
    print("backward ran natively" if tier_stats.native else "backward ran on the interpreter")
else:
    print("backward ran on the interpreter (this build has no native eager tier)")
