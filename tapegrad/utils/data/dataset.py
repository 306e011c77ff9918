"""Datasets: the map-style `Dataset` protocol, `TensorDataset`, `Subset`,
`ConcatDataset`, `IterableDataset`, and `random_split` in PyTorch's order."""
from __future__ import annotations

import bisect
import itertools
import math
import warnings

from ...tracer.random_generator import default_generator
from ...tracer.random_ops import randperm
from ...tracer.tensor import Tensor


class Dataset:
    """A map from indices to samples: subclasses define `__getitem__` (and usually
    `__len__`, which samplers need)."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define `__iter__`; a DataLoader batches what it
    yields in order (no sampler, no shuffle)."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        raise NotImplementedError("ChainDataset (IterableDataset + IterableDataset) is not "
                                  "supported by tapegrad yet")


class TensorDataset(Dataset):
    """Sample i is the tuple of each tensor's row i; all tensors share their first size."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        if any(not isinstance(t, Tensor) or t.ndim == 0 for t in tensors):
            raise TypeError("TensorDataset takes tensors of at least one dimension")
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            sizes = [t.shape[0] for t in tensors]
            raise AssertionError(f"Size mismatch between tensors (first sizes {sizes})")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        inner = getattr(self.dataset, "__getitems__", None)
        if callable(inner):
            return inner([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets one after another (`ds1 + ds2`)."""

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def _split_lengths(n: int, lengths) -> list:
    """Fractions summing to 1 become counts floor(n * f), the remainder handed out one
    by one from the first split on, as PyTorch's."""
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=3)
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input "
                         "dataset!")
    return lengths


def random_split(dataset, lengths, generator=default_generator) -> list:
    """Disjoint Subsets of the given lengths (or fractions) over one permutation drawn
    from `generator` (the global one by default), so seeded splits equal PyTorch's."""
    lengths = _split_lengths(len(dataset), lengths)
    indices = randperm(sum(lengths), generator=generator).tolist()
    return [Subset(dataset, indices[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
