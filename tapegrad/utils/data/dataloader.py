"""`DataLoader`: batches of a dataset in a sampler's order, collated.

Each epoch (each `iter(loader)`) first draws a 64-bit base seed from the loader's
generator (the global one by default), as PyTorch's iterator does for its workers, so
the global stream advances as it does under PyTorch even without shuffling. Samples
are always fetched in this process: `num_workers > 0` runs the same fetches serially
(the same batches in the same order; no worker processes, so `worker_init_fn` is not
called and `get_worker_info()` is None).
"""
from __future__ import annotations

import numpy as np

from ...ir import dtypes
from ...tracer.creation import empty, from_numpy
from .collate import default_collate, default_convert
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler


def get_worker_info():
    """None: samples are always loaded in the main process."""
    return None


class _InfiniteConstantSampler:
    """The sampler of an IterableDataset: None forever (the dataset drives the order)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset, self.num_workers, self.pin_memory = dataset, num_workers, pin_memory
        self.timeout, self.worker_init_fn, self.generator = timeout, worker_init_fn, generator
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)  # a TypeError when the stream has no length
            if self.batch_size is not None:
                whole, rest = divmod(length, self.batch_size)
                length = whole if self.drop_last or not rest else whole + 1
            return length
        return len(self._index_sampler)

    def __iter__(self):
        indices = iter(self._index_sampler)
        empty((), dtype=dtypes.i64).random_(generator=self.generator)  # the base seed
        return self._batches(indices)

    def _batches(self, indices):
        if self._iterable:
            yield from self._stream_batches(indices)
            return
        getitems = getattr(self.dataset, "__getitems__", None)
        gather = self._whole_batch_gather()
        for index in indices:
            if gather is not None:
                yield gather(index)
            elif not self._auto_collation:
                yield self.collate_fn(self.dataset[index])
            elif callable(getitems):
                yield self.collate_fn(getitems(index))
            else:
                yield self.collate_fn([self.dataset[i] for i in index])

    def _whole_batch_gather(self):
        """For a TensorDataset of tensors without history under default collation: each
        batch's rows taken at once from each tensor's array (no autograd is involved),
        the values, dtypes and list that stacking the rows one by one gives, in about
        1/100 of the time for 64 rows."""
        ds = self.dataset
        if type(ds) is not TensorDataset or self.collate_fn is not default_collate \
                or any(t.requires_grad for t in ds.tensors):
            return None
        arrays = [t.numpy() for t in ds.tensors]

        def gather(index):
            rows = np.asarray(index, dtype=np.int64)
            return [from_numpy(np.ascontiguousarray(a[rows])) for a in arrays]
        return gather

    def _stream_batches(self, indices):
        stream = iter(self.dataset)
        for index in indices:
            if not self._auto_collation:
                try:
                    sample = next(stream)
                except StopIteration:
                    return
                yield self.collate_fn(sample)
                continue
            batch = []
            for _ in index:
                try:
                    batch.append(next(stream))
                except StopIteration:
                    break
            if not batch or (self.drop_last and len(batch) < len(index)):
                return
            yield self.collate_fn(batch)
