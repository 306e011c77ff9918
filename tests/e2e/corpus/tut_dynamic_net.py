# Source: pytorch/tutorials beginner_source/examples_nn/dynamic_net.py (BSD-3-Clause).
#   Written for tapegrad's corpus after that program: a module whose forward draws with
#   Python's random how many higher-order terms to add, reusing one Parameter, trained
#   with SGD and momentum; the same constants and lines.
# Edits for determinism: random.seed(0) and torch.manual_seed(0) before the model is built.
# Edits for time: 1000 steps printed every 100 (the original runs 30000, printed every 2000).
import math
import random

import torch


class DynamicNet(torch.nn.Module):
    def __init__(self):
        """Five scalar parameters; e serves every term above x^3."""
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """A 3rd, 4th or 5th order polynomial, chosen at random on each pass."""
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?'


random.seed(0)
torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = DynamicNet()

criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(1000):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
