"""The tutorial's two-layer network, way 1 of 3: eager `torch.nn` + `torch.optim`.

This is the "nn module" / "optim" chapters' code with `import tapegrad as torch`:
an `nn.Sequential`, `MSELoss(reduction='sum')`, `optim.Adam`, and the loop of
`zero_grad()`, `backward()`, `step()`.  After its first step, `optimizer.step()`
updates all four parameters in one compiled call (optim/fused.py).  The same
network is trained by nn_functional_compiled.py and nn_pytree_jax_style.py, from
the same weights, and prints the same losses.

    python examples/nn_eager.py
"""
import tapegrad as torch

# N is batch size; D_in is input dimension; H is hidden dimension; D_out is output dimension.
N, D_in, H, D_out = 64, 1000, 100, 10
STEPS, LEARNING_RATE = 500, 1e-4

torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(D_in, H),
    torch.nn.ReLU(),
    torch.nn.Linear(H, D_out),
)
x = torch.randn(N, D_in)
y = torch.randn(N, D_out)

loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
for t in range(STEPS):
    y_pred = model(x)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, f"{loss.item():.6g}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
