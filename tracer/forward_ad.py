"""Forward-mode AD on the eager tape (torch.autograd.forward_ad): dual tensors.

Inside a dual level a tensor may carry a tangent.  After the tape binds a primitive
on an operand that has one, `propagate` binds that primitive's JVP rule (ir/jvp_rules.py,
the table tg.jvp's IR pass uses) on the operands and their tangents, as eager
operations: a tangent is an ordinary tensor, recorded on the tape when what it reads
requires grad, so reverse over forward works as in PyTorch.  Tangents are kept beside
the tensors (by identity, dropped with them) and all of a level's go when it exits.
"""
from __future__ import annotations

import weakref
from typing import NamedTuple

from ..ir import primitives as P
from ..ir.builder import Builder
from ..ir.core import Instr, Param, TupleType
from ..ir.jvp_rules import JVP_RULES
from . import tape as _tape
from .dual_state import state
from .errors import at, user_loc
from .tensor import Tensor

_levels: list[dict] = []  # one store per entered level: id(tensor) -> (weakref, tangent)


class UnpackedDualTensor(NamedTuple):
    """What unpack_dual returns: the primal (a view) and the tangent (as stored, or None)."""
    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    if _levels:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _levels.append({})
    return len(_levels) - 1


def exit_dual_level(*, level: int | None = None) -> None:
    current = len(_levels) - 1
    if level is None:
        level = current
    if level != current or current < 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    _levels.pop()
    state.active = False


class dual_level:
    """`with dual_level():` every dual tensor made inside loses its tangent at the exit."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)
        return run


def _store(level: int | None) -> dict | None:
    current = len(_levels) - 1
    if level is None:
        level = current
    if level < 0 or level > current:
        return None
    return _levels[level]


def tangent_of(t: Tensor, level: int | None = None) -> Tensor | None:
    store = _store(level)
    entry = None if store is None else store.get(id(t))
    return None if entry is None or entry[0]() is not t else entry[1]


def set_tangent(t: Tensor, tangent: Tensor | None, level: int | None = None) -> None:
    store = _store(level)
    if store is None:
        return
    key = id(t)
    if tangent is None:
        store.pop(key, None)
        return

    def forget(ref, key=key, store=store):
        entry = store.get(key)
        if entry is not None and entry[0] is ref:
            del store[key]
    store[key] = (weakref.ref(t, forget), tangent)
    state.active = True


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of `tensor` whose tangent is `tangent` (itself when its layout matches
    `tensor`'s, else a contiguous copy)."""
    if _store(level) is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if not tensor.dtype.is_float:
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"torch.{tensor.dtype.torch_name}")
    if not tangent.dtype.is_float:
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"torch.{tangent.dtype.torch_name}")
    if tangent.shape != tensor.shape:
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than "
                           f"that of the original Tensor, this is not supported. Tensor is of "
                           f"size {list(tensor.shape)} while the given forward gradient is of "
                           f"size {list(tangent.shape)}.{at(user_loc())}")
    if _element_strides(tangent) != _element_strides(tensor):
        with suspended():
            tangent = tangent.clone()
    with suspended():
        dual = tensor.view(tuple(tensor.shape))
    set_tangent(dual, tangent, level)
    return dual


def _element_strides(t: Tensor) -> tuple:
    a = t._data
    return tuple(s // a.itemsize for s in a.strides) if a.ndim else ()


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """(a view of the primal, the tangent as stored); (tensor, None) outside any level."""
    if _store(level) is None:
        return UnpackedDualTensor(tensor, None)
    tangent = tangent_of(tensor, level)
    with suspended():
        return UnpackedDualTensor(tensor.view(tuple(tensor.shape)), tangent)


class suspended:
    """No tangent propagation inside (the tangents' own arithmetic, views of primals),
    and no enclosing operation: a tangent's primitives get nodes of their own."""

    def __enter__(self):
        self.active, self.node = state.active, _tape._tls.node
        state.active = False
        _tape._tls.node = None

    def __exit__(self, *exc):
        state.active = self.active
        _tape._tls.node = self.node
        return False


def propagate(prim, args: tuple, attrs: dict, out: Tensor) -> Tensor:
    """Give `out` = prim(args) its tangent from the operands' tangents (None: zero)."""
    store = _levels[-1] if _levels else None
    if not store or not args:
        return out
    tangents = []
    for a in args:
        entry = store.get(id(a))
        tangents.append(entry[1] if entry is not None and entry[0]() is a else None)
    if all(t is None for t in tangents) or not out.dtype.is_float \
            or isinstance(out._type, TupleType):
        return out
    rule = JVP_RULES.get(prim)
    if rule is None:
        raise NotImplementedError(f"forward-mode AD: the primitive {prim.name} has no JVP "
                                  f"rule{at(user_loc())}")
    params = [Param(a._type) for a in args]
    instr = Instr(prim, params, attrs, out._type)
    tparams = [Param(a._type) if t is not None and a.dtype.is_float else None
               for a, t in zip(args, tangents)]
    b = Builder("forward_ad")
    result = rule(b, instr, tparams)
    env = {id(p): a for p, a in zip(params, args)}
    env[id(instr)] = out
    with suspended():
        for tp, a, t in zip(tparams, args, tangents):
            if tp is not None:
                env[id(tp)] = t if t.dtype is a.dtype else t.to(a.dtype)
        if result is None:  # a zero tangent: PyTorch's is a tensor of zeros too
            tangent = _tape.bind(P.full, type=out._type, value=0.0)
        else:
            for i in b.body:
                operands = [env[id(o)] for o in i.operands]
                if i.prim.nullary_typed:
                    env[id(i)] = _tape.bind(i.prim, type=i.type, **i.attrs)
                else:
                    env[id(i)] = _tape.bind(i.prim, *operands, **i.attrs)
            tangent = env[id(result)]
    set_tangent(out, tangent)
    return out


def commit_tangent(x: Tensor, result: Tensor) -> None:
    """An in-place operation wrote `result` into `x`: x's tangent becomes result's, or
    zeros when x was dual and result has none (x.zero_() keeps x dual, as in PyTorch)."""
    tangent = tangent_of(result)
    if tangent is None and tangent_of(x) is not None:
        with suspended():
            tangent = _tape.bind(P.full, type=x._type, value=0.0)
    set_tangent(x, tangent)


state.propagate = propagate
state.commit_tangent = commit_tangent
state.tangent_of = tangent_of
