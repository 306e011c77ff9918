"""`tg.utils.data`: PyTorch's data pipeline as the tutorials use it (importable as
`torch.utils.data` under `import tapegrad as torch`): datasets, samplers drawing
PyTorch's orders from the seeded generators, a DataLoader and default collation."""
from .dataset import (  # noqa: F401
    ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split)
from .sampler import (  # noqa: F401
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler)
from .collate import default_collate, default_convert  # noqa: F401
from .dataloader import DataLoader, get_worker_info  # noqa: F401

from ...tracer.unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("tapegrad.utils.data", "torch.utils.data")
