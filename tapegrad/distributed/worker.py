"""What runs on the Dask workers: the exported gradient on one shard, and the pairwise sums.

These functions travel to the workers by name (module and function), so a worker needs
tapegrad installed, never the user's loss: the loss arrives as an export payload (IR
text, tg.export), deserialized once per worker process and kept here, keyed by the
payload's sha256.  Nothing in this module imports dask.
"""
from __future__ import annotations

import hashlib
import threading

import numpy as np

from ..export import deserialize
from ..tracer.tree_util import tree_leaves

_exported: dict = {}  # sha256 of a payload -> its Exported, in this worker process
_lock = threading.Lock()


def digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def exported_for(key: str, payload: bytes):
    """The payload's Exported, deserialized (and compiled) once per process."""
    found = _exported.get(key)
    if found is None:
        with _lock:
            found = _exported.get(key)
            if found is None:
                found = deserialize(payload)
                found.native()  # compile (or load from the disk cache) once, here
                _exported[key] = found
    return found


def shard_results(key: str, payload: bytes, params: list, shard: tuple, weight: float) -> list:
    """weight * every result leaf of the exported function on (params, *shard)."""
    exported = exported_for(key, payload)
    tree = exported.in_signature[0][1] if exported.in_signature[0][0] == "tree" else None
    first = tree.unflatten(params) if tree is not None else params[0]
    out = [np.asarray(leaf.numpy()) for leaf in tree_leaves(exported.call(first, *shard))]
    if weight == 1.0:
        return out
    return [leaf * leaf.dtype.type(weight) if leaf.dtype.kind == "f" else leaf for leaf in out]


def add_results(a: list, b: list) -> list:
    """One node of the reduction tree: leafwise a + b (a on the left: a fixed order)."""
    return [x + y for x, y in zip(a, b)]


def describe_shard(shard) -> tuple:
    """(rows, ((shape, dtype name), ...)) of a shard: what the client exports for."""
    items = shard if isinstance(shard, tuple) else (shard,)
    leaves = []
    for item in items:
        a = np.asarray(item)
        leaves.append((tuple(a.shape), a.dtype.str))
    rows = leaves[0][0][0] if leaves and leaves[0][0] else 1
    return rows, tuple(leaves)


def as_tuple(shard) -> tuple:
    """A shard as the arguments after the parameters: a tuple stays, anything else is one."""
    return shard if isinstance(shard, tuple) else (shard,)


def run_shard(key: str, payload: bytes, params: list, shard, weight: float) -> list:
    """The task a step submits per shard."""
    return shard_results(key, payload, params, as_tuple(shard), weight)


def build_shard(make_shard, index: int, *args):
    """A shard from the user's function: Dask keeps this task, so it can compute it again
    elsewhere if the worker holding the result dies."""
    return make_shard(index, *args)


def pack_blocks(*blocks):
    """One shard from the matching blocks of several dask arrays."""
    return tuple(blocks) if len(blocks) > 1 else blocks[0]
