"""A JSON view of a loaded checkpoint that PyTorch's and tapegrad's objects both give.

The recording script describes what `torch.load` returns; the tests describe
what `tg.load` returns and compare. Only duck-typed attributes are used
(`dtype`, `shape`, `stride()`, `storage_offset()`, `requires_grad`,
`tolist()`), so this file imports neither library.
"""
import math


def _number(x):
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)  # 'nan', 'inf', '-inf': JSON has no spelling for them
    return x


def _values(v):
    return [_values(x) for x in v] if isinstance(v, list) else _number(v)


def is_tensor(obj) -> bool:
    return hasattr(obj, "storage_offset") and hasattr(obj, "stride")


def describe(obj, storage_key, path="obj", groups=None):
    """obj as plain JSON data; tensors by dtype, layout and exact values. storage_key(t)
    identifies a tensor's storage; groups collects {key: [paths]} for sharing checks."""
    if is_tensor(obj):
        if groups is not None:
            groups.setdefault(storage_key(obj), []).append(path)
        return {"tensor": type(obj).__name__, "dtype": str(obj.dtype),
                "shape": list(obj.shape), "stride": list(obj.stride()),
                "offset": obj.storage_offset(), "requires_grad": bool(obj.requires_grad),
                "values": _values(obj.detach().tolist())}
    kind = type(obj).__name__
    if isinstance(obj, dict):
        items = [[describe(k, storage_key, f"{path} key", groups),
                  describe(v, storage_key, f"{path}[{k!r}]", groups)] for k, v in obj.items()]
        extra = {k: describe(v, storage_key, f"{path}.{k}", groups)
                 for k, v in sorted(getattr(obj, "__dict__", {}).items())}
        return {kind: items, "attributes": extra} if extra else {kind: items}
    if isinstance(obj, (list, tuple, set)):
        seq = sorted(obj, key=repr) if isinstance(obj, set) else obj
        return {kind: [describe(x, storage_key, f"{path}[{i}]", groups)
                       for i, x in enumerate(seq)]}
    if isinstance(obj, (bytes, bytearray)):
        return {kind: list(obj)}
    if isinstance(obj, complex):
        return {kind: [_number(obj.real), _number(obj.imag)]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {kind: _number(obj)}
    return {kind.lower(): repr(obj)}  # dtypes and devices print alike in both libraries


def sharing(obj, storage_key) -> list:
    """The groups of tensor paths (two or more) that share one storage, sorted."""
    groups = {}
    describe(obj, storage_key, groups=groups)
    return sorted(sorted(paths) for paths in groups.values() if len(paths) > 1)
