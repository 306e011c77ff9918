"""Pytrees, with JAX's semantics: nested containers whose leaves the transforms trace.

    leaves, treedef = tree_flatten({'w': w, 'b': b})   # [b, w], PyTreeDef({'b': *, 'w': *})
    tree_unflatten(treedef, [db, dw])                   # {'b': db, 'w': dw}
    tree_map(lambda p, g: p - 0.1 * g, params, grads)

Containers are tuples, lists, dicts (children in sorted key order, as JAX), namedtuples
(rebuilt as the same namedtuple), OrderedDicts and defaultdicts (as JAX registers them),
`None` (a node with no children) and the classes given to `register_pytree_node` or
`register_dataclass`.  A container is recognised by its exact type, as in JAX: a dict
subclass nobody registered is a leaf.  Everything else is a leaf, and leaves come back
as the very objects that went in.

A `PyTreeDef` is immutable, hashable and compares equal exactly when two trees have
the same shape of containers (types, dict keys, node data), so transforms key their
caches on it; `structure_change` says where two of them differ, for miss reasons.
"""
from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict
from typing import Any, Callable, NamedTuple

__all__ = [
    "PyTreeDef", "DictKey", "SequenceKey", "GetAttrKey", "FlattenedIndexKey", "keystr",
    "tree_flatten", "tree_flatten_with_path", "tree_leaves", "tree_leaves_with_path",
    "tree_map", "tree_structure", "tree_unflatten", "treedef_tuple",
    "register_dataclass", "register_pytree_node", "register_pytree_node_class",
]


# ---------------------------------------------------------------- key paths


@dataclasses.dataclass(frozen=True)
class DictKey:
    """The path step into a dict's entry: prints as `['w']`."""
    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """The path step into a tuple's or list's item: prints as `[2]`."""
    idx: int

    def __str__(self) -> str:
        return f"[{self.idx}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """The path step into a namedtuple's or dataclass's field: prints as `.x`."""
    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """The path step into a registered class's i-th child."""
    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


def keystr(path) -> str:
    """A key path as text, JAX's way: `['layers'][2]['w']`."""
    return "".join(str(k) for k in path)


# ---------------------------------------------------------------- the registry


class _Node(NamedTuple):
    """How one container type flattens: `flatten(x) -> (children, aux)`,
    `unflatten(aux, children) -> x`, and `keys(aux, n)`, the path step to each child."""
    flatten: Callable
    unflatten: Callable
    keys: Callable
    name: str  # as PyTreeDef's repr shows a custom node: `CustomNode(name[aux], ...)`


def _flat_keys(aux, n: int) -> list:
    return [FlattenedIndexKey(i) for i in range(n)]


def _sorted_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError as e:
        raise ValueError(f"the keys of a dict in a pytree must be sortable (JAX sorts "
                         f"them): {e}") from None


def _dict_flatten(d: dict) -> tuple[list, tuple]:
    keys = _sorted_keys(d)
    return [d[k] for k in keys], keys


_REGISTRY: dict[type, _Node] = {
    tuple: _Node(lambda t: (t, None), lambda aux, ch: tuple(ch),
                 lambda aux, n: [SequenceKey(i) for i in range(n)], "tuple"),
    list: _Node(lambda t: (t, None), lambda aux, ch: list(ch),
                lambda aux, n: [SequenceKey(i) for i in range(n)], "list"),
    dict: _Node(lambda d: _dict_flatten(d),
                lambda keys, ch: dict(zip(keys, ch)),
                lambda keys, n: [DictKey(k) for k in keys], "dict"),
    type(None): _Node(lambda t: ((), None), lambda aux, ch: None, lambda aux, n: [], "None"),
    OrderedDict: _Node(lambda d: (list(d.values()), tuple(d)),
                       lambda keys, ch: OrderedDict(zip(keys, ch)),
                       lambda keys, n: [DictKey(k) for k in keys], "OrderedDict"),
    defaultdict: _Node(lambda d: ([d[k] for k in _sorted_keys(d)],
                                  (d.default_factory, _sorted_keys(d))),
                       lambda aux, ch: defaultdict(aux[0], zip(aux[1], ch)),
                       lambda aux, n: [DictKey(k) for k in aux[1]], "defaultdict"),
}
_BUILTIN = frozenset((tuple, list, dict, type(None)))


