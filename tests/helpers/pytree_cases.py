"""Pytrees shared by tests/tracer/test_tree_util.py and by
tests/tracer/data/record_jax_pytrees.py, which records
what JAX's tree_util says about the same trees (data/jax_pytrees.json).

`cases(tree_util)` builds them with either module: the classes are created fresh and
registered with the `tree_util` given (tapegrad's or JAX's), so both see the same trees.
"""
import collections
import dataclasses


def cases(tree_util) -> dict:
    """name -> tree, leaves being small ints (their order is what the tests compare)."""
    Point = collections.namedtuple("Point", "x y")

    class Pair:
        def __init__(self, first, second, tag):
            self.first, self.second, self.tag = first, second, tag

    tree_util.register_pytree_node(
        Pair, lambda p: ((p.first, p.second), p.tag),
        lambda tag, children: Pair(children[0], children[1], tag))

    @dataclasses.dataclass
    class Layer:
        w: object
        b: object
        width: int = dataclasses.field(default=3, metadata=dict(static=True))

    tree_util.register_dataclass(Layer)
    return {
        "leaf": 1,
        "none": None,
        "empty_tuple": (),
        "empty_list": [],
        "empty_dict": {},
        "one_tuple": (1,),
        "tuple": (1, 2),
        "nested_list": [1, [2, 3]],
        "dict_unsorted": {"w": 1, "b": 2},
        "dict_nested": {"b": 1, "a": (2, None)},
        "dict_int_keys": {2: 1, 1: 2},
        "list_with_none": [None, 1],
        "namedtuple": Point(1, 2),
        "namedtuple_nested": Point(1, (2, 3)),
        "registered": Pair(1, [2], "tag"),
        "dataclass": Layer(1, 2),
        "ordered_dict": collections.OrderedDict([("b", 1), ("a", 2)]),
        "defaultdict": collections.defaultdict(list, {"b": 1, "a": 2}),
        "nested_empty": ((), [{}], None),
        "model": {"layers": [{"w": 1, "b": 2}, {"w": 3, "b": 4}], "scale": Point(5, 6),
                  "extra": Pair(7, 8, "t"), "head": Layer(9, 10)},
    }
