"""What a transformed function is specialised on, and why a call missed its cache.

A signature has one item per argument:

    ("array", shape, dtype)   a tg.Tensor or numpy array (both trace the same way)
    ("scalar",)               a Python number: traced as a 0-d float32, so any value fits
    ("static", value)         an argument listed in static_argnums: its value specialises
    ("tree", treedef, items)  a pytree (tuple, list, dict, namedtuple, None, registered
                              class): its structure and one array/scalar item per leaf

Two calls with equal signatures run the same native code.  `explain_miss` compares
a new signature with the previous call's, so every miss in `cache_info()` says
what changed ("arg 0: shape (3,) -> (4,)", "arg 0['w']: shape (3, 2) -> (4, 2)",
"arg 0: keys ['b', 'w'] -> ['b', 'v', 'w']").
"""
from __future__ import annotations

import numbers
from collections import OrderedDict, deque
from dataclasses import dataclass

import numpy as np

from ..ir import dtypes
from .grad_mode import is_grad_enabled
from .tensor import Tensor
from .tree_util import keystr, structure_change, tree_flatten

ARRAY, SCALAR, STATIC, TREE = "array", "scalar", "static", "tree"

# How a call with a given signature runs (see Transformed.__call__).
NATIVE = "native"  # concrete arguments: the compiled code
TAPE = "tape"      # an argument requires grad (grad mode on): bind the IR on the eager tape
INLINE = "inline"  # an argument is abstract (inside another trace): inline the IR

_SCALAR_ITEM = (SCALAR,)
#: the numpy dtypes native code takes as they are, and the IR dtype of each
_EXACT_DTYPES = {d.np: d for d in dtypes.ALL}


class BadArgument(TypeError):
    """An argument a transform cannot trace; the caller adds the function's name and line.
    `path` is where in a pytree argument the bad leaf sits (`['layers'][2]['w']`)."""

    def __init__(self, index: int, problem: str, path: str = ""):
        super().__init__(problem)
        self.index = index
        self.problem = problem
        self.path = path


_BAD_LEAF = ("pass a tg.Tensor, a numpy array or a Python number (or a pytree of them: "
             "tuples, lists, dicts, namedtuples, None, registered classes), or list the "
             "argument in static_argnums")


def signature(args: tuple, static: frozenset[int], leaves_out: list | None = None
              ) -> tuple[tuple, str]:
    """The cache key of a call and the way it must run (NATIVE, TAPE or INLINE); the
    leaves of the non-static arguments, the native code's parameters, are appended to
    `leaves_out`."""
    items = []
    modes = [NATIVE]
    out = [] if leaves_out is None else leaves_out
    for i, a in enumerate(args):
        if i in static:
            items.append(_static_item(i, a))
            continue
        item = _leaf_item(i, a, modes)
        if item is None:
            leaves, treedef = tree_flatten(a)
            if treedef.is_leaf:
                raise BadArgument(i, f"got {type(a).__name__}; {_BAD_LEAF}")
            item = (TREE, treedef, _leaf_items(i, leaves, treedef, modes))
            out += leaves
        else:
            out.append(a)
        items.append(item)
    return tuple(items), modes[-1]


def _leaf_item(i: int, a, modes: list) -> tuple | None:
    """The item of a tensor, array or number (None for anything else); a tensor may
    change how the call runs (appended to `modes`: INLINE wins over TAPE over NATIVE)."""
    if isinstance(a, Tensor):
        if a._data is None:
            modes.append(INLINE)
        elif a._requires_grad and modes[-1] is NATIVE and is_grad_enabled():
            modes.append(TAPE)
        return (ARRAY, a._type.shape, a._type.dtype)
    if isinstance(a, np.ndarray):
        return (ARRAY, a.shape, _dtype_of(i, a))
    if isinstance(a, np.generic):  # np.float64(x): a 0-d array of its dtype, as tg.tensor
        return (ARRAY, (), _dtype_of(i, np.asarray(a)))
    if isinstance(a, (numbers.Number, np.number)) and not isinstance(a, complex):
        return _SCALAR_ITEM
    return None


