"""tg.export: every transform's output exports, serializes and comes back bit-identical,
in this process and in a fresh one; pickling a transformed function takes the same route."""
import collections
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tree_util import tree_leaves

Point = collections.namedtuple("Point", "x y")


def mlp_loss(p, x, y):
    h = (x @ p["w1"] + p["b1"]).tanh()
    return ((h @ p["w2"] - y) ** 2).mean()


def _data(seed=0, n=16):
    rng = np.random.default_rng(seed)
    p = {"w1": rng.standard_normal((3, 8)).astype(np.float32),
         "b1": rng.standard_normal(8).astype(np.float32),
         "w2": rng.standard_normal((8, 1)).astype(np.float32)}
    return (p, rng.standard_normal((n, 3)).astype(np.float32),
            rng.standard_normal((n, 1)).astype(np.float32))


def _arrays(tree):
    return [np.asarray(leaf.numpy()) for leaf in tree_leaves(tree)]


def _same_bits(a, b):
    la, lb = _arrays(a), _arrays(b)
    assert tg.tree_util.tree_structure(a) == tg.tree_util.tree_structure(b)
    assert len(la) == len(lb) and la
    for u, v in zip(la, lb):
        assert u.dtype == v.dtype and u.shape == v.shape
        assert u.tobytes() == v.tobytes()


def scale(pt, k, n):
    return Point(pt.x * k + n, (pt.y * pt.x).sum()), pt.y.exp()


TRANSFORMS = {
    "compile": (lambda: tg.compile(mlp_loss), _data),
    "grad": (lambda: tg.grad(mlp_loss), _data),
    "grad_argnums": (lambda: tg.grad(mlp_loss, argnums=(0, 1)), _data),
    "value_and_grad": (lambda: tg.value_and_grad(mlp_loss), _data),
    "value_and_grad_aux": (
        lambda: tg.value_and_grad(lambda p, x, y: (mlp_loss(p, x, y), {"h": (x @ p["w1"])}),
                                  has_aux=True), _data),
    "namedtuple_static_scalar": (
        lambda: tg.compile(scale, static_argnums=2),
        lambda: (Point(np.arange(4, dtype=np.float32), np.ones(4, np.float32)), 2.5, 3)),
    # the transforms beyond grad, and control flow regions: every transform's output exports
    "vmap_of_grad": (lambda: tg.vmap(tg.grad(mlp_loss), in_axes=(None, 0, 0)),
                     lambda: _batched()),
    "compiled_jvp": (lambda: tg.compile(lambda p, t: tg.jvp(_vector_fn, (p,), (t,))),
                     lambda: _vector() * 2),
    "compiled_linearize": (lambda: tg.compile(lambda p, t: tg.linearize(_vector_fn, p)[1](t)),
                           lambda: _vector() * 2),
    "jacrev": (lambda: tg.jacrev(_vector_fn), lambda: _vector()),
    "jacfwd": (lambda: tg.jacfwd(_vector_fn), lambda: _vector()),
    "hessian": (lambda: tg.hessian(lambda v: (_vector_fn(v) ** 2).sum()), lambda: _vector()),
    "grad_of_checkpoint": (lambda: tg.grad(tg.checkpoint(lambda v: _vector_fn(v).sum())),
                           lambda: _vector()),
    "compile_fori_loop": (lambda: tg.compile(_decay), lambda: _vector()),
    "grad_of_scan": (lambda: tg.grad(lambda v: _rnn(v).sum()), lambda: _vector()),
    "compile_cond": (lambda: tg.compile(
        lambda v: tg.lax.cond(v.sum() > 0, lambda u: u.exp(), lambda u: -u, v)),
        lambda: _vector()),
}
#: the transforms whose lowering keeps a separate reverse-mode stage (vmap and the
#: Jacobians fold theirs into one batched program)
WITH_ADJOINT = {"grad", "grad_argnums", "value_and_grad", "value_and_grad_aux",
                "grad_of_checkpoint", "grad_of_scan"}


def _batched():
    p, x, y = _data()
    return p, x.reshape(4, 4, 3), y.reshape(4, 4, 1)


def _vector():
    return (np.linspace(-1.0, 1.5, 5).astype(np.float32),)


def _vector_fn(v):
    return (v * v.roll(1, 0)).tanh()


def _decay(v):
    return tg.lax.fori_loop(0, 50, lambda i, c: c * 0.9 + v, v)


