"""Pytree structures and signatures as plain JSON data, and back, without pickle.

    data = encode_tree(treedef)          # {"t": "dict", "k": ["b", "w"], "c": [...]}
    decode_tree(data) == treedef         # True

A received structure can only name container types the receiving process already
knows: the built-in ones, namedtuple classes of modules it has imported, and the
classes registered with `tg.tree_util.register_pytree_node`.  Names are looked up in
`sys.modules` and the classes' `__dict__`s, never imported and never through
`getattr`, so decoding runs no code of the sender's choosing.
"""
from __future__ import annotations

import math
import sys
from collections import OrderedDict, defaultdict

from ..ir import dtypes
from ..tracer.transforms_signature import ARRAY, SCALAR, STATIC, TREE
from ..tracer.tree_util import _REGISTRY, PyTreeDef, is_namedtuple


class ExportFormatError(ValueError):
    """Serialized export data that cannot be read: damaged, crafted or of another version."""


_OWN_TAGS = frozenset((tuple, list, dict, type(None), OrderedDict, defaultdict))
MAX_DEPTH = 64  # nesting of containers (and of node data) a received structure may have
_FACTORIES = {"list": list, "dict": dict, "int": int, "float": float, "set": set,
              "tuple": tuple, "str": str, "None": None}


# ---------------------------------------------------------------- node data (hashable values)


def encode_data(value, what: str, depth: int = 0):
    """A dict key, a static argument or a registered node's aux data, as JSON data."""
    if depth > MAX_DEPTH:
        raise TypeError(f"{what} is nested too deeply to export")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"int": str(value)}  # JSON readers may round big ints; a string never does
    if isinstance(value, float):
        return {"float": repr(value)} if not math.isfinite(value) else value
    if isinstance(value, tuple):
        return {"tuple": [encode_data(v, what, depth + 1) for v in value]}
    raise TypeError(f"cannot export {what} of type {type(value).__name__}: only None, bool, "
                    f"int, float, str and tuples of them are data")


def decode_data(data, depth: int = 0):
    if depth > MAX_DEPTH:
        raise ExportFormatError("node data nested too deeply")
    if data is None or isinstance(data, (bool, str, float)):
        return data
    if isinstance(data, dict) and len(data) == 1:
        (tag, inner), = data.items()
        if tag == "int" and isinstance(inner, str) and len(inner) <= 64:
            try:
                return int(inner)
            except ValueError:
                pass
        elif tag == "float" and inner in ("inf", "-inf", "nan"):
            return float(inner)
        elif tag == "tuple" and isinstance(inner, list):
            return tuple(decode_data(v, depth + 1) for v in inner)
    raise ExportFormatError(f"unreadable node data {_short(data)}")


# ---------------------------------------------------------------- structures


def encode_tree(t: PyTreeDef, depth: int = 0) -> dict:
    if depth > MAX_DEPTH:
        raise TypeError("a pytree nested more than 64 containers deep cannot be exported")
    kind = t.node_type
    if kind is None:
        return {"t": "leaf"}
    if kind is type(None):
        return {"t": "none"}
    children = [encode_tree(c, depth + 1) for c in t.children()]
    if kind in (tuple, list):
        return {"t": kind.__name__, "c": children}
    if kind in (dict, OrderedDict):
        keys = [encode_data(k, "a dict key") for k in t._data]
        return {"t": "dict" if kind is dict else "odict", "k": keys, "c": children}
    if kind is defaultdict:
        factory, keys = t._data
        name = next((n for n, f in _FACTORIES.items() if f is factory), None)
        if name is None:
            raise TypeError(f"cannot export a defaultdict whose default factory is "
                            f"{factory!r}: only {', '.join(_FACTORIES)} are data")
        return {"t": "ddict", "f": name, "k": [encode_data(k, "a dict key") for k in keys],
                "c": children}
    name = f"{kind.__module__}:{kind.__qualname__}"
    if kind not in _REGISTRY:  # a namedtuple: its class and fields say everything
        return {"t": "namedtuple", "type": name, "c": children}
    return {"t": "custom", "type": name,
            "aux": encode_data(t._data, f"the node data of {kind.__qualname__}"), "c": children}


def decode_tree(data, depth: int = 0) -> PyTreeDef:
    if depth > MAX_DEPTH:
        raise ExportFormatError(f"pytree structure nested more than {MAX_DEPTH} deep")
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        raise ExportFormatError(f"unreadable pytree node {_short(data)}")
    tag = data["t"]
    if tag == "leaf":
        return PyTreeDef(None, None, ())
    if tag == "none":
        return PyTreeDef(type(None), None, ())
    raw = data.get("c")
    if not isinstance(raw, list):
        raise ExportFormatError(f"pytree node {tag!r} without a list of children")
    children = tuple(decode_tree(c, depth + 1) for c in raw)
    if tag in ("tuple", "list"):
        return PyTreeDef(tuple if tag == "tuple" else list, None, children)
    if tag in ("dict", "odict", "ddict"):
        keys = data.get("k")
        if not isinstance(keys, list) or len(keys) != len(children):
            raise ExportFormatError(f"pytree {tag} node: {len(children)} children but keys "
                                    f"{_short(keys)}")
        keys = tuple(decode_data(k) for k in keys)
        if tag == "dict":
            try:
                if list(keys) != sorted(keys) or len(set(keys)) != len(keys):
                    raise ExportFormatError("pytree dict node: keys not sorted and unique")
            except TypeError:
                raise ExportFormatError("pytree dict node: keys that do not sort") from None
            return PyTreeDef(dict, keys, children)
        if tag == "odict":
            return PyTreeDef(OrderedDict, keys, children)
        if data.get("f") not in _FACTORIES:
            raise ExportFormatError(f"defaultdict factory {_short(data.get('f'))} is not one "
                                    f"of {', '.join(_FACTORIES)}")
        return PyTreeDef(defaultdict, (_FACTORIES[data["f"]], keys), children)
    if tag in ("namedtuple", "custom"):
        kind = _known_type(data.get("type"))
        if tag == "namedtuple":
            if not is_namedtuple(kind) or len(kind._fields) != len(children):
                raise ExportFormatError(f"pytree node type {data['type']!r} is not a "
                                        f"namedtuple of {len(children)} fields here")
            return PyTreeDef(kind, None, children)
        if kind not in _REGISTRY or kind in _OWN_TAGS:
            raise ExportFormatError(f"pytree node type {data['type']!r} is not registered "
                                    "here (tg.tree_util.register_pytree_node)")
        return PyTreeDef(kind, decode_data(data.get("aux")), children)
    raise ExportFormatError(f"unknown pytree node kind {tag!r}")


