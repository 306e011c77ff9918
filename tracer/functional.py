"""`tg.autograd.functional` and `tg.autograd.gradcheck`, built on `autograd.grad`.

Jacobians take one reverse pass per output element; forward-mode products
(`jvp`) use the double-vjp trick: the vjp is linear in its cotangent `u`, so
differentiating <J^T u, v> with respect to `u` gives J v.
"""
from __future__ import annotations

import numpy as np

from .engine import grad as autograd_grad
from .grad_mode import enable_grad
from .tensor import Tensor


def _as_tuple(x):
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _prepare_inputs(inputs, create_graph: bool):
    inputs, is_tuple = _as_tuple(inputs)
    prepared = []
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs must be Tensors, got {type(t).__name__}")
        t = t if create_graph and t.requires_grad else t.detach()
        prepared.append(t.requires_grad_(True) if not t.requires_grad else t)
    return tuple(prepared), is_tuple


def _grads(outputs, inputs, grad_outputs, create_graph):
    """autograd.grad with zeros where no gradient flows, including from outputs that do
    not require grad (a constant, or the gradient of a linear function), as PyTorch's
    functional API does unless strict=True."""
    grad_outputs = [None] * len(outputs) if grad_outputs is None else list(grad_outputs)
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    gs = [None] * len(inputs)
    if live:
        gs = autograd_grad([o for o, _ in live], inputs, [g for _, g in live],
                           retain_graph=True, create_graph=create_graph, allow_unused=True)
    return tuple(Tensor._from_array(np.zeros(i.shape, i.dtype.np)) if g is None else g
                 for g, i in zip(gs, inputs))


