"""torch.func's transforms, with its names and signatures: grad, grad_and_value, vjp,
jvp, vmap, jacrev, jacfwd, hessian.

How they run (torch.func runs on the eager tape; so do these, where values matter):

- `grad`, `grad_and_value` and `vjp` run on the eager tape: the inputs become fresh
  tensors that require grad, `func` runs eagerly (Python control flow on values is
  fine), and `autograd.grad` takes the gradient.  Inside another transform's trace
  they are tapegrad's traced transforms instead, so they compose with vmap.  A nested
  call (an input that already requires grad) keeps the graph (create_graph), so
  `grad(grad(f))` works as in torch.func.
- `jvp`, `vmap`, `jacrev`, `jacfwd` and `hessian` trace `func` once per signature and
  run the IR passes (forward mode, batching, Jacobians): one compiled program, bound on
  the eager tape when an input requires grad.  When `func` cannot be traced (it reads
  a value for Python control flow), they fall back to the eager tape: `jvp` by the
  double-vjp trick, `vmap` by a loop over the batch, the Jacobians by one vjp (jvp) per
  row (column).
"""
from __future__ import annotations

import functools

import numpy as np

from ..tracer import transforms as _traced
from ..tracer import transforms_forward as _forward
from ..tracer import transforms_vmap as _batched
from ..tracer.creation import zeros_like
from ..tracer.engine import grad as _autograd_grad
from ..tracer.errors import TracerError
from ..tracer.grad_mode import enable_grad
from ..tracer.ops import stack
from ..tracer.tensor import Tensor
from ..tracer.tree_util import tree_flatten, tree_map

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "vmap", "jacrev", "jacfwd", "hessian"]


def _is_tracing(args) -> bool:
    return any(isinstance(x, Tensor) and x._data is None for x in tree_flatten(args)[0])


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    return Tensor._from_array(np.asarray(x))


def _fresh(x, nested: bool):
    """A tensor the transform differentiates with respect to: a view keeping the outer
    graph when nested, else a detached leaf."""
    x = _as_tensor(x)
    return x.view_as(x) if nested and x.requires_grad else x.detach().requires_grad_(True)


def _argnums_tuple(argnums) -> tuple[int, ...]:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _prepare(args, argnums):
    """(args with the differentiated ones fresh, their leaves, nested?)"""
    nums = _argnums_tuple(argnums)
    leaves = [x for k in nums for x in tree_flatten(args[k])[0]]
    nested = any(isinstance(x, Tensor) and x.requires_grad for x in leaves)
    args = list(args)
    for k in nums:
        args[k] = tree_map(lambda x: _fresh(x, nested), args[k])
    return args, [x for k in nums for x in tree_flatten(args[k])[0]], nested


def _grads(outputs, inputs, cotangents, nested: bool):
    got = _autograd_grad(outputs, inputs, cotangents, retain_graph=True, create_graph=nested,
                         allow_unused=True)
    return [zeros_like(x) if g is None else (g if nested else g.detach())
            for g, x in zip(got, inputs)]


