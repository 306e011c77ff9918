"""tg.tree_util against what JAX's tree_util says about the same trees (recorded in
data/jax_pytrees.json by data/record_jax_pytrees.py), and its own guarantees."""
import collections
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import tree_util as tu
from helpers.pytree_cases import cases

JAX = json.loads((Path(__file__).resolve().parent / "data" / "jax_pytrees.json").read_text())
CASES = cases(tu)


@pytest.mark.parametrize("name", sorted(CASES))
def test_flatten_order_structure_and_paths_are_jaxs(name):
    want = JAX["structures"][name]
    leaves, treedef = tu.tree_flatten(CASES[name])
    assert leaves == want["leaves"]
    assert repr(treedef) == want["repr"]
    assert (treedef.num_leaves, treedef.num_nodes) == (want["num_leaves"], want["num_nodes"])
    assert [tu.keystr(p) for p, _ in tu.tree_flatten_with_path(CASES[name])[0]] == want["paths"]
    rebuilt = tu.tree_unflatten(treedef, [10 * x for x in leaves])
    assert tu.tree_leaves(rebuilt) == want["rebuilt_leaves"]
    assert type(rebuilt).__name__ == want["rebuilt_type"]
    assert tu.tree_structure(rebuilt) == treedef and hash(tu.tree_structure(rebuilt)) == hash(treedef)


def test_leaves_come_back_as_the_same_objects_and_containers_keep_their_types():
    Point = collections.namedtuple("Point", "x y")
    w, b, t = np.ones(2), tg.zeros(3), 2.5
    tree = {"p": Point(w, [b]), "t": (t,)}
    leaves, treedef = tu.tree_flatten(tree)
    assert [id(x) for x in leaves] == [id(w), id(b), id(t)]
    rebuilt = treedef.unflatten(leaves)
    assert type(rebuilt["p"]) is Point and type(rebuilt["p"].y) is list
    assert type(rebuilt["t"]) is tuple and rebuilt["p"].x is w and rebuilt["p"].y[0] is b


def test_dict_keys_are_sorted_and_unflatten_builds_them_sorted():
    leaves, treedef = tu.tree_flatten({"w": 1, "b": 2})
    assert leaves == [2, 1]
    assert list(treedef.unflatten([7, 8])) == ["b", "w"]


def test_structure_equality_ignores_leaves_but_not_types_keys_or_node_data():
    s = tu.tree_structure
    assert s({"a": 1, "b": (2, 3)}) == s({"a": "x", "b": (np.ones(2), None.__class__)})
    assert s([1, 2]) != s((1, 2))
    assert s({"a": 1}) != s({"b": 1})
    assert s({"a": None}) != s({"a": 1})
    assert s(()) != s([]) and s(None) != s(())
    assert len({s({"a": 1}), s({"a": 2}), s([1])}) == 2


def test_tree_map_over_several_trees_and_prefix_trees():
    got = tu.tree_map(lambda a, b: a + b, {"a": 1, "b": (2, 3)}, {"a": 10, "b": (20, 30)})
    assert got == {"a": 11, "b": (22, 33)}
    assert tu.tree_map(lambda a: a * 2, {"x": 1, "y": None}) == {"x": 2, "y": None}
    # the first tree's leaves match whole subtrees of the others (JAX's prefix rule)
    assert tu.tree_map(lambda a, b: (a, b), [1, (2, 3)], [[4], (5, 6)]) == \
        [(1, [4]), ((2, 5), (3, 6))]
    with pytest.raises(ValueError, match=r"\['b'\] expected tuple, got list"):
        tu.tree_map(lambda a, b: a + b, {"a": 1, "b": (2, 3)}, {"a": 10, "b": [20, 30]})
    with pytest.raises(ValueError, match=r"keys \['a'\] -> \['a', 'c'\]"):
        tu.tree_map(lambda a, b: a + b, {"a": 1}, {"a": 10, "c": 2})


def test_is_leaf_stops_flattening():
    assert tu.tree_leaves([1, None, 2], is_leaf=lambda v: v is None) == [1, None, 2]
    assert tu.tree_leaves([(1, 2), (3,)], is_leaf=lambda v: isinstance(v, tuple)) == \
        [(1, 2), (3,)]


def test_unflatten_with_the_wrong_number_of_leaves():
    treedef = tu.tree_structure((1, 2))
    with pytest.raises(ValueError, match="Too few leaves for PyTreeDef"):
        treedef.unflatten([1])
    with pytest.raises(ValueError, match="Too many leaves for PyTreeDef"):
        tu.tree_unflatten(treedef, [1, 2, 3])


def test_registration():
    class Box:
        def __init__(self, v):
            self.v = v

    tu.register_pytree_node(Box, lambda b: ([b.v], None), lambda aux, ch: Box(ch[0]))
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(Box, lambda b: ([b.v], None), lambda aux, ch: Box(ch[0]))
    assert tu.tree_leaves([Box(1), Box((2, 3))]) == [1, 2, 3]

    @tu.register_pytree_node_class
    class Cell:
        def __init__(self, x, name):
            self.x, self.name = x, name

        def tree_flatten(self):
            return (self.x,), self.name

        @classmethod
        def tree_unflatten(cls, name, children):
            return cls(children[0], name)

    c = tu.tree_map(lambda v: v + 1, Cell(1, "c"))
    assert (type(c), c.x, c.name) == (Cell, 2, "c")
    assert repr(tu.tree_structure(Cell(1, "c"))) == "PyTreeDef(CustomNode(Cell[c], [*]))"
    assert tu.tree_structure(Cell(1, "c")) != tu.tree_structure(Cell(1, "d"))

    @tu.register_dataclass
    @dataclasses.dataclass
    class Params:
        w: object
        b: object
        act: str = dataclasses.field(default="tanh", metadata=dict(static=True))

    p = tu.tree_map(lambda v: v * 10, Params(1, 2, "relu"))
    assert (p.w, p.b, p.act) == (10, 20, "relu")
    assert [tu.keystr(k) for k, _ in tu.tree_flatten_with_path(p)[0]] == [".w", ".b"]
    with pytest.raises(TypeError, match="not a dataclass"):
        tu.register_dataclass(Box)


def test_treedef_tuple_children_and_flatten_up_to():
    a, b = tu.tree_structure({"a": [1, 2], "b": 3}), tu.tree_structure(1)
    assert repr(tu.treedef_tuple([a, b])) == "PyTreeDef(({'a': [*, *], 'b': *}, *))"
    assert a.children() == [tu.tree_structure([1, 2]), tu.tree_structure(1)]
    assert tu.tree_structure({"a": 1}).flatten_up_to({"a": [1, 2]}) == [[1, 2]]


def test_unsortable_keys_are_a_clear_error():
    with pytest.raises(ValueError, match="sortable"):
        tu.tree_flatten({1.5: 1, "a": 2})


def test_public_face():
    assert tg.tree_util is tu
    for name in ("tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure", "tree_map",
                 "register_pytree_node", "register_dataclass"):
        assert callable(getattr(tg.tree_util, name))
