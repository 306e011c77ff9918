"""`tg.export`: transformed functions as data that can travel (JAX's `jax.export`).

    exp = tg.export.export(tg.value_and_grad(loss))(params, x, y)   # or .export(...)
    exp(params, x, y)                      # as the transform, for that signature only
    data = exp.serialize()                 # bytes: IR text, structures, versions, checksum
    again = tg.export.deserialize(data)    # verified, then compiled here (or from disk)
    pickle.dumps(tg.value_and_grad(loss))  # the same route: each compiled signature

Any transformed function that lowers through IR stages exports: it needs a
`lower(*args)` returning an object with `program` (the IR compiled and run), `tree`
(the results' structure) and, when it has them, `ir` and `adjoint`; `static_argnums`
if it has static arguments.  A plain Python function is compiled first (tg.compile).
"""
from __future__ import annotations

import pickle

from ..tracer.trace import function_name
from ..tracer.transforms import Transformed, compile as _compile
from ..tracer.transforms_signature import BadArgument, signature
from .container import FORMAT_VERSION
from .exported import Exported, deserialize, versions
from .treespec import ExportFormatError, describe_signature

__all__ = ["export", "deserialize", "Exported", "ExportedSet", "ExportFormatError",
           "FORMAT_VERSION", "register_exportable", "versions"]


def export(fun, *, static_argnums=()):
    """`export(f)(*example_args)`: an Exported of `f` (a transformed function, or a plain
    one to compile) for calls with the signature of `example_args`."""
    transformed = fun if callable(getattr(fun, "lower", None)) \
        else _compile(fun, static_argnums=static_argnums)

    def exporter(*args) -> Exported:
        return _export_call(transformed, args)
    exporter.__name__ = f"export({_name(transformed)})"
    return exporter


def _name(transformed) -> str:
    return function_name(getattr(transformed, "fun", transformed))


def _static(transformed, n: int) -> frozenset[int]:
    given = getattr(transformed, "static_argnums", ())
    return frozenset(k % n for k in ((given,) if isinstance(given, int) else given)
                     if -n <= k < n)


def _export_call(transformed, args: tuple) -> Exported:
    try:
        key, _ = signature(args, _static(transformed, len(args)), [])
    except BadArgument as e:
        raise TypeError(f"export of {_name(transformed)}: argument {e.index}{e.path} "
                        f"{e.problem}") from None
    return _from_lowered(transformed, key, transformed.lower(*args))


def _from_lowered(transformed, key: tuple, lowered) -> Exported:
    spec = getattr(transformed, "spec", None)
    kind = getattr(spec, "kind", type(transformed).__name__)
    return Exported(_name(transformed), kind, key, lowered.tree, lowered.program,
                    getattr(lowered, "ir", None), getattr(lowered, "adjoint", None))


class ExportedSet:
    """What unpickling a transformed function gives: one Exported per signature it had
    compiled, called by signature (another signature raises TypeError naming them)."""

    def __init__(self, name: str, exported: list[Exported]):
        self.name = name
        self.exported = list(exported)
        self._by_key = {e.in_signature: e for e in self.exported}
        self._statics = list(dict.fromkeys(e.static for e in self.exported))

    def __call__(self, *args):
        for static in self._statics:
            try:
                key, _ = signature(args, static, [])
            except BadArgument:
                continue
            found = self._by_key.get(key)
            if found is not None:
                return found.call(*args)
        if self.exported:
            key, _ = signature(args, self._statics[0], [])
            called = describe_signature(self.name, key)
        else:
            called = f"{self.name}(...)"
        raise TypeError(f"{self.name}() was exported for the signatures "
                        f"{'; '.join(e.signature for e in self.exported)} but called as "
                        f"{called}")

    call = __call__

    def __repr__(self) -> str:
        return f"<tapegrad.export.ExportedSet of {len(self.exported)} signatures of {self.name}>"

    def __reduce__(self):
        return _restore, (self.name, tuple(e.serialize() for e in self.exported))


def _restore(name: str, payloads: tuple) -> ExportedSet:
    return ExportedSet(name, [deserialize(p) for p in payloads])


def _transformed_export(self, *args) -> Exported:
    """An Exported of this function for calls with the signature of `args`
    (tapegrad.export; `tg.export.export(f)(*args)` says the same)."""
    return _export_call(self, args)


def _transformed_reduce(self):
    """Pickled as the serialized form of each signature compiled so far (no code, no
    pickle of the function): it unpickles as an ExportedSet."""
    with self._lock:
        entries = list(self._cache._entries.items())
    if not entries:
        raise pickle.PicklingError(
            f"cannot pickle {self!r}: it has no compiled signature yet; call it (or "
            f".lower(*args)) first, or use tg.export.export(f)(*args)")
    return _restore, (_name(self), tuple(_from_lowered(self, key, lowered).serialize()
                                         for key, lowered in entries))


def _transformed_copy(self):
    """A shallow copy, as before pickling was defined: the same function and cache."""
    other = type(self).__new__(type(self))
    other.__dict__.update(self.__dict__)
    return other


def _transformed_deepcopy(self, memo):
    """The same object, as for a Python function (the reduction above would export it)."""
    return self


def register_exportable(cls: type) -> type:
    """Give a class of transformed functions (with `lower`, a `_cache` and a `_lock` as
    tracer.transforms.Transformed) the `.export(*args)` method and pickling by export."""
    cls.export = _transformed_export
    cls.__reduce__ = _transformed_reduce
    cls.__copy__ = _transformed_copy
    cls.__deepcopy__ = _transformed_deepcopy
    return cls


register_exportable(Transformed)  # late registration: tracer cannot import this module