def _regroup(args, argnums, flat: list):
    """Gradients in the structure of the differentiated arguments (a tuple for tuples)."""
    nums, out, used = _argnums_tuple(argnums), [], 0
    for k in nums:
        leaves, tree = tree_flatten(args[k])
        out.append(tree.unflatten(flat[used:used + len(leaves)]))
        used += len(leaves)
    return out[0] if isinstance(argnums, int) else tuple(out)


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """torch.func.grad_and_value: `(grads, value)` (`(grads, (value, aux))` with has_aux)."""
    @functools.wraps(func)
    def wrapper(*args):
        if _is_tracing(args):  # inside another transform's trace: the traced grad
            value, g = _traced.value_and_grad(func, argnums, has_aux)(*args)
            return g, value
        with enable_grad():
            args, inputs, nested = _prepare(args, argnums)
            out = func(*args)
            value, aux = out if has_aux else (out, None)
            flat = _grads([value], inputs, None, nested)
        value = value if nested else value.detach()
        g = _regroup(args, argnums, flat)
        return (g, (value, aux)) if has_aux else (g, value)
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """torch.func.grad: the gradient of scalar `func` (and its aux with has_aux)."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args):
        g, value = both(*args)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """torch.func.vjp: `(output, vjp_fn)` (and aux); `vjp_fn(cotangents)` returns one
    gradient per primal, as a tuple."""
    with enable_grad():
        args, inputs, nested = _prepare(primals, tuple(range(len(primals))))
        out = func(*args)
    value, aux = out if has_aux else (out, None)
    out_leaves, out_tree = tree_flatten(value)

    def vjp_fn(cotangents):
        ct_leaves, ct_tree = tree_flatten(cotangents)
        if ct_tree != out_tree:
            raise RuntimeError(f"vjp_fn: expected cotangents with the output's structure "
                               f"{out_tree}, got {ct_tree}")
        with enable_grad():
            flat = _grads(out_leaves, inputs, [_as_tensor(c) for c in ct_leaves], nested)
        return tuple(_regroup(args, tuple(range(len(args))), flat))
    shown = value if nested else tree_map(lambda t: t.detach(), value)
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """torch.func.jvp: `(output, jvp_out)` by the forward-mode pass (traced once per
    signature); the double-vjp trick on the eager tape when func cannot be traced."""
    try:
        return _forward.jvp(func, tuple(primals), tuple(tangents), has_aux=has_aux)
    except TracerError:
        pass
    out, vjp_fn = vjp(func, *primals)[:2]
    with enable_grad():
        dummies = tree_map(lambda o: zeros_like(o).requires_grad_(True), out)
        grads = vjp_fn_with_graph(func, primals, dummies)
        t_leaves = [_as_tensor(t) for t in tree_flatten(tuple(tangents))[0]]
        g_leaves = tree_flatten(grads)[0]
        d_leaves, d_tree = tree_flatten(dummies)
        live = [(g, t) for g, t in zip(g_leaves, t_leaves) if g.requires_grad]
        got = _autograd_grad([g for g, _ in live], d_leaves, [t for _, t in live],
                             allow_unused=True) if live else [None] * len(d_leaves)
    outs = [zeros_like(d) if g is None else g.detach() for g, d in zip(got, d_leaves)]
    return out, d_tree.unflatten(outs)


def vjp_fn_with_graph(func, primals, cotangents):
    """The vjp of func at primals against `cotangents`, keeping the graph to them."""
    with enable_grad():
        args, inputs, _ = _prepare(primals, tuple(range(len(primals))))
        out = func(*args)
        o_leaves = tree_flatten(out)[0]
        c_leaves = tree_flatten(cotangents)[0]
        got = _autograd_grad(o_leaves, inputs, c_leaves, retain_graph=True, create_graph=True,
                             allow_unused=True)
    return [zeros_like(x) if g is None else g for g, x in zip(got, inputs)]


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """torch.func.vmap: the batching pass over a traced func; a loop over the batch on
    the eager tape when func cannot be traced."""
    traced = _batched.vmap(func, in_dims=in_dims, out_dims=out_dims)

    @functools.wraps(func)
    def wrapper(*args):
        try:
            return traced(*args)
        except TracerError:
            return _loop(func, args, in_dims, out_dims)
    return wrapper


def _loop(func, args, in_dims, out_dims):
    dims = [in_dims] * len(args) if isinstance(in_dims, int) or in_dims is None \
        else list(in_dims)
    size = next(_as_tensor(a).shape[d] for a, d in zip(args, dims) if d is not None)
    outs = []
    for k in range(size):
        example = [a if d is None else _as_tensor(a).select(d, k) for a, d in zip(args, dims)]
        outs.append(func(*example))
    leaves = [tree_flatten(o)[0] for o in outs]
    tree = tree_flatten(outs[0])[1]
    od = [out_dims] * tree.num_leaves if isinstance(out_dims, int) else \
        tree_flatten(out_dims)[0]
    return tree.unflatten([stack([ls[i] for ls in leaves], od[i])
                           for i in range(tree.num_leaves)])


def _jacobian(traced_kind, func, argnums, has_aux):
    traced = traced_kind(func, argnums=argnums, has_aux=has_aux)

    @functools.wraps(func)
    def wrapper(*args):
        try:
            return traced(*args)
        except TracerError:
            return _eager_jacrev(func, args, argnums, has_aux)
    return wrapper


def _eager_jacrev(func, args, argnums, has_aux):
    """One vjp per output element, on the eager tape (func with Python control flow)."""
    out = vjp(func, *args, has_aux=has_aux)
    value, vjp_fn = out[0], out[1]
    if not isinstance(value, Tensor):
        raise TypeError("jacrev/jacfwd on the eager tape: func must return one tensor")
    nums = _argnums_tuple(argnums)
    flat = value.reshape(-1)
    rows = []
    basis = np.eye(flat.shape[0], dtype=flat.numpy().dtype)
    for k in range(flat.shape[0]):
        rows.append(vjp_fn(Tensor._from_array(basis[k].reshape(tuple(value.shape)))))
    blocks = [stack([r[i] for r in rows], 0).reshape(tuple(value.shape) + tuple(args[i].shape))
              for i in nums]
    jac = blocks[0] if isinstance(argnums, int) else tuple(blocks)
    return (jac, out[2]) if has_aux else jac


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None, _preallocate=False):
    """torch.func.jacrev: reverse mode vmapped over the outputs' basis."""
    return _jacobian(_batched.jacrev, func, argnums, has_aux)


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """torch.func.jacfwd: forward mode vmapped over the inputs' basis."""
    return _jacobian(_batched.jacfwd, func, argnums, has_aux)


def hessian(func, argnums=0):
    """torch.func.hessian: jacfwd(jacrev(func))."""
    return jacfwd(jacrev(func, argnums), argnums)
