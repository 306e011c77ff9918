"""The fast call: generated Python that runs one signature's native code with nothing
left to look up or decide, for a transform called again and again the same way.

    fast = build_fast_call(lowered, key)   # key: the signature the call was cached under
    fast(args)                              # the result, or MISS for any other arguments

A repeated call costs a few microseconds, and every bytecode shows, so the checks are
generated as straight lines (see `fast_source`): the pytree containers of each argument
unpacked by type, length and dict keys, each leaf checked against the compiled entry
point, then the native call and the result's structure built in place.
"""
from __future__ import annotations

import threading

import numpy as np

from .tensor import Tensor
from .transforms_signature import ARRAY, SCALAR, TREE, leaf_items
from .tree_util import LEAF, PyTreeDef, is_namedtuple, node_flatten, node_unflatten

#: what a fast call returns when the arguments are not exactly its signature's
MISS = object()


def build_fast_call(lowered, key: tuple, donated: frozenset[int] = frozenset()):
    """A function `fast(args) -> result | MISS` for the calls whose signature is `key`
    (as transforms_signature computes it), None when there can be none (an argument
    is static, or the entry point has no `_obj` form).

    What it checks is exactly what native code relies on, taken from the compiled
    entry point itself: a Python float where the code reads a float32 scalar (written
    into a per-thread 0-d array, as np.array(x, np.float32) would convert it), and
    elsewhere an ndarray (or the buffer of a concrete tensor that does not require
    grad) of exactly the compiled shape and dtype (dtype by identity: a foreign byte
    order or an odd dtype object misses), C-contiguous and aligned; around the leaves,
    containers of exactly the signature's types, lengths and keys.  Anything else, a
    tensor requiring grad, a list where a tuple was, a Fortran-order or misaligned
    array, a numpy scalar, is a MISS and takes the checked path, which converts it or
    raises the usual error.

    `donated` (parameter indices, as call_checked takes them): a result that the
    compiled code may write into a donated parameter's array (CompiledFunction.
    donations) is that array when, as call_checked requires, it is a writable
    ndarray sharing no memory with another argument; a tensor there is a MISS."""
    from ..runtime.buffer_pool import POOL_MIN_BYTES, allocate
    leaves = leaf_items(key)
    if leaves is None or any(item[0] not in (ARRAY, SCALAR) for item in leaves):
        return None
    entry = lowered.native().object_entry()
    if entry is None or len(entry.params) != len(leaves):
        return None
    f32 = np.dtype(np.float32)
    scalars = [i for i, item in enumerate(leaves) if item[0] == SCALAR]
    if any(entry.params[i] != ((), f32) for i in scalars):
        return None
    local = threading.local()

    def buffers() -> tuple:
        """This thread's scratch array and one float32 cell per scalar argument."""
        local.buffers = (entry.scratch(), *(np.empty((), f32) for _ in scalars))
        return local.buffers

    donate: dict[int, int] = {}  # result -> the parameter whose array it may be
    if donated:
        for j, i in lowered.native().donations().items():
            if i in donated and leaves[i][0] == ARRAY and i not in donate.values() \
                    and entry.results[j][:2] == entry.params[i]:
                donate[j] = i
    names = {"MISS": MISS, "ndarray": np.ndarray, "Tensor": Tensor, "make": Tensor._make,
             "may_share": np.may_share_memory,
             "empty": np.empty, "allocate": allocate, "entry": entry.call,
             "OFFSET": entry.offset, "local": local, "buffers": buffers}
    for i, (shape, dtype) in enumerate(entry.params):
        names[f"S{i}"], names[f"D{i}"] = shape, dtype
    for j, ((shape, dtype, nbytes), t) in enumerate(zip(entry.results, lowered.result_types)):
        names[f"R{j}"], names[f"E{j}"], names[f"N{j}"], names[f"T{j}"] = shape, dtype, nbytes, t
    trees = [item[1] if item[0] == TREE else LEAF for item in key]
    source = fast_source(trees, scalars, [n >= POOL_MIN_BYTES for _, _, n in entry.results],
                         lowered.tree, donate, names)
    exec(compile(source, f"<fast call of {lowered.optimized.name}>", "exec"), names)
    fast = names["fast"]
    fast.source = source
    return fast


