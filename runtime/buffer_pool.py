"""Big result arrays from a pool of blocks, each lent out until no array uses it.

    out = allocate(shape, dtype, nbytes)   # np.empty(shape, dtype), maybe a reused block

A fresh mmap of tens of MB costs a page fault per 4 KB that the loop then
writes, so results of at least POOL_MIN_BYTES come from blocks kept here.
Whether a block is still in use is decided by ownership, never by counting
references (CPython 3.14 borrows references and reports lower counts: a block
still held would be lent again, and two live results would share memory).

Each loan makes a *lease*: a small ctypes object over the block's memory that
owns the block while it lives, and from which the result array is made
(np.ndarray(..., buffer=lease)).  Every view of that array (slices, reshapes,
`.T`, a tensor's `.numpy()`) keeps the lease through its chain of `base`s, so
the lease lives exactly as long as some array can reach the memory; when it
dies, its `__del__` puts the block back in the pool.
"""
from __future__ import annotations

import ctypes

import numpy as np

#: Results at least this big come from the pool; smaller ones are one np.empty each.
POOL_MIN_BYTES = 1 << 20
#: free blocks kept per size; a block returned beyond that is released to the allocator
POOL_PER_SIZE = 4

#: nbytes -> (block, its address) of blocks no array uses (list.append / list.pop are
#: atomic: no lock, so a lease dying on any thread, even inside allocate, cannot deadlock)
_free: dict[int, list[tuple[np.ndarray, int]]] = {}
#: nbytes -> the lease type of that size
_lease_types: dict[int, type] = {}


def allocate(shape, dtype, nbytes: int) -> np.ndarray:
    """np.empty(shape, dtype) (`nbytes` its size), on a pooled block when it is big."""
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dtype)
    lease_type = _lease_types.get(nbytes) or _new_lease_type(nbytes)
    try:
        block = _free[nbytes].pop()
    except IndexError:
        array = np.empty(nbytes, np.uint8)
        block = (array, array.ctypes.data)
    lease = lease_type.from_address(block[1])
    lease.block = block  # the lease owns the block: its memory lives as long as it does
    return np.ndarray(shape, dtype, lease)


def _new_lease_type(nbytes: int) -> type:
    """c_char * nbytes whose instances return their block to the pool when they die."""
    free = _free.setdefault(nbytes, [])

    class Lease(ctypes.c_char * nbytes):
        def __del__(self, free=free):  # bound now: still there at interpreter exit
            if len(free) < POOL_PER_SIZE:
                free.append(self.block)

    _lease_types[nbytes] = Lease
    return Lease


def free_blocks(nbytes: int) -> int:
    """How many blocks of `nbytes` wait in the pool (for tests)."""
    return len(_free.get(nbytes, ()))