def _namedtuple_node(cls: type) -> _Node:
    return _Node(lambda t: (tuple(t), None), lambda aux, ch: cls(*ch),
                 lambda aux, n: [GetAttrKey(f) for f in cls._fields],
                 f"namedtuple[{cls.__name__}]")


def is_namedtuple(cls: type) -> bool:
    """Whether `cls` flattens as a namedtuple (one not registered some other way)."""
    return cls not in _REGISTRY and issubclass(cls, tuple) and hasattr(cls, "_fields")


def _node_of(cls: type) -> _Node | None:
    """The registry entry of a container type, None for a leaf type.  A namedtuple's is
    made when asked (not kept: a class made on the fly may go away)."""
    node = _REGISTRY.get(cls)
    if node is None and issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _namedtuple_node(cls)
    return node


def node_flatten(kind: type) -> Callable:
    """The flatten function of a container type: `x -> (children, aux)`."""
    return _node_of(kind).flatten


def node_unflatten(kind: type) -> Callable:
    """The unflatten function of a container type: `(aux, children) -> x`."""
    return _node_of(kind).unflatten


def register_pytree_node(nodetype: type, flatten_func: Callable, unflatten_func: Callable,
                         flatten_with_keys_func: Callable | None = None) -> None:
    """Make `nodetype` a container: `flatten_func(x) -> (children, aux_data)` and
    `unflatten_func(aux_data, children) -> x`, JAX's signatures.  `aux_data` is part of
    the structure (compared and hashed); the children are pytrees themselves.
    (`flatten_with_keys_func` is accepted for JAX's signature; paths use flat indices.)"""
    if not isinstance(nodetype, type):
        raise TypeError(f"register_pytree_node expects a class, got {nodetype!r}")
    if nodetype in _REGISTRY:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _REGISTRY[nodetype] = _Node(flatten_func, unflatten_func, _flat_keys, nodetype.__name__)


