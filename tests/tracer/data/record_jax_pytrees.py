"""Record what JAX says about the programs in the pytree tests: run with the reference
venv (`/work/refvenv/bin/python tests/tracer/data/record_jax_pytrees.py`); it writes
jax_pytrees.json beside itself.  tapegrad's tests read that file, never JAX."""
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import tree_util

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/: the shared helpers
from helpers.pytree_cases import cases  # noqa: E402

jax.config.update("jax_enable_x64", True)


def structures() -> dict:
    out = {}
    for name, tree in cases(tree_util).items():
        leaves, treedef = tree_util.tree_flatten(tree)
        paths = [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(tree)[0]]
        rebuilt = tree_util.tree_unflatten(treedef, [10 * x for x in leaves])
        out[name] = {"leaves": leaves, "repr": repr(treedef), "num_leaves": treedef.num_leaves,
                     "num_nodes": treedef.num_nodes, "paths": paths,
                     "rebuilt_leaves": tree_util.tree_leaves(rebuilt),
                     "rebuilt_type": type(rebuilt).__name__}
    return out


def mlp_inputs():
    """The inputs of the gradient programs (float64, fixed seed)."""
    rng = np.random.default_rng(7)
    params = {"layers": [{"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)},
                         {"w": rng.standard_normal((4, 2)), "b": rng.standard_normal(2)}],
              "scale": rng.standard_normal(())}
    x = rng.standard_normal((5, 3))
    return params, x


def mlp_loss(np_like, params, x):
    h = x
    for layer in params["layers"]:
        h = np_like.tanh(h @ layer["w"] + layer["b"])
    return (params["scale"] * (h * h)).sum()


def gradients() -> dict:
    params, x = mlp_inputs()
    value, grads = jax.value_and_grad(lambda p, x: mlp_loss(jnp, p, x))(params, x)
    return {"value": float(value),
            "grads": tree_util.tree_map(lambda g: np.asarray(g).tolist(), grads),
            "grads_structure": repr(tree_util.tree_structure(grads))}


if __name__ == "__main__":
    record = {"jax": jax.__version__, "structures": structures(), "mlp": gradients()}
    (HERE / "jax_pytrees.json").write_text(json.dumps(record, indent=1) + "\n")
