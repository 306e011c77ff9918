"""Which indices PyTorch's CPU topk returns among equal values.

PyTorch's kernel (ATen's topk_impl_loop) fills a queue of (value, index) pairs for
each row and reorders it with the C++ standard library, comparing values only:
`std::partial_sort` of the first k when k * 64 <= n, else `std::nth_element` at k - 1
followed (when `sorted`) by `std::sort` of the first k - 1.  Neither is stable, so
among ties the indices it keeps, and their order, are those algorithms' (GNU
libstdc++'s introselect, introsort and heap select, as PyTorch's Linux wheels are
built).  This module runs the same algorithms on the same comparisons, so tapegrad
picks the same indices.  Values are replaced by integer ranks (NaN above every
number, -0.0 equal to 0.0) and the comparison is `<` on those keys.
"""
from __future__ import annotations

import numpy as np

_THRESHOLD = 16  # libstdc++'s _S_threshold: below it, insertion sort


def topk_order(a: np.ndarray, k: int, largest: bool, sorted_: bool,
               stable: np.ndarray) -> np.ndarray:
    """A permutation of each row of `a` (last axis) whose first k entries are the indices
    PyTorch's CPU topk returns, in its order.  `stable`: the rows' stable sort order
    (NaN largest), the answer wherever no tie reaches the first k nor the cut."""
    n = a.shape[-1]
    partial = k * 64 <= n
    if k == 0:
        return stable
    if not (sorted_ or partial):
        redo = np.ones(a.shape[:-1], bool)  # nth_element's own order, ties or not
    else:
        head = np.take_along_axis(a, stable[..., :k + 1], axis=-1)
        same = head[..., 1:] == head[..., :-1]
        if head.dtype.kind == "f":
            same |= np.isnan(head[..., 1:]) & np.isnan(head[..., :-1])
        redo = same.any(axis=-1)
    if not redo.any():
        return stable
    out = stable.reshape(-1, n).copy()
    for r in np.flatnonzero(redo.reshape(-1)):
        keys = _keys(a.reshape(-1, n)[r], largest)
        queue = list(zip(keys.tolist(), range(n)))
        if partial:
            _heap_select(queue, 0, k, n, keys)
            _sort_heap(queue, 0, k)
        else:
            _nth_element(queue, k - 1)
            if sorted_:
                _sort(queue, 0, k - 1)
        out[r] = [i for _, i in queue]
    return out.reshape(a.shape)


def _keys(row: np.ndarray, largest: bool) -> np.ndarray:
    """Ranks of the row's values such that the kernel's comparison is `<` on them."""
    if row.dtype == np.bool_:
        row = row.astype(np.int64)
    if row.dtype.kind == "f":
        nan = np.isnan(row)
        _, rank = np.unique(np.where(nan, 0, row), return_inverse=True)
        rank = np.where(nan, rank.max(initial=0) + 1, rank)  # NaN above every number
    else:
        _, rank = np.unique(row, return_inverse=True)
    rank = rank.reshape(-1).astype(np.int64)
    return -rank if largest else rank


def _log2(n: int) -> int:
    return n.bit_length() - 1


# ---------------------------------------------------------------- selection and sorting


def _nth_element(q: list, nth: int) -> None:
    first, last = 0, len(q)
    if first == last or nth == last:
        return
    depth = 2 * _log2(last - first)
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _partition_pivot(q, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last)


def _sort(q: list, first: int, last: int) -> None:
    if last - first < 2:
        return
    _introsort_loop(q, first, last, 2 * _log2(last - first))
    if last - first > _THRESHOLD:
        _insertion_sort(q, first, first + _THRESHOLD)
        for i in range(first + _THRESHOLD, last):
            _linear_insert(q, i)
    else:
        _insertion_sort(q, first, last)


def _introsort_loop(q: list, first: int, last: int, depth: int) -> None:
    stack = [(first, last, depth)]  # the recursion on the right part, as a stack
    while stack:
        first, last, depth = stack.pop()
        while last - first > _THRESHOLD:
            if depth == 0:
                _heap_select(q, first, last, last)
                _sort_heap(q, first, last)
                break
            depth -= 1
            cut = _partition_pivot(q, first, last)
            stack.append((cut, last, depth))
            last = cut
            # libstdc++ recurses on [cut, last) first; the two parts are disjoint, so
            # the order they are done in changes nothing
    return


def _partition_pivot(q: list, first: int, last: int) -> int:
    mid = first + (last - first) // 2
    _median_to_first(q, first, first + 1, mid, last - 1)
    pivot = q[first][0]
    lo, hi = first + 1, last
    while True:
        while q[lo][0] < pivot:
            lo += 1
        hi -= 1
        while pivot < q[hi][0]:
            hi -= 1
        if not lo < hi:
            return lo
        q[lo], q[hi] = q[hi], q[lo]
        lo += 1


def _median_to_first(q: list, result: int, a: int, b: int, c: int) -> None:
    ka, kb, kc = q[a][0], q[b][0], q[c][0]
    if ka < kb:
        pick = b if kb < kc else c if ka < kc else a
    elif ka < kc:
        pick = a
    elif kb < kc:
        pick = c
    else:
        pick = b
    q[result], q[pick] = q[pick], q[result]


def _insertion_sort(q: list, first: int, last: int) -> None:
    for i in range(first + 1, last):
        if q[i][0] < q[first][0]:
            val = q[i]
            q[first + 1:i + 1] = q[first:i]
            q[first] = val
        else:
            _linear_insert(q, i)


def _linear_insert(q: list, last: int) -> None:
    val = q[last]
    nxt = last - 1
    while val[0] < q[nxt][0]:
        q[last] = q[nxt]
        last = nxt
        nxt -= 1
    q[last] = val


# ---------------------------------------------------------------- heaps


def _heap_select(q: list, first: int, middle: int, last: int, keys=None) -> None:
    """Keep in q[first:middle] (a heap) the least of q[first:last].  With `keys` (the
    keys of q's elements in their original places, as when q was filled) the elements
    not less than the heap's top are skipped by numpy: the top only decreases, so they
    can never enter, and the loop runs only for those that do."""
    _make_heap(q, first, middle)
    if keys is None:
        for i in range(middle, last):
            if q[i][0] < q[first][0]:
                _pop_heap(q, first, middle, i)
        return
    i, window = middle, 64
    while i < last:
        hits = np.flatnonzero(keys[i:i + window] < q[first][0])
        if not len(hits):
            i += window
            window = min(window * 2, 1 << 16)
            continue
        i += int(hits[0])
        _pop_heap(q, first, middle, i)
        i += 1
        window = 64


def _sort_heap(q: list, first: int, last: int) -> None:
    while last - first > 1:
        last -= 1
        _pop_heap(q, first, last, last)


def _make_heap(q: list, first: int, last: int) -> None:
    length = last - first
    if length < 2:
        return
    for parent in range((length - 2) // 2, -1, -1):
        _adjust_heap(q, first, parent, length, q[first + parent])


def _pop_heap(q: list, first: int, last: int, result: int) -> None:
    value = q[result]
    q[result] = q[first]
    _adjust_heap(q, first, 0, last - first, value)


def _adjust_heap(q: list, first: int, hole: int, length: int, value) -> None:
    top = second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if q[first + second][0] < q[first + second - 1][0]:
            second -= 1
        q[first + hole] = q[first + second]
        hole = second
    if length & 1 == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        q[first + hole] = q[first + second - 1]
        hole = second - 1
    parent = (hole - 1) // 2
    while hole > top and q[first + parent][0] < value[0]:
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = value
