"""`torch.autograd.gradcheck` and `gradgradcheck`: analytic gradients against central
differences, True or a `GradcheckError` naming the worst element.

Every Jacobian is laid out [input element, output element], as PyTorch prints it.
An output that does not require grad (integer, or computed without a graph, like the
gradient of a linear function under create_graph) has an analytic Jacobian of zero,
as in PyTorch: its finite differences must then be zero too.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..ir import dtypes
from . import forward_ad
from .creation import empty
from .engine import grad as autograd_grad
from .grad_mode import enable_grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """A gradient disagrees with its finite differences (PyTorch's class of that name)."""


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _check_inputs(inputs: tuple) -> None:
    needs = False
    for idx, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype is not dtypes.f64:
                warnings.warn(f"Input #{idx} requires gradient and is not a double precision "
                              "floating point or complex. This check will likely fail if all "
                              "the inputs are not of double precision floating point or "
                              "complex. ", stacklevel=3)
            needs = True
    if not needs:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False,
              masked=None) -> bool:
    """True when every gradient of `func` at `inputs` matches central differences:
    reverse mode's (`check_backward_ad`) and forward mode's, through dual tensors
    (`check_forward_ad`).

    nondet_tol, the batched checks and fast_mode are accepted and change nothing:
    backward is deterministic here, and the full Jacobian is always compared.
    """
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    if not (check_backward_ad or check_forward_ad):
        return True
    diff = [(k, t) for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    numeric = _numerical_jacobians(func, inputs, [t for _, t in diff], eps)
    modes = [(check_backward_ad, _analytical_jacobians, "Jacobian"),
             (check_forward_ad, _forward_jacobians, "Jacobian computed with forward mode")]
    for wanted, jacobians, mode in modes:
        if not wanted:
            continue
        worst = _worst(jacobians(func, inputs, [t for _, t in diff]), numeric, atol, rtol)
        if worst is not None:
            _, oi, ii, a, nmr, err = worst
            return _fail(raise_exception, _mismatch_message(oi, diff[ii][0], a, nmr, err, atol,
                                                            rtol).replace("Jacobian", mode, 1))
    if not check_backward_ad:
        return True
    if check_grad_dtypes:
        message = _grad_dtype_problem(func, inputs, [t for _, t in diff])
        if message is not None:
            return _fail(raise_exception, message)
    if check_undefined_grad:
        message = _undefined_grad_problem(func, inputs, [t for _, t in diff])
        if message is not None:
            return _fail(raise_exception, message)
    return True


def _worst(analytic: dict, numeric: dict, atol: float, rtol: float):
    """The (output, input) pair with the largest excess over the tolerance (SPEC: the
    worst), or None when every element is within it."""
    worst = None
    for (oi, ii), a in sorted(analytic.items()):
        nmr = numeric[oi, ii]
        err = np.abs(a - nmr) - (atol + rtol * np.abs(nmr))
        if err.size and err.max() > 0 and (worst is None or err.max() > worst[0]):
            worst = (err.max(), oi, ii, a, nmr, err)
    return worst


def _forward_jacobians(func, inputs, diff) -> dict:
    """(output, input) -> array [input numel, output numel], one forward pass with a dual
    input per input element (the tangent a one-hot of the input's shape)."""
    jac = {}
    for ii, x in enumerate(diff):
        for k in range(x.numel()):
            onehot = np.zeros(x.numel(), x.dtype.np)
            onehot[k] = 1
            with forward_ad.dual_level():
                dual = forward_ad.make_dual(x, Tensor._from_array(onehot.reshape(x.shape)))
                outs = _float_outputs(func, tuple(dual if a is x else a for a in inputs))
                for oi, o in enumerate(outs):
                    col = jac.setdefault((oi, ii), np.zeros((x.numel(), o.numel())))
                    tangent = forward_ad.unpack_dual(o).tangent
                    if tangent is not None:
                        col[k] = np.asarray(tangent.detach(), np.float64).reshape(-1)
    return jac


def _fail(raise_exception: bool, message: str) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False


def _mismatch_message(oi, ii, analytic, numeric, err, atol, rtol) -> str:
    k, j = np.unravel_index(np.argmax(err), err.shape)
    with np.printoptions(precision=4, suppress=True, threshold=200):
        return (f"Jacobian mismatch for output {oi} with respect to input {ii},\n"
                f"numerical:{numeric}\nanalytical:{analytic}\n"
                f"The worst element: input element {k}, output element {j}: analytical "
                f"{analytic[k, j]!r}, numerical {numeric[k, j]!r} (atol={atol}, rtol={rtol}).")


def _float_outputs(func, inputs) -> list:
    outs = _as_tuple(func(*inputs))
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


def _grad_dtype_problem(func, inputs, diff) -> str | None:
    """check_grad_dtypes: each gradient has its input's dtype."""
    with enable_grad():
        outs = [o for o in _float_outputs(func, inputs) if o.requires_grad]
        if not outs:
            return None
        ones = [Tensor._from_array(np.ones(o.shape, o.dtype.np)) for o in outs]
        gs = autograd_grad(outs, diff, ones, retain_graph=True, allow_unused=True)
    for ii, (g, x) in enumerate(zip(gs, diff)):
        if g is not None and g.dtype is not x.dtype:
            return f"Gradient has dtype mismatch: input {ii} is {x.dtype}, its gradient {g.dtype}"
    return None


def _undefined_grad_problem(func, inputs, diff) -> str | None:
    """Zero output gradients must give zero (or no) input gradients: PyTorch's check with
    undefined gradients, which a backward must treat as zeros."""
    with enable_grad():
        outs = [o for o in _float_outputs(func, inputs) if o.requires_grad]
        if not outs:
            return None
        zeros = [Tensor._from_array(np.zeros(o.shape, o.dtype.np)) for o in outs]
        gs = autograd_grad(outs, diff, zeros, retain_graph=True, allow_unused=True)
    for ii, g in enumerate(gs):
        if g is not None and np.any(np.asarray(g.detach()) != 0):
            return (f"Expected backward function to handle undefined output grads. Please "
                    f"look at \"Notes about undefined output gradients\" in "
                    f"\"tools/autograd/derivatives.yaml\": input {ii} got a nonzero gradient "
                    f"from zero output gradients.")
    return None


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True, fast_mode=False, masked=False) -> bool:
    """gradcheck of the gradients of `func` (computed with create_graph) with respect to
    its inputs and to the output gradients; random output gradients in [-1, 1) unless
    given, drawn from the global generator as PyTorch's (torch.testing.make_tensor:
    `empty(shape).uniform_(-1, 1)`), so a seeded program's later draws match too."""
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
        grad_outputs = tuple(_random_grad_output(o, gen_non_contig_grad_outputs)
                             for o in outs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_out = len(grad_outputs)
    diff_positions = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*args):
        xs, gos = args[:-n_out] if n_out else args, args[len(args) - n_out:]
        outs = [o for o in _as_tuple(func(*xs)) if isinstance(o, Tensor) and o.requires_grad]
        wrt = [xs[k] for k in diff_positions]
        gs = autograd_grad(outs, wrt, list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivatives, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes,
                     check_batched_grad=check_batched_grad, fast_mode=fast_mode,
                     masked=masked)


def _random_grad_output(out: Tensor, noncontiguous: bool) -> Tensor:
    """make_tensor(out.shape, low=-1, high=1, requires_grad=True): a non-contiguous one
    takes every other element of a last axis twice as long, as PyTorch's does."""
    shape = tuple(out.shape)
    noncontiguous = noncontiguous and int(np.prod(shape)) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    g = empty(*shape, dtype=out.dtype).uniform_(-1, 1)
    if noncontiguous:
        g = g[..., 1::2]
    return g.requires_grad_(True)
