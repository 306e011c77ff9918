"""Pytrees in every transform: grad, value_and_grad, compile, make_ir and lower take
nested tuples, lists, dicts, namedtuples, None and registered classes, and return them.

Gradients are checked against the same program written with flat arguments, against
central finite differences in float64, and against JAX's answer for the same program
(recorded in data/jax_pytrees.json by data/record_jax_pytrees.py).
"""
import collections
import dataclasses
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import tree_util as tu
from tapegrad.tracer.transforms_lower import MISS

HERE = Path(__file__).resolve().parent
JAX = json.loads((HERE / "data" / "jax_pytrees.json").read_text())
Point = collections.namedtuple("Point", "x y")


def rand(*shape, seed=0, dtype=np.float64):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape), dtype)


def mlp_inputs():
    """data/record_jax_pytrees.py's mlp_inputs: the same seed and draw order."""
    rng = np.random.default_rng(7)
    params = {"layers": [{"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)},
                         {"w": rng.standard_normal((4, 2)), "b": rng.standard_normal(2)}],
              "scale": rng.standard_normal(())}
    return params, rng.standard_normal((5, 3))


def mlp_loss(params, x):
    h = x
    for layer in params["layers"]:
        h = tg.tanh(h @ layer["w"] + layer["b"])
    return (params["scale"] * (h * h)).sum()


def mlp_loss_flat(w0, b0, w1, b1, scale, x):
    return mlp_loss({"layers": [{"w": w0, "b": b0}, {"w": w1, "b": b1}], "scale": scale}, x)


def numbers(tree):
    return tu.tree_map(lambda t: np.asarray(t.numpy() if isinstance(t, tg.Tensor) else t), tree)


def assert_trees_close(got, want, **tol):
    assert tu.tree_structure(got) == tu.tree_structure(want)
    for g, w in zip(tu.tree_leaves(numbers(got)), tu.tree_leaves(numbers(want))):
        np.testing.assert_allclose(g, w, **tol)


def finite_differences(f, tree, eps=1e-6):
    """d f / d leaf, elementwise, by central differences, in `tree`'s structure."""
    leaves, treedef = tu.tree_flatten(tree)
    grads = []
    for k, leaf in enumerate(leaves):
        g = np.zeros_like(leaf)
        for idx in np.ndindex(leaf.shape):
            plus, minus = [x.copy() for x in leaves], [x.copy() for x in leaves]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = (float(f(treedef.unflatten(plus))) - float(f(treedef.unflatten(minus)))) \
                / (2 * eps)
        grads.append(g)
    return treedef.unflatten(grads)


# ---------------------------------------------------------------- gradients


def test_grad_of_a_dict_of_parameters_matches_flat_arguments_differences_and_jax():
    params, x = mlp_inputs()
    value, grads = tg.value_and_grad(mlp_loss)(params, x)
    assert type(grads) is dict and type(grads["layers"]) is list
    assert repr(tu.tree_structure(grads)) == JAX["mlp"]["grads_structure"]
    flat = tg.grad(mlp_loss_flat, argnums=(0, 1, 2, 3, 4))(
        params["layers"][0]["w"], params["layers"][0]["b"], params["layers"][1]["w"],
        params["layers"][1]["b"], params["scale"], x)
    assert_trees_close(grads, {"layers": [{"w": flat[0], "b": flat[1]},
                                          {"w": flat[2], "b": flat[3]}], "scale": flat[4]},
                       rtol=1e-12)
    fd = finite_differences(lambda p: mlp_loss(tu.tree_map(tg.tensor, p), tg.tensor(x)), params)
    assert_trees_close(grads, fd, rtol=1e-6, atol=1e-8)
    jax_grads = tu.tree_structure(params).unflatten(
        np.asarray(g) for g in tu.tree_structure(params).flatten_up_to(JAX["mlp"]["grads"]))
    assert_trees_close(grads, jax_grads, rtol=1e-10)
    assert abs(float(value) - JAX["mlp"]["value"]) < 1e-10
    for leaf in tu.tree_leaves(grads):
        assert leaf.dtype is tg.float64


def test_the_ir_has_one_typed_parameter_per_leaf_named_after_its_path():
    params, x = mlp_inputs()
    fn = tg.make_ir(mlp_loss)(params, x)
    text = str(fn)
    assert text.startswith(
        "func @mlp_loss(%params_layers_0_b: f64[4], %params_layers_0_w: f64[3,4], "
        "%params_layers_1_b: f64[2], %params_layers_1_w: f64[4,2], %params_scale: f64[], "
        "%x: f64[5,3]) -> (f64[])")
    assert str(tg.ir.parse(text)) == text
    lowered = tg.grad(mlp_loss).lower(params, x)
    for stage in (lowered.ir, lowered.adjoint, lowered.optimized):
        assert len(stage.params) == 6 and str(tg.ir.parse(str(stage))) == str(stage)


def test_has_aux_and_tuple_argnums_over_pytrees():
    def f(p, q, x):
        y = (p["a"] * x).sum() + (q[0] * q[1]).sum()
        return y, {"y": y, "parts": [p["a"] * 2, None]}

    p, q, x = {"a": rand(3)}, (rand(3, seed=1), rand(3, seed=2)), rand(3, seed=3)
    (gp, gq), aux = tg.grad(f, argnums=(0, 1), has_aux=True)(p, q, x)
    assert type(gp) is dict and type(gq) is tuple and len(gq) == 2
    np.testing.assert_allclose(gp["a"].numpy(), x)
    np.testing.assert_allclose(gq[0].numpy(), q[1])
    np.testing.assert_allclose(gq[1].numpy(), q[0])
    assert aux["parts"][1] is None and type(aux["parts"]) is list
    np.testing.assert_allclose(aux["parts"][0].numpy(), p["a"] * 2)
    (value, aux2), grads = tg.value_and_grad(f, argnums=(1,), has_aux=True)(p, q, x)
    assert_trees_close(aux2, aux)
    assert type(grads) is tuple and type(grads[0]) is tuple
    np.testing.assert_allclose(float(value), (p["a"] * x).sum() + (q[0] * q[1]).sum())


def test_namedtuples_stay_namedtuples_in_and_out():
    def f(pt):
        return (pt.x * pt.y).sum()

    pt = Point(rand(2), rand(2, seed=1))
    g = tg.grad(f)(pt)
    assert type(g) is Point
    np.testing.assert_allclose(g.x.numpy(), pt.y)
    out = tg.compile(lambda pt: Point(pt.y, pt.x * 2))(pt)
    assert type(out) is Point
    np.testing.assert_allclose(out.x.numpy(), pt.y)
    assert "%pt_x" in str(tg.make_ir(f)(pt))


def test_registered_classes_and_dataclasses():
    class Linear:
        def __init__(self, w, b, act):
            self.w, self.b, self.act = w, b, act

    tu.register_pytree_node(Linear, lambda m: ((m.w, m.b), m.act),
                            lambda act, ch: Linear(ch[0], ch[1], act))

    @tu.register_dataclass
    @dataclasses.dataclass
    class Model:
        first: Linear
        scale: object
        name: str = dataclasses.field(default="m", metadata=dict(static=True))

    def loss(m, x):
        h = x @ m.first.w + m.first.b
        h = h.relu() if m.first.act == "relu" else h.tanh()
        return (m.scale * h).sum()

    m = Model(Linear(rand(3, 2), rand(2, seed=1), "tanh"), rand(seed=2))
    x = rand(4, 3, seed=3)
    g = tg.grad(loss)(m, x)
    assert type(g) is Model and type(g.first) is Linear and g.first.act == "tanh"
    fd = finite_differences(lambda mm: loss(tu.tree_map(tg.tensor, mm), tg.tensor(x)), m)
    assert_trees_close(g, fd, rtol=1e-6, atol=1e-8)
    # node data is part of the signature: another activation is another trace
    m2 = Model(Linear(m.first.w, m.first.b, "relu"), m.scale)
    cf = tg.grad(loss)
    cf(m, x)
    cf(m2, x)
    assert cf.cache_info().misses == 2
    assert "Linear node data 'tanh' -> 'relu'" in cf.cache_info().miss_reasons[1]


def test_empty_containers_and_none():
    def f(p, extra, nothing, x):
        assert extra == {} and nothing is None and p["b"] is None
        return {"y": (p["a"] * x).sum(), "none": None, "empty": ()}

    p, x = {"a": rand(3), "b": None}, rand(3, seed=1)
    out = tg.compile(f)(p, {}, None, x)
    assert out["none"] is None and out["empty"] == ()
    g = tg.grad(lambda p, e, n, x: f(p, e, n, x)["y"], argnums=(0, 1, 2))(p, {}, None, x)
    assert g[0]["b"] is None and g[1] == {} and g[2] is None
    np.testing.assert_allclose(g[0]["a"].numpy(), x)
    fn = tg.make_ir(f)(p, {}, None, x)
    assert [str(q.type) for q in fn.params] == ["f64[3]", "f64[3]"]


def test_python_numbers_and_lists_are_leaves_and_containers():
    def f(p):
        return p["w"][0] * p["w"][1] * p["c"]

    g = tg.grad(f)({"w": [2.0, 3.0], "c": 4.0})
    assert type(g["w"]) is list
    assert [float(v) for v in g["w"]] == [12.0, 8.0] and float(g["c"]) == 6.0


def test_static_argnums_beside_pytrees():
    def f(p, n):
        return (p["w"] * n).sum()

    g = tg.grad(f, static_argnums=1)
    np.testing.assert_allclose(g({"w": rand(2)}, 3)["w"].numpy(), [3.0, 3.0])
    np.testing.assert_allclose(g({"w": rand(2)}, 5)["w"].numpy(), [5.0, 5.0])


# ---------------------------------------------------------------- errors and misses


def test_a_leaf_of_the_wrong_kind_names_its_path():
    def loss(params, x):
        return x.sum()

    params = {"layers": [{"w": rand(2)}, {"w": rand(2)}, {"w": "oops"}]}
    with pytest.raises(TypeError, match=re.escape("loss(): arg 0['layers'][2]['w']: got str")):
        tg.grad(loss)(params, rand(2))
    with pytest.raises(TypeError, match=re.escape("arg 1[0].y: got object")):
        tg.compile(loss)(rand(2), [Point(1.0, object())])
    with pytest.raises(TypeError, match=r"argument 0 \(params\['n'\]: i64\[2\]\): only float"):
        tg.grad(lambda params: params["w"].sum())({"w": rand(2), "n": np.arange(2)})
    with pytest.raises(TypeError, match=re.escape("at output['b']")):
        tg.compile(lambda x: {"a": x, "b": "text"})(rand(2))


def test_miss_reasons_name_the_leaf_or_the_structure_that_changed():
    f = tg.compile(lambda p: sum(leaf.sum() for leaf in tu.tree_leaves(p)))
    f({"w": rand(3, 2), "b": rand(2)})
    f({"w": rand(4, 2), "b": rand(2)})
    f({"w": rand(4, 2), "v": rand(2), "b": rand(2)})
    f({"w": rand(4, 2, dtype=np.float32), "b": rand(2)})
    f(rand(3))
    assert f.cache_info().miss_reasons == (
        "first call",
        "arg 0['w']: shape (3, 2) -> (4, 2)",
        "arg 0: keys ['b', 'w'] -> ['b', 'v', 'w']",
        "arg 0: keys ['b', 'v', 'w'] -> ['b', 'w']",
        "arg 0: kind pytree {'b': *, 'w': *} -> array f64[3]")
    f({"w": rand(4, 2, dtype=np.float32), "b": rand(2)})  # a hit
    f({"w": rand(4, 2, dtype=np.float32), "b": rand(2, dtype=np.float32)})
    assert f.cache_info().miss_reasons[-1] == "arg 0['b']: dtype f64 -> f32"
    g = tg.compile(lambda t: tu.tree_leaves(t)[0].sum())
    g([{"a": rand(2)}])
    g([{"a": rand(2)}, None])
    g(({"a": rand(2)}, None))
    g(([rand(2)], None))
    assert g.cache_info().miss_reasons[1:] == (
        "arg 0: list of length 1 -> 2", "arg 0: list -> tuple", "arg 0[0]: dict -> list")


# ---------------------------------------------------------------- running


def _sgd_loss(params, x, y):
    return (x.mm(params["w1"]).clamp(min=0).mm(params["w2"]) - y).pow(2).sum()


def _sgd(params, x, y):
    loss, g = tg.value_and_grad(_sgd_loss)(params, x, y)
    return loss, tu.tree_map(lambda p, d: p - 1e-3 * d, params, g)


def test_donating_a_subtree_donates_every_leaf():
    rng = np.random.default_rng(0)
    w1, w2, x, y = (rng.standard_normal(s).astype(np.float32) for s in [(6, 4), (4, 3), (5, 6),
                                                                           (5, 3)])
    plain, donating = tg.compile(_sgd), tg.compile(_sgd, donate_argnums=0)
    a, b = {"w1": w1.copy(), "w2": w2.copy()}, {"w1": w1.copy(), "w2": w2.copy()}
    for _ in range(4):  # traced, checked path, then the fast call
        want = plain(a, x, y)
        given = dict(b)
        got = donating(b, x, y)
        assert got[1]["w1"].numpy() is given["w1"] and got[1]["w2"].numpy() is given["w2"]
        assert_trees_close(got, want, rtol=0, atol=0)
        a = tu.tree_map(lambda t: t.numpy(), want[1])
        b = tu.tree_map(lambda t: t.numpy(), got[1])
    assert donating._cache.fast is not None


def test_nested_transforms_pass_pytrees_through():
    inner = tg.compile(lambda p, x: {"h": tg.tanh(x @ p["w"]), "aux": [p["b"] * 2]})

    def outer(p, x):
        out = inner(p, x)
        return (out["h"] ** 2).sum() + out["aux"][0].sum()

    params, x = {"w": rand(3, 2), "b": rand(2, seed=1)}, rand(4, 3, seed=2)
    g = tg.grad(outer)(params, x)
    fd = finite_differences(lambda p: outer(tu.tree_map(tg.tensor, p), tg.tensor(x)), params)
    assert_trees_close(g, fd, rtol=1e-6, atol=1e-8)
    hess_diag = tg.grad(lambda p: tg.grad(lambda q: (q["v"] ** 3).sum())(p)["v"].sum())
    np.testing.assert_allclose(hess_diag({"v": np.array([1.0, 2.0])})["v"].numpy(), [6.0, 12.0])


def test_tensors_that_require_grad_bind_the_pytree_call_on_the_tape():
    f = tg.compile(lambda p: {"s": (p["w"] * p["b"]).sum()})
    w, b = tg.tensor([1.0, 2.0], requires_grad=True), tg.tensor([3.0, 4.0], requires_grad=True)
    out = f({"w": w, "b": b})
    assert out["s"].grad_fn is not None
    out["s"].backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0])