def _known_type(name) -> type:
    """The class `module:qualname` names, if its module is already imported; looked up in
    dictionaries only, so no attribute hook of the sender's choosing runs."""
    if not isinstance(name, str) or name.count(":") != 1 or len(name) > 500:
        raise ExportFormatError(f"unreadable pytree node type {_short(name)}")
    module_name, qualname = name.split(":")
    module = sys.modules.get(module_name)
    if module is None:
        raise ExportFormatError(f"pytree node type {name!r} is unknown here: module "
                                f"{module_name!r} is not imported (import it first)")
    obj = module
    for part in qualname.split("."):
        namespace = vars(obj) if obj is module or isinstance(obj, type) else {}
        obj = namespace.get(part)
        if obj is None:
            raise ExportFormatError(f"pytree node type {name!r} is unknown here")
    if not isinstance(obj, type):
        raise ExportFormatError(f"pytree node type {name!r} is not a class")
    return obj


# ---------------------------------------------------------------- signatures


def encode_signature(key: tuple) -> list:
    """transforms_signature's key of a call as data: one item per argument."""
    return [_encode_item(item) for item in key]


def _encode_item(item: tuple):
    if item[0] == ARRAY:
        return ["array", list(item[1]), item[2].name]
    if item[0] == SCALAR:
        return ["scalar"]
    if item[0] == STATIC:
        return ["static", encode_data(item[1], "a static argument")]
    return ["tree", encode_tree(item[1]), [_encode_item(i) for i in item[2]]]


def decode_signature(data) -> tuple:
    if not isinstance(data, list) or len(data) > 10_000:
        raise ExportFormatError(f"unreadable signature {_short(data)}")
    return tuple(_decode_item(d, leaf=False) for d in data)


def _decode_item(d, leaf: bool) -> tuple:
    if isinstance(d, list) and d:
        if d[0] == "scalar" and len(d) == 1:
            return (SCALAR,)
        if d[0] == "array" and len(d) == 3 and isinstance(d[1], list) and d[2] in dtypes.NAMES \
                and len(d[1]) <= 64 \
                and all(type(n) is int and 0 <= n < 1 << 62 for n in d[1]):
            return (ARRAY, tuple(d[1]), dtypes.by_name(d[2]))
        if not leaf and d[0] == "static" and len(d) == 2:
            return (STATIC, decode_data(d[1]))
        if not leaf and d[0] == "tree" and len(d) == 3 and isinstance(d[2], list):
            tree = decode_tree(d[1])
            items = tuple(_decode_item(i, leaf=True) for i in d[2])
            if len(items) != tree.num_leaves:
                raise ExportFormatError(f"signature: a pytree of {tree.num_leaves} leaves "
                                        f"with {len(items)} leaf types")
            return (TREE, tree, items)
    raise ExportFormatError(f"unreadable signature item {_short(d)}")


def describe_signature(name: str, key: tuple) -> str:
    """`f(f32[3,4], {'b': f32[4], 'w': f32[3,4]}, static 2)`: a call's signature in words."""
    return f"{name}({', '.join(_describe_item(item) for item in key)})"


def _describe_item(item: tuple) -> str:
    if item[0] == ARRAY:
        return f"{item[2].name}[{','.join(map(str, item[1]))}]"
    if item[0] == SCALAR:
        return "scalar"
    if item[0] == STATIC:
        return f"static {item[1]!r}"
    return _tree_text(item[1], iter([_describe_item(i) for i in item[2]]))


def _tree_text(t: PyTreeDef, leaves) -> str:
    kind = t.node_type
    if kind is None:
        return next(leaves)
    if kind is type(None):
        return "None"
    items = [_tree_text(c, leaves) for c in t.children()]
    if kind is tuple:
        return "(" + (items[0] + "," if len(items) == 1 else ", ".join(items)) + ")"
    if kind is list:
        return "[" + ", ".join(items) + "]"
    if kind in (dict, OrderedDict, defaultdict):
        keys = t._data[1] if kind is defaultdict else t._data
        return "{" + ", ".join(f"{k!r}: {s}" for k, s in zip(keys, items)) + "}"
    return f"{kind.__name__}({', '.join(items)})"


def _short(data) -> str:
    text = repr(data)
    return text if len(text) <= 80 else text[:77] + "..."
