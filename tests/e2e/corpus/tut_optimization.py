# Source: pytorch/tutorials beginner_source/basics/optimization_tutorial.py (BSD-3-Clause).
#   Written for tapegrad's corpus after that chapter ("Optimizing Model Parameters"): the
#   chapter's NeuralNetwork trained with CrossEntropyLoss and torch.optim.SGD through
#   its train_loop and test_loop over DataLoaders; the same hyperparameters and lines.
# Edits for a test without downloads: FashionMNIST is replaced by generated 28x28 images,
#   384 for training and 128 for testing (each a noisy copy of its class's random
#   pattern, so there is something to learn). Edits for time: 3 epochs instead of 10, the
#   loss printed every 2 batches instead of every 100 (an epoch has 6).
#   torch.manual_seed(0) first.
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
patterns = torch.rand(10, 28, 28)


class GeneratedFashion(Dataset):
    """Stands in for datasets.FashionMNIST(transform=ToTensor()): (1, 28, 28) images."""

    def __init__(self, n):
        self.targets = torch.randint(0, 10, (n,))
        noise = torch.rand(n, 28, 28)
        self.data = (0.3 * patterns[self.targets] + 0.7 * noise).unsqueeze(1)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, idx):
        return self.data[idx], int(self.targets[idx])


training_data = GeneratedFashion(384)
test_data = GeneratedFashion(128)

train_dataloader = DataLoader(training_data, batch_size=64)
test_dataloader = DataLoader(test_data, batch_size=64)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork()

learning_rate = 1e-3
batch_size = 64
epochs = 5


def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    # Set the model to training mode - important for batch normalization and dropout layers
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        # Compute prediction and loss
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 2 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    # Set the model to evaluation mode - important for batch normalization and dropout layers
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0

    # Evaluating the model with torch.no_grad() ensures that no gradients are computed
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()

    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

epochs = 3
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train_loop(train_dataloader, model, loss_fn, optimizer)
    test_loop(test_dataloader, model, loss_fn)
print("Done!")