def _leaf_items(i: int, leaves: list, treedef, modes: list) -> tuple:
    items = []
    for k, leaf in enumerate(leaves):
        try:
            item = _leaf_item(i, leaf, modes)
        except BadArgument as e:
            raise BadArgument(i, e.problem, keystr(treedef.paths()[k])) from None
        if item is None:
            raise BadArgument(i, f"got {type(leaf).__name__}; {_BAD_LEAF}",
                              keystr(treedef.paths()[k]))
        items.append(item)
    try:
        hash(treedef)
    except TypeError as e:
        raise BadArgument(i, f"is a pytree whose node data is not hashable ({e}); "
                             "registered classes must give hashable aux data") from None
    return tuple(items)


def plain_signature(args: tuple) -> tuple[tuple, list[np.ndarray]] | None:
    """`signature` of a call that runs natively on its arguments as they are, and the
    buffers to pass; None when the call needs `signature` and `_arrays` (the caller also
    makes sure no argument is static).

    Plain arguments are numpy arrays of the IR dtypes (native byte order), concrete
    tensors (not requiring grad while grad mode is on), Python numbers, and dicts,
    lists and tuples of them.  This is the common call, so it is worth a loop of its
    own: one type test per argument, no conversions but the float32 array a number
    becomes.
    """
    items: list = []
    arrays: list = []
    return (tuple(items), arrays) if _plain_items(args, items, arrays) else None


def _plain_items(args, items: list, arrays: list) -> bool:
    """plain_signature's loop: False as soon as an argument is not plain."""
    for a in args:
        kind = type(a)
        if kind is float or kind is int or kind is bool:
            items.append(_SCALAR_ITEM)
            arrays.append(np.array(a, np.float32))
            continue
        if kind is np.ndarray:
            data = a
        elif isinstance(a, Tensor):
            data = a._data
            if data is None or (a._requires_grad and is_grad_enabled()):
                return False
        elif kind is dict or kind is list or kind is tuple:
            leaves, treedef = tree_flatten(a)  # its leaves are no dicts, lists or tuples
            leaf_items: list = []
            if not _plain_items(leaves, leaf_items, arrays):
                return False
            items.append((TREE, treedef, tuple(leaf_items)))
            continue
        else:
            return False
        dt = _EXACT_DTYPES.get(data.dtype)
        if dt is None:
            return False
        items.append((ARRAY, data.shape, dt))  # the buffer's own type: what native code reads
        arrays.append(data)
    return True


def _static_item(i: int, value) -> tuple:
    try:
        hash(value)
    except TypeError:
        raise BadArgument(i, f"is static (static_argnums) but its value of type "
                             f"{type(value).__name__} is not hashable") from None
    return (STATIC, value)


def _dtype_of(i: int, a: np.ndarray) -> dtypes.DType:
    try:
        return dtypes.from_numpy(a.dtype)
    except TypeError as e:
        raise BadArgument(i, str(e)) from None


def explain_miss(previous: tuple | None, key: tuple) -> str:
    """Which parts of the signature differ from the previous call's."""
    if previous is None:
        return "first call"
    if len(previous) != len(key):
        return f"number of arguments {len(previous)} -> {len(key)}"
    changes = [f"arg {i}{path}: {change}" for i, (old, new) in enumerate(zip(previous, key))
               if old != new for path, change in _item_changes(old, new)]
    return "; ".join(changes) or "same signature as the previous call"


def _item_changes(old: tuple, new: tuple) -> list[tuple[str, str]]:
    """(path inside the argument, what changed) for each difference of two items."""
    if old[0] != new[0]:
        return [("", f"kind {describe(old)} -> {describe(new)}")]
    if old[0] == STATIC:
        return [("", f"static value {old[1]!r} -> {new[1]!r}")]
    if old[0] == TREE:
        if old[1] != new[1]:
            path, change = structure_change(old[1], new[1])
            return [(keystr(path), change)]
        paths = old[1].paths()
        return [(keystr(paths[k]) + p, c) for k, (a, b) in enumerate(zip(old[2], new[2]))
                if a != b for p, c in _item_changes(a, b)]
    changes = []
    if old[1] != new[1]:
        changes.append(("", f"shape {old[1]} -> {new[1]}"))
    if old[2] is not new[2]:
        changes.append(("", f"dtype {old[2].name} -> {new[2].name}"))
    return changes


def describe(item: tuple) -> str:
    if item[0] == ARRAY:
        return f"array {item[2].name}[{','.join(map(str, item[1]))}]"
    if item[0] == STATIC:
        return f"static {item[1]!r}"
    if item[0] == TREE:
        return f"pytree {repr(item[1])[len('PyTreeDef('):-1]}"
    return "scalar"


