"""`functional_call(module, params_and_buffers, args)`: call a Module with other tensors.

This is where the two faces meet: `tg.grad`, `tg.value_and_grad` and `tg.compile`
differentiate and compile functions of pytrees, and a Module keeps its parameters
as attributes.  For the duration of one call the named parameters and buffers are
swapped for the given values (traced ones under a transform), as torch.func does,
and the module's own tensors are put back afterwards, also when the call raises.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..tracer.tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """`module(*args, **kwargs)` with the named tensors of `parameter_and_buffer_dicts`
    (a dict, or a sequence of dicts with disjoint keys, keyed as `named_parameters` /
    `named_buffers` name them) in place of the module's own.

    tie_weights: names that share one tensor in the module (tied weights) all take the
    value given for any of them; different values for two tied names are an error.
    strict: every parameter and buffer must be given, and nothing else.
    Values the module reassigns during the call (`self.count = self.count + 1`) are
    written back into the given dict, as PyTorch does."""
    values = _merged(parameter_and_buffer_dicts)
    if tie_weights:
        values = _untied(module, values)
    if strict:
        _check_keys(module, values)
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    originals: dict = {}
    try:
        for name, value in values.items():
            originals[name] = _swap(module, name, value)
        return module(*args, **kwargs)
    finally:
        during = {}
        for name, original in originals.items():
            during[name] = _swap(module, name, original)
        if isinstance(parameter_and_buffer_dicts, dict):
            for name in parameter_and_buffer_dicts:
                if name in during and during[name] is not _MISSING:
                    parameter_and_buffer_dicts[name] = during[name]


def _merged(dicts) -> dict:
    if isinstance(dicts, dict):
        return dicts
    if isinstance(dicts, Sequence) and not isinstance(dicts, str):
        if not all(isinstance(d, dict) for d in dicts):
            raise ValueError("functional_call: expected all elements of "
                             "parameter_and_buffer_dicts to be dictionaries")
        seen: dict[str, int] = {}
        for d in dicts:
            for k in d:
                seen[k] = seen.get(k, 0) + 1
        repeated = [k for k, n in seen.items() if n > 1]
        if repeated:
            raise ValueError(f"functional_call: {repeated} appeared in multiple dictionaries; "
                             "behavior of functional call is ambiguous")
        return {k: v for d in dicts for k, v in d.items()}
    raise ValueError("functional_call: expected parameter_and_buffer_dicts to be a dict, or a "
                     f"list/tuple of dicts, but got {type(dicts).__name__}")


def _named_tensors(module) -> dict:
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untied(module, values: dict) -> dict:
    """values extended to every name tied to a given one (same tensor in the module)."""
    groups: dict[int, list[str]] = {}
    for name, t in _named_tensors(module).items():
        groups.setdefault(id(t), []).append(name)
    out = dict(values)
    for names in groups.values():
        if len(names) < 2:
            continue
        given = [n for n in names if n in values]
        if not given:
            continue
        if len({id(values[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
        for n in names:
            out[n] = values[given[0]]
    return out


def _check_keys(module, values: dict) -> None:
    valid = set(_named_tensors(module))
    missing, unexpected = sorted(valid - set(values)), sorted(set(values) - valid)
    errors = []
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                           + "\n\t".join(errors))


def _swap(module, name: str, value):
    """Put `value` at the dotted `name` (into the parameter or buffer table when the name
    is one, else as a plain attribute; _MISSING removes it) and return what was there."""
    path, _, leaf = name.rpartition(".")
    owner = module.get_submodule(path)
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"functional_call: the value for {name!r} is a "
                        f"{type(value).__name__}, not a Tensor")
    if not leaf:
        raise KeyError("functional_call: a tensor name can't be an empty string")
    for table in (owner._parameters, owner._buffers):
        if leaf in table:
            original = table[leaf]
            if value is _MISSING:
                del table[leaf]
            else:
                table[leaf] = value
            return original
    original = getattr(owner, leaf, _MISSING)
    if original is not _MISSING and original is not None and not isinstance(original, Tensor):
        raise TypeError(f"functional_call: attribute {name!r} is a "
                        f"{type(original).__name__}, not a Tensor")
    if value is not _MISSING:
        object.__setattr__(owner, leaf, value)
    elif leaf in owner.__dict__:
        object.__delattr__(owner, leaf)
    return original
