# Source: pytorch/tutorials beginner_source/basics/quickstart_tutorial.py (BSD-3-Clause).
#   Written for tapegrad's corpus after that chapter ("Quickstart"): data through
#   DataLoaders, a model, its train and test functions and a prediction, here as the short
#   end-to-end model of issue 16: nn.Sequential, nn.CrossEntropyLoss and torch.optim.Adam.
# Edits: generated data instead of FashionMNIST (three classes of 2-d points on noisy
#   interleaved spirals, in TensorDatasets, shuffled by the seeded generator); the model is
#   a Sequential of Linear, BatchNorm1d, ReLU, Dropout and Linear layers trained with Adam
#   (the chapter: a NeuralNetwork module and SGD); 8 epochs; no saving. The first Linear
#   has no bias: BatchNorm1d cancels it, so its gradient is rounding noise that Adam's
#   normalised step turns into steps of size lr in directions no two libraries share. torch.manual_seed(0)
#   first.
import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def spirals(n):
    """n points per class on three interleaved spiral arms, with Gaussian noise."""
    t = torch.rand(3, n) * 3 + 0.5
    angle = t * 2.0 + torch.arange(3).unsqueeze(1) * (2 * math.pi / 3)
    points = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=-1)
    points = points + 0.15 * torch.randn(3, n, 2)
    labels = torch.arange(3).unsqueeze(1).expand(3, n).reshape(-1)
    return points.reshape(-1, 2), labels


training_data = TensorDataset(*spirals(160))
test_data = TensorDataset(*spirals(40))
classes = ["arm A", "arm B", "arm C"]

batch_size = 32
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")

model = nn.Sequential(
    nn.Linear(2, 64, bias=False),  # BatchNorm1d's shift makes a bias here redundant
    nn.BatchNorm1d(64),
    nn.ReLU(),
    nn.Dropout(0.1),
    nn.Linear(64, 64),
    nn.ReLU(),
    nn.Linear(64, 3),
).to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 5 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


epochs = 8
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")

print(list(model.state_dict())[:8])
print(model[1].num_batches_tracked, model[1].running_mean[:4])

model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model(x.unsqueeze(0))
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')