def leaf_items(key: tuple) -> list[tuple] | None:
    """The array and scalar items of a signature's leaves, in parameter order (None when
    an argument is static)."""
    out = []
    for item in key:
        if item[0] == TREE:
            out += item[2]
        elif item[0] == STATIC:
            return None
        else:
            out.append(item)
    return out


@dataclass(frozen=True)
class CacheInfo:
    """A snapshot of a transformed function's cache.

    `traces` counts calls of the Python function; `compile_seconds` is the time
    spent on misses (tracing, differentiating, optimising, generating code).
    """

    hits: int
    misses: int
    traces: int
    compile_seconds: float
    miss_reasons: tuple[str, ...]
    currsize: int
    maxsize: int | None


class SignatureCache:
    """A bounded LRU map from signature to specialisation, with the counters behind cache_info.

    `maxsize=None` never evicts.  The last MAX_REASONS miss reasons are kept, and
    as many evicted signatures, so a miss can say it is a recompilation.
    """

    MAX_REASONS = 1000

    #: the fast call of the `hot` signature (transforms_lower._build_fast_call), tried
    #: before any lookup; its hits count in `hits` but do not reorder the LRU as they
    #: happen: every other operation first moves `hot` to the end if hits were counted
    fast = None
    #: whether the last hit's signature was also the previous call's (see Transformed._call)
    repeated = False

    def __init__(self, maxsize: int | None):
        if maxsize is not None and (not isinstance(maxsize, int) or maxsize < 1):
            raise ValueError(f"cache_size must be a positive int or None, got {maxsize!r}")
        self.maxsize = maxsize
        self._entries: OrderedDict = OrderedDict()
        self._last_key: tuple | None = None
        self._cleared = False
        self._evicted: OrderedDict = OrderedDict()
        self.hits = self.misses = self.traces = 0
        self.compile_seconds = 0.0
        self.miss_reasons: deque[str] = deque(maxlen=self.MAX_REASONS)
        self._hot: tuple | None = None
        self._ordered_hits = 0  # `hits` when the LRU order last reflected every hit

    def set_fast(self, key: tuple, fast) -> None:
        """Make `fast` (a fast call of `key`'s entry, or None) the one tried first."""
        self._sync()
        self._hot = key if fast is not None else None
        self.fast = fast

    def _sync(self) -> None:
        """Fast hits since the last operation were all of `hot`: it is the most recent
        entry used (and the previous call's signature, for explain_miss)."""
        if self.hits != self._ordered_hits:
            self._ordered_hits = self.hits
            hot = self._hot
            if hot is not None:
                self._last_key = hot
            if hot is not None and self.maxsize is not None:
                try:
                    self._entries.move_to_end(hot)
                except KeyError:
                    pass

    def get(self, key: tuple):
        """The entry for `key`, counted as a hit; None (not counted) when absent."""
        if self.hits != self._ordered_hits:  # _sync's test, inline: this is the hot path
            self._sync()
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            self._ordered_hits = self.hits
            self.repeated = key == self._last_key
            self._last_key = key
            if self.maxsize is not None:
                try:
                    self._entries.move_to_end(key)
                except KeyError:  # evicted by another thread meanwhile: still a valid entry
                    pass
        return entry

    def miss(self, key: tuple) -> None:
        self._sync()
        self.misses += 1
        if self._cleared:
            reason = "cache_clear() was called"
        else:
            reason = explain_miss(self._last_key, key)
        if self._evicted.pop(key, False):
            reason += f" (compiled before, evicted from the cache of size {self.maxsize})"
        self.miss_reasons.append(reason)
        self._last_key = key
        self.repeated = False
        self._cleared = False

    def put(self, key: tuple, entry) -> None:
        self._sync()
        self._entries[key] = entry
        if self.maxsize is not None and len(self._entries) > self.maxsize:
            old, _ = self._entries.popitem(last=False)
            if old == self._hot:
                self.set_fast(None, None)
            self._evicted[old] = True
            if len(self._evicted) > self.MAX_REASONS:
                self._evicted.popitem(last=False)

    def clear(self) -> None:
        self.set_fast(None, None)
        self._entries.clear()
        self._evicted.clear()
        self._cleared = True

    def info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, self.traces, self.compile_seconds,
                         tuple(self.miss_reasons), len(self._entries), self.maxsize)