def fast_source(trees: list[PyTreeDef], scalars: list[int], pooled: list[bool],
                out_tree: PyTreeDef, donate: dict[int, int] | None = None,
                names: dict | None = None) -> str:
    """The text of a fast call (see build_fast_call): `trees` is each argument's
    structure (LEAF for a plain one), `scalars` the leaves read as float32 scalars,
    `pooled` which results come from the buffer pool, `out_tree` the result's
    structure; constants the text refers to (namedtuple classes, node data) are added
    to `names`.  E.g. for ({'b': f32[5], 'w': float},) returning one tensor:

        def fast(args):
            if len(args) != 1:
                return MISS
            t0, = args
            if type(t0) is not dict or len(t0) != 2:
                return MISS
            try:
                a0 = t0['b']
                a1 = t0['w']
            except KeyError:
                return MISS
            if type(a0) is not ndarray:
                if type(a0) is not Tensor or a0._requires_grad:
                    return MISS
                a0 = a0._data  # None for an abstract tensor: the next test misses
                if type(a0) is not ndarray:
                    return MISS
            if a0.dtype is not D0 or a0.shape != S0:
                return MISS
            flags = a0.flags
            if not (flags.c_contiguous and flags.aligned):
                return MISS
            if type(a1) is not float:
                return MISS
            try:
                scratch, c1 = local.buffers
            except AttributeError:
                scratch, c1 = buffers()
            c1[()] = a1
            r0 = empty(R0, E0)
            entry(OFFSET, id(a0), id(c1), id(r0), id(scratch))
            return make(r0, T0)

    With `donate` ({result j: parameter i}), a0 donated to r0 and a1 another array:

            if type(a0) is not ndarray:
                return MISS
            ...
            w0 = flags.writeable
            ...
            if w0 and not may_share(a0, a1):
                r0 = a0
            else:
                r0 = allocate(R0, E0, N0)
    """
    donate = donate or {}
    names = {} if names is None else names
    donors = set(donate.values())
    gen = _Source(names)
    n = len(trees)
    lines = ["def fast(args):",
             f"    if len(args) != {n}:",
             "        return MISS"]
    firsts = _first_leaves(trees)
    tops = [f"a{k}" if t.is_leaf else gen.temp() for t, k in zip(trees, firsts)]
    if n:
        lines.append(f"    {_unpacking(tops)} = args")
    for var, t, k in zip(tops, trees, firsts):
        if not t.is_leaf:
            gen.unpack(var, t, k, lines)
    n_leaves = sum(t.num_leaves for t in trees)
    for i in range(n_leaves):
        a = f"a{i}"
        if i in scalars:
            lines += [f"    if type({a}) is not float:",
                      "        return MISS"]
            continue
        if i in donors:  # a tensor's buffer is never given away: the checked path
            lines += [f"    if type({a}) is not ndarray:",
                      "        return MISS"]
        else:
            lines += [f"    if type({a}) is not ndarray:",
                      f"        if type({a}) is not Tensor or {a}._requires_grad:",
                      "            return MISS",
                      f"        {a} = {a}._data",
                      f"        if type({a}) is not ndarray:",
                      "            return MISS"]
        lines += [f"    if {a}.dtype is not D{i} or {a}.shape != S{i}:",
                  "        return MISS",
                  f"    flags = {a}.flags",
                  "    if not (flags.c_contiguous and flags.aligned):",
                  "        return MISS"]
        if i in donors:
            lines.append(f"    w{i} = flags.writeable")
    cells = [f"c{i}" for i in scalars]
    buffers = _unpacking(["scratch", *cells])
    lines += ["    try:",
              f"        {buffers} = local.buffers",
              "    except AttributeError:",
              f"        {buffers} = buffers()"]
    lines += [f"    c{i}[()] = a{i}" for i in scalars]
    results = [f"r{j}" for j in range(len(pooled))]
    for j, big in enumerate(pooled):
        fresh = f"r{j} = allocate(R{j}, E{j}, N{j})" if big else f"r{j} = empty(R{j}, E{j})"
        i = donate.get(j)
        if i is None:
            lines.append("    " + fresh)
            continue
        others = [f"may_share(a{i}, a{k})" for k in range(n_leaves)
                  if k != i and k not in scalars]
        overlap = f" and not ({' or '.join(others)})" if others else ""
        lines += [f"    if w{i}{overlap}:",
                  f"        r{j} = a{i}",
                  "    else:",
                  "        " + fresh]
    passed = [f"c{i}" if i in scalars else f"a{i}" for i in range(n_leaves)] + results \
        + ["scratch"]
    lines.append(f"    entry(OFFSET, {', '.join(f'id({v})' for v in passed)})")
    tensors = iter([f"make(r{j}, T{j})" for j in range(len(pooled))])
    lines.append(f"    return {gen.build(out_tree, tensors)}")
    return "\n".join(lines) + "\n"


