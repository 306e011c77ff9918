"""Big result arrays from a pool of blocks, each lent out until no array uses it.

    out = allocate(shape, dtype, nbytes)   # np.empty(shape, dtype), maybe a reused block

A fresh mmap of tens of MB costs a page fault per 4 KB that the loop then
writes, so results of at least POOL_MIN_BYTES come from blocks kept here.
Whether a block is still in use is decided by ownership, never by counting
references (CPython 3.14 borrows references and reports lower counts: a block
still held would be lent again, and two live results would share memory).

Each loan makes a *lease*: a small ctypes object exposing the block's memory,
from which the result array is made (np.frombuffer).  Every view of that array
(slices, reshapes, `.T`, a tensor's `.numpy()`) keeps it through its chain of
`base`s, so the lease lives exactly as long as some array can reach the memory.  A weak
reference to the lease returns the block to the pool when it dies.  The
block itself stays referenced by the loan's record meanwhile: the lease holds
only its address.
"""
from __future__ import annotations

import ctypes
import weakref

import numpy as np

#: Results at least this big come from the pool; smaller ones are one np.empty each.
POOL_MIN_BYTES = 1 << 20
#: free blocks kept per size; a block returned beyond that is released to the allocator
POOL_PER_SIZE = 4

#: nbytes -> blocks no array uses (list.append / list.pop are atomic: no lock, so a
#: lease dying on any thread, even inside allocate, cannot deadlock)
_free: dict[int, list[np.ndarray]] = {}
#: id(weak reference to a lease) -> (that weak reference, the lent block)
_lent: dict[int, tuple[weakref.ref, np.ndarray]] = {}
#: nbytes -> the ctypes array type of that size (c_char * nbytes)
_lease_types: dict[int, type] = {}


def allocate(shape, dtype, nbytes: int) -> np.ndarray:
    """np.empty(shape, dtype) (`nbytes` its size), on a pooled block when it is big."""
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dtype)
    try:
        block = _free[nbytes].pop()
    except (KeyError, IndexError):
        block = np.empty(nbytes, np.uint8)
    lease_type = _lease_types.get(nbytes)
    if lease_type is None:
        lease_type = _lease_types[nbytes] = ctypes.c_char * nbytes
    lease = lease_type.from_address(block.ctypes.data)
    ref = weakref.ref(lease, _returned)
    _lent[id(ref)] = (ref, block)
    return np.frombuffer(lease, dtype).reshape(shape)


def _returned(ref: weakref.ref) -> None:
    """The lease `ref` died: no array reaches its block any more."""
    _, block = _lent.pop(id(ref))
    blocks = _free.setdefault(block.nbytes, [])
    if len(blocks) < POOL_PER_SIZE:
        blocks.append(block)


def free_blocks(nbytes: int) -> int:
    """How many blocks of `nbytes` wait in the pool (for tests)."""
    return len(_free.get(nbytes, ()))


def lent_blocks() -> int:
    """How many blocks some live array uses (for tests)."""
    return len(_lent)