def register_pytree_node_class(cls: type) -> type:
    """A class decorator: `cls.tree_flatten(self)` and the classmethod
    `cls.tree_unflatten(aux, children)` make it a container."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(nodetype: type | None = None, data_fields=None, meta_fields=None,
                       drop_fields=()):
    """Make a dataclass a container, as JAX's: `data_fields` are children,
    `meta_fields` are part of the structure (hashable); without them, the fields
    whose metadata says `static=True` are meta and the others data.  A decorator
    too (with or without arguments)."""
    if nodetype is None:
        return lambda cls: register_dataclass(cls, data_fields, meta_fields, drop_fields)
    if data_fields is None or meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass, so "
                            "data_fields and meta_fields must be given")
        fields = [f for f in dataclasses.fields(nodetype) if f.init and f.name not in drop_fields]
        data = [f.name for f in fields if not f.metadata.get("static", False)]
        meta = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = data if data_fields is None else data_fields
        meta_fields = meta if meta_fields is None else meta_fields
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    if set(data_fields) & set(meta_fields):
        raise ValueError(f"register_dataclass: {sorted(set(data_fields) & set(meta_fields))} "
                         "are both data and meta fields")

    def flatten(x):
        return ([getattr(x, f) for f in data_fields],
                tuple(getattr(x, f) for f in meta_fields))

    def unflatten(meta, children):
        return nodetype(**dict(zip(data_fields, children)), **dict(zip(meta_fields, meta)))

    register_pytree_node(nodetype, flatten, unflatten)
    _REGISTRY[nodetype] = _REGISTRY[nodetype]._replace(
        keys=lambda aux, n: [GetAttrKey(f) for f in data_fields])
    return nodetype


# ---------------------------------------------------------------- PyTreeDef


class PyTreeDef:
    """The structure of a pytree: its containers and where its leaves go, without them."""

    __slots__ = ("node_type", "_data", "_children", "num_leaves", "num_nodes", "_hash")

    def __init__(self, node_type: type | None, data, children: tuple):
        self.node_type = node_type  # None for a leaf
        self._data = data
        self._children = children
        leaves, nodes = (1 if node_type is None else 0), 1
        for c in children:
            leaves += c.num_leaves
            nodes += c.num_nodes
        self.num_leaves, self.num_nodes = leaves, nodes
        self._hash = None

    # -- reading
    def children(self) -> list[PyTreeDef]:
        return list(self._children)

    def node_data(self):
        """(type, aux data), as JAX's; None for a leaf."""
        return None if self.node_type is None else (self.node_type, self._data)

    @property
    def is_leaf(self) -> bool:
        return self.node_type is None

    def unflatten(self, leaves) -> Any:
        """The tree of this structure around `leaves` (the same objects, in order)."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            much = "few" if len(leaves) < self.num_leaves else "many"
            raise ValueError(f"Too {much} leaves for {self!r}; expected {self.num_leaves}, "
                             f"got {len(leaves)}")
        return _build(self, iter(leaves))

    def flatten_up_to(self, tree) -> list:
        """The subtrees of `tree` where this structure has leaves (this structure must be
        a prefix of `tree`'s)."""
        out: list = []
        _up_to(self, tree, (), out)
        return out

    def paths(self) -> list[tuple]:
        """The key path of each leaf, in leaf order."""
        out: list = []
        _paths(self, (), out)
        return out

    # -- identity
    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return (self.node_type is other.node_type and self.num_nodes == other.num_nodes
                and self._children == other._children and self._data == other._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.node_type, self._data, self._children))
        return self._hash

    def __repr__(self) -> str:
        return f"PyTreeDef({_text(self)})"

    def __reduce__(self):
        return PyTreeDef, (self.node_type, self._data, self._children)


LEAF = PyTreeDef(None, None, ())
_NONE = PyTreeDef(type(None), None, ())


def _text(t: PyTreeDef) -> str:
    kind = t.node_type
    if kind is None:
        return "*"
    if kind is type(None):
        return "None"
    items = [_text(c) for c in t._children]
    if kind is tuple:
        return "(" + (items[0] + "," if len(items) == 1 else ", ".join(items)) + ")"
    if kind is list:
        return "[" + ", ".join(items) + "]"
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {s}" for k, s in zip(t._data, items)) + "}"
    name = _node_of(kind).name
    if not name.startswith("namedtuple["):
        name += f"[{t._data}]"
    return f"CustomNode({name}, [{', '.join(items)}])"


def _build(t: PyTreeDef, leaves):
    kind = t.node_type
    if kind is None:
        return next(leaves)
    children = [_build(c, leaves) for c in t._children]
    if kind is dict:  # the common containers without the registry's indirection
        return dict(zip(t._data, children))
    if kind is list:
        return children
    if kind is tuple:
        return tuple(children)
    return _node_of(kind).unflatten(t._data, children)


def _paths(t: PyTreeDef, prefix: tuple, out: list) -> None:
    if t.node_type is None:
        out.append(prefix)
        return
    keys = _node_of(t.node_type).keys(t._data, len(t._children))
    for k, c in zip(keys, t._children):
        _paths(c, prefix + (k,), out)


def _up_to(t: PyTreeDef, tree, prefix: tuple, out: list) -> None:
    if t.node_type is None:
        out.append(tree)
        return
    if type(tree) is not t.node_type:
        raise ValueError(f"pytree structure error: at {keystr(prefix) or 'the root'} expected "
                         f"{describe_node(t)}, got {type(tree).__name__}")
    children, data = _node_of(t.node_type).flatten(tree)
    children = list(children)
    if data != t._data or len(children) != len(t._children):
        other = tree_structure(tree)
        raise ValueError(f"pytree structure error: at {keystr(prefix) or 'the root'} "
                         f"{structure_change(t, other)[1]}")
    keys = _node_of(t.node_type).keys(t._data, len(children))
    for k, c, sub in zip(keys, t._children, children):
        _up_to(c, sub, prefix + (k,), out)