def _first_leaves(trees) -> list[int]:
    """The parameter index of each tree's first leaf."""
    out, k = [], 0
    for t in trees:
        out.append(k)
        k += t.num_leaves
    return out


class _Source:
    """Names for the generated text: leaves `a0, a1, ...` by parameter index,
    containers `t0, t1, ...`, and constants (`K0, ...`) put in `names`."""

    def __init__(self, names: dict):
        self.names = names
        self.temps = 0
        self.constants = 0

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps - 1}"

    def constant(self, value) -> str:
        """Source text for `value`: a literal for plain str/int keys, else a name."""
        if type(value) is str or (type(value) is int and value >= 0):
            return repr(value)
        name = f"K{self.constants}"
        self.constants += 1
        self.names[name] = value
        return name

    def unpack(self, var: str, t: PyTreeDef, first: int, lines: list) -> None:
        """Lines that check the container `var` is `t`'s node and name its children (its
        leaves are parameters `first`, `first + 1`, ...)."""
        kind, data, children = t.node_type, t.node_data()[1], t.children()
        starts = [first + k for k in _first_leaves(children)]
        kids = [f"a{k}" if c.is_leaf else self.temp() for c, k in zip(children, starts)]
        if kind is type(None):
            lines += [f"    if {var} is not None:", "        return MISS"]
        elif kind is dict:
            lines += [f"    if type({var}) is not dict or len({var}) != {len(kids)}:",
                      "        return MISS"]
            if kids:  # right length and every key present: exactly these keys
                lines.append("    try:")
                lines += [f"        {v} = {var}[{self.constant(k)}]" for v, k in zip(kids, data)]
                lines += ["    except KeyError:", "        return MISS"]
        elif kind is tuple or kind is list:
            lines += [f"    if type({var}) is not {kind.__name__} or len({var}) != {len(kids)}:",
                      "        return MISS"]
            if kids:
                lines.append(f"    {_unpacking(kids)} = {var}")
        elif is_namedtuple(kind):  # a namedtuple
            lines += [f"    if type({var}) is not {self.constant(kind)}:", "        return MISS"]
            if kids:
                lines.append(f"    {_unpacking(kids)} = {var}")
        else:  # a registered class: its own flatten, then the node data compared
            flat, aux, node = self.constant(node_flatten(kind)), self.constant(data), \
                self.constant(kind)
            lines += [f"    if type({var}) is not {node}:", "        return MISS",
                      f"    children, aux = {flat}({var})",
                      "    children = tuple(children)",
                      f"    if len(children) != {len(kids)} or aux != {aux}:",
                      "        return MISS"]
            if kids:
                lines.append(f"    {_unpacking(kids)} = children")
        for v, c, k in zip(kids, children, starts):
            if not c.is_leaf:
                self.unpack(v, c, k, lines)

    def build(self, t: PyTreeDef, leaves) -> str:
        """An expression that builds `t` around the next expressions of `leaves`."""
        kind = t.node_type
        if kind is None:
            return next(leaves)
        data = t.node_data()[1]
        items = [self.build(c, leaves) for c in t.children()]
        if kind is type(None):
            return "None"
        if kind is tuple:
            return f"({_unpacking(items)})" if items else "()"
        if kind is list:
            return f"[{', '.join(items)}]"
        if kind is dict:
            return "{" + ", ".join(f"{self.constant(k)}: {v}" for k, v in zip(data, items)) + "}"
        if is_namedtuple(kind):
            return f"{self.constant(kind)}({', '.join(items)})"
        unflatten = self.constant(node_unflatten(kind))
        return f"{unflatten}({self.constant(data)}, [{', '.join(items)}])"


def _unpacking(names: list[str]) -> str:
    """`a, b` (or `a,` for one name): a tuple's items in source text."""
    return names[0] + "," if len(names) == 1 else ", ".join(names)