def _maybe_detach(t: Tensor, create_graph: bool) -> Tensor:
    return t if create_graph else t.detach()


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J)."""
    with enable_grad():
        inputs, is_tuple = _prepare_inputs(inputs, create_graph)
        outputs, out_tuple = _as_tuple(func(*inputs))
        vs = _as_tuple(v)[0] if v is not None else (None,) * len(outputs)
        if v is None and any(o.numel() != 1 for o in outputs):
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
        gs = _grads(list(outputs), list(inputs), list(vs), create_graph)
    outs = tuple(_maybe_detach(o, create_graph) for o in outputs)
    gs = tuple(_maybe_detach(g, create_graph) for g in gs)
    return (outs if out_tuple else outs[0]), (gs if is_tuple else gs[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v), by differentiating a vjp with respect to its cotangent."""
    with enable_grad():
        inputs, is_tuple = _prepare_inputs(inputs, True)
        vs = _as_tuple(v)[0] if v is not None else None
        if vs is None:
            if any(i.numel() != 1 for i in inputs):
                raise RuntimeError("The vector v can only be None if the input to the "
                                   "user-provided function is a single Tensor with a single element.")
            vs = tuple(Tensor._from_array(np.ones(i.shape, i.dtype.np)) for i in inputs)
        outputs, out_tuple = _as_tuple(func(*inputs))
        us = tuple(Tensor._from_array(np.zeros(o.shape, o.dtype.np)).requires_grad_()
                   for o in outputs)
        gs = _grads(list(outputs), list(inputs), list(us), True)
        jv = _grads(list(gs), list(us), list(vs), create_graph)
    outs = tuple(_maybe_detach(o, create_graph) for o in outputs)
    jv = tuple(_maybe_detach(g, create_graph) for g in jv)
    return (outs if out_tuple else outs[0]), (jv if out_tuple else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func / d inputs, shaped output.shape + input.shape (nested tuples as PyTorch)."""
    with enable_grad():
        inputs, is_tuple = _prepare_inputs(inputs, create_graph)
        outputs, out_tuple = _as_tuple(func(*inputs))
        rows = []
        for out in outputs:
            per_input = [np.zeros((out.numel(),) + tuple(i.shape), i.dtype.np) for i in inputs]
            flat = out.reshape(-1)
            blocks = [[] for _ in inputs]
            for k in range(out.numel()):
                gs = _grads([flat[k]], list(inputs), None, create_graph)
                for j, g in enumerate(gs):
                    if create_graph:
                        blocks[j].append(g)
                    else:
                        per_input[j][k] = np.asarray(g.detach())
            if create_graph:
                from .ops import stack
                jac = tuple(stack(b).reshape(tuple(out.shape) + tuple(i.shape)) if b else
                            Tensor._from_array(np.zeros(tuple(out.shape) + tuple(i.shape),
                                                        i.dtype.np))
                            for b, i in zip(blocks, inputs))
            else:
                jac = tuple(Tensor._from_array(a.reshape(tuple(out.shape) + tuple(i.shape)))
                            for a, i in zip(per_input, inputs))
            rows.append(jac if is_tuple else jac[0])
    return tuple(rows) if out_tuple else rows[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Jacobian of the gradient of scalar `func`."""
    inputs_t, is_tuple = _as_tuple(inputs)

    def gradient(*xs):
        with enable_grad():
            out = func(*xs)
            if not isinstance(out, Tensor) or out.numel() != 1:
                raise RuntimeError("The function given to hessian should return a single "
                                   "Tensor with a single element")
            gs = _grads([out], list(xs), None, True)
        return gs if is_tuple else gs[0]

    return jacobian(gradient, inputs, create_graph=create_graph)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for scalar `func`: the gradient of <grad f, v>."""
    with enable_grad():
        inputs, is_tuple = _prepare_inputs(inputs, True)
        vs, _ = _as_tuple(v)
        out = func(*inputs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hvp should return a single Tensor with "
                               "a single element")
        gs = _grads([out], list(inputs), None, True)
        dot = None
        for g, vv in zip(gs, vs):
            term = (g * vv).sum()
            dot = term if dot is None else dot + term
        hv = _grads([dot], list(inputs), None, create_graph)
    hv = tuple(_maybe_detach(h, create_graph) for h in hv)
    return _maybe_detach(out, create_graph), (hv if is_tuple else hv[0])


# ---------------------------------------------------------------- gradcheck


class GradcheckError(RuntimeError):
    pass


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              **unused) -> bool:
    """Compare analytic gradients with central differences; True, or raise on a mismatch.

    An output that does not require grad (integer, or computed without a graph,
    like the gradient of a linear function under create_graph) has an analytic
    Jacobian of zero, as in PyTorch: the finite differences must then be zero.
    """
    inputs, _ = _as_tuple(inputs)
    diff = [(k, t) for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    numeric = _numerical_jacobians(func, inputs, [t for _, t in diff], eps)
    analytic = _analytical_jacobians(func, inputs, [t for _, t in diff])
    worst = None
    for (oi, ii), a in analytic.items():
        nmr = numeric[oi, ii]
        err = np.abs(a - nmr) - (atol + rtol * np.abs(nmr))
        if err.size and err.max() > 0 and (worst is None or err.max() > worst[0]):
            k, j = np.unravel_index(np.argmax(err), err.shape)
            worst = (err.max(), oi, diff[ii][0], k, j, a[k, j], nmr[k, j])
    if worst is None:
        return True
    _, oi, ii, k, j, a, nmr = worst
    msg = (f"Jacobian mismatch for output {oi} with respect to input {ii}: at input element "
           f"{k}, output element {j}: analytic {a!r}, numerical {nmr!r} (atol={atol}, "
           f"rtol={rtol})")
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _float_outputs(func, inputs) -> list:
    outs, _ = _as_tuple(func(*inputs))
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.is_float]


def _numerical_jacobians(func, inputs, diff, eps) -> dict:
    """(output, input) -> array [input numel, output numel] of central differences."""
    with enable_grad():
        sizes = [o.numel() for o in _float_outputs(func, inputs)]
    jac = {(oi, ii): np.zeros((x.numel(), n)) for oi, n in enumerate(sizes)
           for ii, x in enumerate(diff)}
    for ii, x in enumerate(diff):
        buf = x._data  # perturbed in place (any strides), then restored
        for k, idx in enumerate(np.ndindex(*buf.shape)):
            orig = buf[idx].copy()
            values = []
            for delta in (eps, -eps):
                buf[idx] = orig + delta
                with enable_grad():
                    values.append([np.asarray(o.detach(), np.float64).reshape(-1)
                                   for o in _float_outputs(func, inputs)])
            buf[idx] = orig
            for oi, (plus, minus) in enumerate(zip(*values)):
                jac[oi, ii][k] = (plus - minus) / (2 * eps)
    return jac


def _analytical_jacobians(func, inputs, diff) -> dict:
    """(output, input) -> array [input numel, output numel], one backward per output element."""
    with enable_grad():
        outs = _float_outputs(func, inputs)
        jac = {(oi, ii): np.zeros((x.numel(), o.numel())) for oi, o in enumerate(outs)
               for ii, x in enumerate(diff)}
        for oi, out in enumerate(outs):
            if not out.requires_grad or not diff:
                continue
            for j in range(out.numel()):
                sel = np.zeros(out.numel(), out.dtype.np)
                sel[j] = 1
                gs = autograd_grad([out], diff, [Tensor._from_array(sel.reshape(out.shape))],
                                   retain_graph=True, allow_unused=True)
                for ii, g in enumerate(gs):
                    if g is not None:
                        jac[oi, ii][:, j] = np.asarray(g.detach(), np.float64).reshape(-1)
    return jac
