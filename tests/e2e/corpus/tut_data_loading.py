# Source: pytorch/tutorials beginner_source/basics/data_tutorial.py (BSD-3-Clause).
#   Written for tapegrad's corpus after that chapter ("Datasets & DataLoaders"): a map-style
#   Dataset, random samples drawn with torch.randint, a custom Dataset with transform and
#   target_transform, DataLoader(batch_size=64, shuffle=True) and one batch from it.
# Edits for a test without downloads or plots: FashionMNIST is replaced by generated
#   28x28 uint8 images (a Dataset class with FashionMNIST's interface and ToTensor's
#   scaling), the custom dataset reads its annotations and images from memory instead of
#   a CSV file and image files, and each plt.imshow/title prints the label and the image's
#   size and mean instead. torch.manual_seed(0) first.
import torch
from torch.utils.data import Dataset

torch.manual_seed(0)


def to_tensor(image):
    """ToTensor: a (28, 28) uint8 image as a (1, 28, 28) float image in [0, 1]."""
    return image.unsqueeze(0).float() / 255


class GeneratedFashion(Dataset):
    """Stands in for datasets.FashionMNIST: images and integer labels."""

    def __init__(self, train=True, transform=None):
        n = 600 if train else 100
        self.data = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8)
        self.targets = torch.randint(0, 10, (n,))
        self.transform = transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        img, target = self.data[idx], int(self.targets[idx])
        if self.transform is not None:
            img = self.transform(img)
        return img, target


training_data = GeneratedFashion(train=True, transform=to_tensor)
test_data = GeneratedFashion(train=False, transform=to_tensor)

labels_map = {
    0: "T-Shirt",
    1: "Trouser",
    2: "Pullover",
    3: "Dress",
    4: "Coat",
    5: "Sandal",
    6: "Shirt",
    7: "Sneaker",
    8: "Bag",
    9: "Ankle Boot",
}
cols, rows = 3, 3
for i in range(1, cols * rows + 1):
    sample_idx = torch.randint(len(training_data), size=(1,)).item()
    img, label = training_data[sample_idx]
    print(i, sample_idx, labels_map[label], img.squeeze().shape, f"{img.mean().item():.4f}")


class CustomImageDataset(Dataset):
    def __init__(self, annotations, images, transform=None, target_transform=None):
        self.img_labels = annotations
        self.images = images
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        name, label = self.img_labels[idx]
        image = self.images[name]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


annotations = [(f"tshirt{i}.jpg", int(test_data.targets[i])) for i in range(len(test_data))]
images = {name: test_data.data[i] for i, (name, _) in enumerate(annotations)}
custom = CustomImageDataset(annotations, images, transform=to_tensor,
                            target_transform=lambda y: torch.tensor(y, dtype=torch.float))
image, label = custom[3]
print(len(custom), image.shape, label)

from torch.utils.data import DataLoader

train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)

train_features, train_labels = next(iter(train_dataloader))
print(f"Feature batch shape: {train_features.size()}")
print(f"Labels batch shape: {train_labels.size()}")
img = train_features[0].squeeze()
label = train_labels[0]
print(img.shape, f"{img.sum().item():.3f}")
print(f"Label: {label}")
print(train_labels)

custom_loader = DataLoader(custom, batch_size=16, shuffle=True)
for batch, (X, y) in enumerate(custom_loader):
    print(batch, X.shape, y.dtype, y.tolist())
print(len(train_dataloader), len(test_dataloader), len(custom_loader))
