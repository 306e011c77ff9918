"""`repr(tensor)`, character for character as PyTorch prints it.

PyTorch's rules with its default options (precision 4, threshold 1000,
edgeitems 3, linewidth 80):

- every element of a tensor is printed with one width, right-aligned;
- a float tensor whose finite non-zero values are all whole numbers prints
  them as `3.`; otherwise with 4 decimals;
- scientific notation (`1.0240e+03`) is used when the finite non-zero
  magnitudes span more than 1000x or exceed 1e8, or, for non-whole values,
  go below 1e-4;
- tensors with more than 1000 elements show the first and last 3 entries of
  each dimension around `...`;
- rows wrap at 80 columns; suffixes (`dtype=`, `grad_fn=`, `requires_grad=`)
  follow, moving to a new line when they would pass column 80.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import dtypes
from .dual_state import state as _duals
from .ops_core import get_default_dtype

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80
_PREFIX = "tensor("


class _Formatter:
    """Decides the notation and the common width from all the values shown."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max((len(str(v)) for v in flat.tolist()), default=1)
            return
        shown = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if shown.size == 0:
            return
        mags = np.abs(shown)
        lo, hi = mags.min(), mags.max()
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        self.width = max(len(self._plain(v)) for v in shown.tolist())

    def _plain(self, v: float) -> str:
        if self.sci_mode:
            return f"{v:.{PRECISION}e}"
        if self.int_mode:
            return f"{v:.0f}." if math.isfinite(v) else f"{v:.0f}"
        return f"{v:.{PRECISION}f}"

    def format(self, v) -> str:
        text = self._plain(v) if self.floating else str(v)
        return text.rjust(self.width)


def _summarized(a: np.ndarray) -> np.ndarray:
    """The values shown when a big tensor is summarised (first and last EDGEITEMS per dim)."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(row) for row in a]) if len(a) else a


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        cells = ([fmt.format(v) for v in a[:EDGEITEMS].tolist()] + [" ..."]
                 + [fmt.format(v) for v in a[-EDGEITEMS:].tolist()])
    else:
        cells = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(cells[i:i + per_line]) for i in range(0, len(cells), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    rows = range(a.shape[0])
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        rows = [*range(EDGEITEMS), None, *range(a.shape[0] - EDGEITEMS, a.shape[0])]
    parts = ["..." if i is None else _nested(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_values(a: np.ndarray, indent: int = len(_PREFIX)) -> str:
    """The bracketed values of an array as PyTorch prints them."""
    if a.size == 0:
        return "[]"
    summarize = a.size > THRESHOLD
    return _nested(a, indent, summarize, _Formatter(_summarized(a) if summarize else a))


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    last_line = len(text) - text.rfind("\n") + 1
    out = [text]
    for s in suffixes:
        if last_line + len(s) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last_line = indent + len(s)
        else:
            out.append(", " + s)
            last_line += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(t) -> str:
    if t._data is None:
        return f"tensor(<traced {t._type}>)"
    a = t._data
    suffixes = []
    default = get_default_dtype()
    shows_dtype = t.dtype not in (default, dtypes.i64, dtypes.bool_)
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        shows_dtype = t.dtype is not default
    if shows_dtype:
        suffixes.append(f"dtype=torch.{t.dtype.torch_name}")
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name().rpartition('::')[2]}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    if _duals.active:
        tangent = _duals.tangent_of(t)
        if tangent is not None:  # as PyTorch formats it: a 0-d tangent as its number
            suffixes.append(f"tangent={tangent}")
    return _with_suffixes(_PREFIX + format_values(a), suffixes, len(_PREFIX))
