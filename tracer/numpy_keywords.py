"""NumPy's keyword names, accepted where PyTorch accepts them.

PyTorch's argument parser takes `axis` for `dim` and `keepdims` for `keepdim`
in every native function and Tensor method (`A.sum(axis=1, keepdims=True)`, as
d2l writes it; it also takes `x`/`x1`/`x2` for `input`/`other`, which nobody
writes, so those are left out and add/mul keep their unwrapped hot path).  tapegrad's
operations are Python functions with PyTorch's parameter names, so one wrapper,
installed once over the operation namespaces and Tensor's methods, renames the
aliases before the call; a call with neither alias pays one `if kwargs`.
"""
from __future__ import annotations

import functools
import inspect
import types

from .out_argument import call_with_out

#: PyTorch's parameter name -> the NumPy names its parser also accepts
ALIASES = {"dim": ("axis",), "keepdim": ("keepdims",)}


def _renames(fn) -> tuple[tuple[str, str], ...]:
    """(alias, parameter) pairs that apply to `fn`: its parameter is there, the alias is not."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    if any(p.kind is p.VAR_KEYWORD for p in params.values()) or "axis" in params:
        return ()
    return tuple((alias, target) for target, aliases in ALIASES.items() if target in params
                 for alias in aliases if alias not in params)


def take(api: str, dim, keepdim, axis, keepdims):
    """(dim, keepdim) of a function that takes the aliases as parameters itself (sum and
    mean, whose hot path a wrapper's extra call would slow by ~6%)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{api}() got an unexpected keyword argument 'axis'")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, keepdim


def accept_numpy_keywords(fn, takes_out: bool = False, api: str | None = None):
    """`fn`, also taking the NumPy aliases of its parameters, and `out=` if `takes_out`
    (out_argument.py); fn itself if neither applies.  One wrapper for both: one call."""
    renames = _renames(fn)
    try:
        takes_out = takes_out and "out" not in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_out = False
    if not renames and not takes_out:
        return fn
    name = api or fn.__name__  # the public name: some operations are made by a factory

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            for alias, target in renames:
                if alias in kwargs:
                    if target in kwargs:  # both spellings: PyTorch's parser refuses it too
                        raise TypeError(f"{name}() got an unexpected keyword argument {alias!r}")
                    kwargs[target] = kwargs.pop(alias)
            if takes_out and "out" in kwargs:
                out = kwargs.pop("out")
                if out is not None:
                    return call_with_out(name, fn, args, kwargs, out)
        return fn(*args, **kwargs)
    wrapper._numpy_keywords = True
    return wrapper


def install(names: list[str], modules: list, cls: type, with_out=frozenset()) -> None:
    """Wrap the functions called `names` wherever a module in `modules` binds them (where
    `tg.*` imports them from), and cls's methods, in place; one wrapper per function.
    The functions named in `with_out` also take `out=` (not the methods: PyTorch's don't)."""
    wrapped: dict[tuple, tuple] = {}

    def wrap(fn, takes_out=False, api=None):
        if getattr(fn, "_numpy_keywords", False) or not isinstance(fn, types.FunctionType):
            return fn
        key = (id(fn), takes_out)
        if key not in wrapped:  # the pair keeps fn alive, so its id is not reused
            wrapped[key] = (fn, accept_numpy_keywords(fn, takes_out, api))
        return wrapped[key][1]

    for name, obj in list(vars(cls).items()):
        if not name.startswith("__"):
            new = wrap(obj)
            if new is not obj:
                setattr(cls, name, new)
    for module in modules:
        for name in names:
            if name in vars(module):
                setattr(module, name, wrap(getattr(module, name), name in with_out, name))
