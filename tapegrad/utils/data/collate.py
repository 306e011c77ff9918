"""`default_collate`: a list of samples into a batch, as PyTorch's: tensors stacked on a
new first dim, numbers into a tensor (floats as float64, ints as int64), numpy arrays
as tensors, and dicts, tuples and lists collated field by field."""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ...ir import dtypes
from ...tracer.creation import as_tensor, tensor
from ...tracer.ops_shape import stack
from ...tracer.tensor import Tensor

_NOT_COLLATABLE = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                   "dicts or lists; found {}")


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _collate_numpy(batch: list):
    elem = batch[0]
    if elem.dtype.kind in "SaUO":
        raise TypeError(_NOT_COLLATABLE.format(elem.dtype))
    if elem.shape == ():  # numpy scalars (np.float32(1.0) and 0-d arrays)
        return as_tensor(np.array(batch))
    return default_collate([as_tensor(b) for b in batch])


def _collate_mapping(batch: list):
    elem = batch[0]
    fields = {key: default_collate([d[key] for d in batch]) for key in elem}
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(fields)
            return clone
        return type(elem)(fields)
    except TypeError:  # a mapping type that cannot be built from a dict
        return fields


def _collate_sequence(batch: list):
    elem = batch[0]
    size = len(elem)
    if any(len(e) != size for e in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    transposed = list(zip(*batch))
    if isinstance(elem, tuple):  # tuples come back as lists, as in PyTorch
        return [default_collate(samples) for samples in transposed]
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, samples in enumerate(transposed):
                clone[i] = default_collate(samples)
            return clone
        return type(elem)([default_collate(samples) for samples in transposed])
    except TypeError:
        return [default_collate(samples) for samples in transposed]


def default_collate(batch):
    """The batch of a list of samples (see the module docstring)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, (np.ndarray, np.number, np.bool_)):
        return _collate_numpy(list(batch))
    if isinstance(elem, float):
        return tensor(list(batch), dtype=dtypes.f64)
    if isinstance(elem, int):  # bool too: a bool tensor
        return tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _collate_mapping(batch)
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(batch)
    raise TypeError(_NOT_COLLATABLE.format(type(elem)))


def default_convert(data):
    """What a DataLoader without batching (batch_size=None) does to each sample: numpy
    arrays and numbers become tensors, containers are converted inside."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SaUO":
        return as_tensor(data)
    if isinstance(data, (np.number, np.bool_)):
        return as_tensor(data)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