def test_the_fast_call_unpacks_pytrees_and_misses_any_other_structure():
    g = tg.grad(lambda p, x: (p["w"] * p["b"].sum() * x[0]).sum())
    p, x = {"w": rand(3, dtype=np.float32), "b": rand(2, seed=1, dtype=np.float32)}, [2.0]
    want = g(p, x)
    g(p, x)
    fast = g._cache.fast
    assert fast is not None and "t0['b']" in fast.source
    got = fast((p, x))
    assert got is not MISS and type(got) is dict
    assert_trees_close(got, want, rtol=0, atol=0)
    assert g(p, x)["w"] is not got["w"]  # fresh results each call
    for other in [({**p, "v": p["w"]}, x), ({"w": p["w"]}, x), ({"w": p["w"], "c": p["b"]}, x),
                  (p, (2.0,)), (p, [2]), (collections.OrderedDict(p), x), ([p["w"], p["b"]], x),
                  ({"w": p["w"], "b": p["w"]}, x)]:
        assert fast(other) is MISS
    assert_trees_close(g({"w": p["w"], "b": p["b"].astype(np.float64)}, x), want, rtol=1e-6)


def test_the_fast_call_rebuilds_every_kind_of_result():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    tu.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, ch: Pair(*ch))
    arg = Point(rand(2), Pair(rand(2, seed=1), rand(1, seed=2)))
    f = tg.compile(lambda t: {"list": [t.x, None], "pt": Point(t.y.a, t.x),
                              "pair": Pair(t.x, t.y.b), "tuple": (t.x,), "empty": {}})
    first = f(arg)
    f(arg)
    out = f._cache.fast((arg,))
    assert out is not MISS
    assert "    return {'empty': {}, 'list': [make(r0, T0), None], 'pair': " in f._cache.fast.source
    assert tu.tree_structure(out) == tu.tree_structure(first)
    assert type(out["pt"]) is Point and type(out["pair"]) is Pair and out["list"][1] is None
    assert_trees_close(out, first, rtol=0, atol=0)


def test_a_pytree_call_costs_at_most_a_microsecond_more_than_flat_arguments():
    """benchmarks/pytree_fast_call.py, shorter: medians of alternating batches."""
    path = HERE.parent.parent / "benchmarks" / "pytree_fast_call.py"
    spec = importlib.util.spec_from_file_location("pytree_fast_call", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    medians = bench.measure(rounds=40, calls=200)
    names = list(medians)
    assert medians[names[1]] - medians[names[0]] < 1.0, medians
    assert medians[names[3]] - medians[names[2]] < 1.0, medians
