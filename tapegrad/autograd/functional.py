"""`torch.autograd.functional`: the eager versions are tracer/functional.py (PyTorch's
flow, strict mode, create_graph); here the routes through the transforms.

`jvp` runs the forward-mode pass and `hvp` / `vhp` forward over reverse (the JVP of
the gradient; `vhp` = `hvp` because the Hessian of a twice differentiable function is
symmetric), and `jacobian` / `hessian` with `vectorize=True` run the batched Jacobian
passes (jacrev, or jacfwd for strategy="forward-mode"): each is one traced, compiled
program per function and signature, instead of two reverse passes or a Python loop
over rows.  They take that route when neither `create_graph` nor `strict` asks for the
eager tape's graph or checks; a function that cannot be traced (Python control flow
on values) runs on the eager tape as before.
"""
from __future__ import annotations

import weakref

from ..tracer import functional as _eager
from ..tracer import transforms as _traced
from ..tracer import transforms_forward as _forward
from ..tracer import transforms_vmap as _batched
from ..tracer.creation import ones_like
from ..tracer.errors import TracerError
from ..tracer.functional import vjp  # noqa: F401  (reverse mode is the eager tape's)
from ..tracer.tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

#: per function: its traced helpers (value_and_grad over every input, ...)
_HELPERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _helper(func, kind: str, build):
    try:
        per_func = _HELPERS.setdefault(func, {})
    except TypeError:
        return build()
    made = per_func.get(kind)
    if made is None:
        made = per_func[kind] = build()
    return made


def _inputs_and_v(func_name: str, inputs, v):
    is_tuple, xs = _eager._as_tuple(inputs, "inputs", func_name)
    xs = tuple(x.detach() for x in xs)
    if v is None:
        if len(xs) != 1 or xs[0].numel() != 1:
            raise RuntimeError(_eager._V_NONE_INPUT)
        vs = (ones_like(xs[0]),)
    else:
        _, vs = _eager._as_tuple(v, "v", func_name)
        vs = tuple(t.detach() for t in vs)
        _eager._validate_v(vs, xs, is_tuple)
    return is_tuple, xs, vs


class _EagerOnly(TracerError):
    """The traced route cannot take this call; the eager tape gives PyTorch's message."""


def _single_element(func):
    """func's output as a 0-d tensor (PyTorch accepts any single-element output)."""
    def scalar(*args):
        out = func(*args)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise _EagerOnly("not a single-element tensor")
        return out.reshape(())
    return scalar


def _single(is_tuple: bool, values):
    return tuple(values) if is_tuple else values[0]


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v) by the forward-mode pass."""
    if not (create_graph or strict):
        is_tuple, xs, vs = _inputs_and_v("jvp", inputs, v)
        try:
            out, tangent = _forward.jvp(func, xs, vs)
        except TracerError:
            pass
        else:
            _eager._as_tuple(out, "outputs of the user-provided function", "jvp")
            return out, tangent
    return _eager.jvp(func, inputs, v, create_graph, strict)


def _forward_over_reverse(func, inputs, v, name: str):
    is_tuple, xs, vs = _inputs_and_v(name, inputs, v)
    n = len(xs)
    value_and_grad = _helper(func, f"value_and_grad{n}", lambda: _traced.value_and_grad(
        _single_element(func), argnums=tuple(range(n))))
    (value, _), (_, hv) = _forward.jvp(value_and_grad, xs, vs)
    out = func(*xs)
    return value.reshape(tuple(out.shape)), _single(is_tuple, hv)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for scalar func: forward over reverse."""
    if not (create_graph or strict):
        try:
            return _forward_over_reverse(func, inputs, v, "hvp")
        except (TracerError, AttributeError):
            pass
    return _eager.hvp(func, inputs, v, create_graph, strict)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for scalar func: H is symmetric, so H v, forward over reverse."""
    if not (create_graph or strict):
        try:
            return _forward_over_reverse(func, inputs, v, "vhp")
        except (TracerError, AttributeError):
            pass
    return _eager.vhp(func, inputs, v, create_graph, strict)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func / d inputs; with vectorize=True one batched program (jacrev, or jacfwd for
    strategy="forward-mode")."""
    if vectorize and not (create_graph or strict) and strategy in _eager._STRATEGIES:
        is_tuple, xs = _eager._as_tuple(inputs, "inputs", "jacobian")
        xs = tuple(x.detach() for x in xs)
        kind = "jacfwd" if strategy == "forward-mode" else "jacrev"
        n = len(xs)
        build = _batched.jacfwd if kind == "jacfwd" else _batched.jacrev
        jac = _helper(func, f"{kind}{n}", lambda: build(func, argnums=tuple(range(n))))
        try:
            blocks = jac(*xs)
        except TracerError:
            pass
        else:
            if isinstance(blocks, tuple) and blocks and isinstance(blocks[0], tuple):
                return tuple(_single(is_tuple, row) for row in blocks)
            return _single(is_tuple, blocks)
    return _eager.jacobian(func, inputs, create_graph, strict, vectorize, strategy)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of scalar func; with vectorize=True jacfwd(jacrev(func)) as one
    program (the outer strategy does not change the numbers)."""
    if vectorize and not (create_graph or strict) and \
            outer_jacobian_strategy in _eager._STRATEGIES:
        is_tuple, xs = _eager._as_tuple(inputs, "inputs", "hessian")
        xs = tuple(x.detach() for x in xs)
        n = len(xs)
        hess = _helper(func, f"hessian{n}", lambda: _batched.hessian(
            _single_element(func), argnums=tuple(range(n))))
        try:
            blocks = hess(*xs)
        except TracerError:
            pass
        else:
            if not is_tuple:
                return blocks[0][0]
            return tuple(tuple(row) for row in blocks)
    return _eager.hessian(func, inputs, create_graph, strict, vectorize,
                          outer_jacobian_strategy)