def _rnn(v):
    def cell(h, x):
        h = (h * x + v).tanh()
        return h, h.sum()
    return tg.lax.scan(cell, v, tg.stack([v, v * 2.0, v - 1.0]))[1]


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_round_trip_is_bit_identical_in_process(name):
    make, data = TRANSFORMS[name]
    f = make()
    args = data()
    exported = f.export(*args)
    blob = exported.serialize()
    assert isinstance(blob, bytes) and b"func @" in blob
    assert b"\x80\x04" not in blob[:2]  # not a pickle
    again = tg.export.deserialize(blob)
    assert again.signature == exported.signature
    _same_bits(f(*args), exported(*args))
    _same_bits(f(*args), again(*args))
    _same_bits(f(*args), again.call(*args))
    assert str(again.program) == str(exported.program)
    if name in WITH_ADJOINT:
        assert again.adjoint is not None and str(again.adjoint) == str(exported.adjoint)
    assert str(again.ir) == str(exported.ir)


def test_export_module_function_and_plain_function():
    p, x, y = _data()
    vg = tg.value_and_grad(mlp_loss)
    a = tg.export.export(vg)(p, x, y)
    assert a.kind == "value_and_grad" and a.serialize() == vg.export(p, x, y).serialize()
    plain = tg.export.export(mlp_loss)(p, x, y)  # a plain function is compiled first
    assert plain.kind == "compile"
    _same_bits(plain(p, x, y), tg.compile(mlp_loss)(p, x, y))


def test_another_signature_raises_type_error_naming_both():
    p, x, y = _data()
    again = tg.export.deserialize(tg.grad(mlp_loss).export(p, x, y).serialize())
    with pytest.raises(TypeError) as info:
        again(p, x[:4], y[:4])
    text = str(info.value)
    assert "f32[16,3]" in text and "f32[4,3]" in text and "mlp_loss" in text
    with pytest.raises(TypeError, match="f32\\[3,8\\].*f64\\[3,8\\]"):
        again({**p, "w1": p["w1"].astype(np.float64)}, x, y)
    with pytest.raises(TypeError, match="'w3'"):
        again({**p, "w3": p["w1"]}, x, y)


def test_exported_function_differentiates_inside_a_transform():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    f = tg.compile(lambda v: v.sin() * v)
    exported = tg.export.deserialize(f.export(x).serialize())
    got = tg.grad(lambda v: exported(v).sum())(x)
    want = tg.grad(lambda v: (v.sin() * v).sum())(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    t = tg.tensor(x, requires_grad=True)
    exported(t).sum().backward()  # eager: bound on the tape
    np.testing.assert_allclose(t.grad.numpy(), want.numpy(), rtol=1e-6)


def test_pickle_a_transformed_function_for_its_compiled_signatures():
    p, x, y = _data()
    vg = tg.value_and_grad(mlp_loss)
    with pytest.raises(pickle.PicklingError, match="no compiled signature"):
        pickle.dumps(vg)
    vg(p, x, y)
    vg(p, x[:8], y[:8])
    blob = pickle.dumps(vg)
    assert b"mlp_loss" in blob and b"TAPEGRAD-EXPORT" in blob
    restored = pickle.loads(blob)
    _same_bits(vg(p, x, y), restored(p, x, y))
    _same_bits(vg(p, x[:8], y[:8]), restored(p, x[:8], y[:8]))
    with pytest.raises(TypeError, match="f32\\[4,3\\]"):
        restored(p, x[:4], y[:4])
    _same_bits(vg(p, x, y), pickle.loads(pickle.dumps(restored))(p, x, y))
    exported = vg.export(p, x, y)
    _same_bits(vg(p, x, y), pickle.loads(pickle.dumps(exported))(p, x, y))
    import copy
    assert copy.copy(vg).fun is vg.fun  # a shallow copy is still the transform
    assert copy.deepcopy(vg) is vg  # as a function deep-copies


_CHILD = r"""
import sys, numpy as np, tapegrad as tg
exported = tg.export.deserialize(open(sys.argv[1], "rb").read())
args = np.load(sys.argv[2])
p = {k[2:]: args[k] for k in args.files if k.startswith("p_")}
out = exported(p, args["x"], args["y"])
leaves = tg.tree_util.tree_leaves(out)
np.savez(sys.argv[3], *[leaf.numpy() for leaf in leaves])
print(exported.native().source)
"""


def test_round_trip_is_bit_identical_in_a_fresh_process(tmp_path):
    p, x, y = _data(seed=3, n=64)
    vg = tg.value_and_grad(mlp_loss)
    (tmp_path / "f.tgx").write_bytes(vg.export(p, x, y).serialize())
    np.savez(tmp_path / "args.npz", x=x, y=y, **{"p_" + k: v for k, v in p.items()})
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(tmp_path / "fresh-cache"))
    want = _arrays(vg(p, x, y))
    for source in ("llvm", "disk"):  # compiled there for its own CPU, then from its cache
        done = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "f.tgx"),
                               str(tmp_path / "args.npz"), str(tmp_path / "out.npz")],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == source
        got = np.load(tmp_path / "out.npz")
        assert len(got.files) == len(want)
        for k, w in enumerate(want):
            assert got[f"arr_{k}"].tobytes() == w.tobytes()
