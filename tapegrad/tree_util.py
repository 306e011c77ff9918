"""`tg.tree_util`: pytrees as JAX's `jax.tree_util` (the implementation is tracer/tree_util.py,
beside the transforms that flatten their arguments and results with it)."""
from .tracer.tree_util import (  # noqa: F401
    DictKey, FlattenedIndexKey, GetAttrKey, PyTreeDef, SequenceKey, keystr, register_dataclass,
    register_pytree_node, register_pytree_node_class, tree_flatten, tree_flatten_with_path,
    tree_leaves, tree_leaves_with_path, tree_map, tree_structure, tree_unflatten, treedef_tuple)

__all__ = [
    "DictKey", "FlattenedIndexKey", "GetAttrKey", "PyTreeDef", "SequenceKey", "keystr",
    "register_dataclass", "register_pytree_node", "register_pytree_node_class",
    "tree_flatten", "tree_flatten_with_path", "tree_leaves", "tree_leaves_with_path",
    "tree_map", "tree_structure", "tree_unflatten", "treedef_tuple"]