def treedef_tuple(treedefs) -> PyTreeDef:
    """The structure of a tuple whose items have the structures `treedefs`."""
    return PyTreeDef(tuple, None, tuple(treedefs))


# ---------------------------------------------------------------- flattening


def tree_flatten(tree, is_leaf: Callable | None = None) -> tuple[list, PyTreeDef]:
    """The leaves of `tree` (left to right, dict entries by sorted key) and its structure."""
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _flatten(x, is_leaf, leaves: list) -> PyTreeDef:
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return LEAF
    kind = type(x)
    if kind is dict:  # the common containers without the registry's indirection
        data = _sorted_keys(x)
        children = [x[k] for k in data]
    elif kind is list or kind is tuple:
        data, children = None, x
    elif x is None:
        return _NONE
    else:
        node = _node_of(kind)
        if node is None:
            leaves.append(x)
            return LEAF
        children, data = node.flatten(x)
    return PyTreeDef(kind, data, tuple([_flatten(c, is_leaf, leaves) for c in children]))


def tree_flatten_with_path(tree, is_leaf: Callable | None = None):
    """([(key path, leaf), ...], structure): each leaf with where it sits."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    return list(zip(treedef.paths(), leaves)), treedef


def tree_leaves(tree, is_leaf: Callable | None = None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_leaves_with_path(tree, is_leaf: Callable | None = None) -> list:
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_structure(tree, is_leaf: Callable | None = None) -> PyTreeDef:
    return _flatten(tree, is_leaf, [])


def tree_unflatten(treedef: PyTreeDef, leaves) -> Any:
    return treedef.unflatten(leaves)


def tree_map(f: Callable, tree, *rest, is_leaf: Callable | None = None):
    """`f` applied leafwise: f(leaf of tree, the matching subtree of each of `rest`), in
    `tree`'s structure.  Each tree in `rest` has `tree`'s structure or a finer one."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten(f(*xs) for xs in zip(leaves, *others))


# ---------------------------------------------------------------- describing differences


def describe_node(t: PyTreeDef) -> str:
    """One node in words: `a leaf`, `dict`, `namedtuple P`, ..."""
    if t.node_type is None:
        return "a leaf"
    if t.node_type is type(None):
        return "None"
    return _node_of(t.node_type).name


def structure_change(old: PyTreeDef, new: PyTreeDef) -> tuple[tuple, str]:
    """(key path, what changed) at the first place where two structures differ, e.g.
    ((DictKey('layers'),), "keys ['b', 'w'] -> ['b', 'v', 'w']"); ((), "") if equal."""
    if old == new:
        return (), ""
    if old.node_type is not new.node_type:
        return (), f"{describe_node(old)} -> {describe_node(new)}"
    kind = old.node_type
    if kind in (dict, OrderedDict, defaultdict) and old._data != new._data:
        keys = (lambda t: list(t._data[1])) if kind is defaultdict else (lambda t: list(t._data))
        if keys(old) != keys(new):
            return (), f"keys {keys(old)} -> {keys(new)}"
        return (), f"default factory {old._data[0]!r} -> {new._data[0]!r}"
    if old._data != new._data:
        return (), f"{describe_node(old)} node data {old._data!r} -> {new._data!r}"
    if len(old._children) != len(new._children):
        return (), (f"{describe_node(old)} of length {len(old._children)} -> "
                    f"{len(new._children)}")
    keys = _node_of(kind).keys(old._data, len(old._children))
    for k, a, b in zip(keys, old._children, new._children):
        if a != b:
            path, change = structure_change(a, b)
            return (k,) + path, change
    return (), "equal structures with different hashes"  # unreachable for sound node data
