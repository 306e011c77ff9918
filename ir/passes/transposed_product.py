"""Transposed products: `(a @ b).T` becomes `b.T @ a.T`, written in the layout it is read in.

    fn = transposed_products(fn)

The gradient of a weight used as `x @ w.T` (nn.Linear's layout) comes out of
differentiation as `(x.T @ g).T`: gemm writes a [in, out] buffer and everything
after reads it transposed, with a stride of a whole row per element (an optimizer's
update reads it three times, a result is copied out of it).  As `g.T @ x` gemm
writes the [out, in] values directly; the transposes of the factors are views that
BLAS reads in place (a transpose of a transpose is the value itself).  Only for a
2-d product read nowhere else.  The same sums of products, but gemm may add them in
another order, so like the gemm epilogue this runs in the code generator only.
"""
from __future__ import annotations

from .. import primitives as P
from ..core import Function, Instr, Value
from .dce import dce
from .rewrite import rewrite_each


def transposed_products(fn: Function) -> Function:
    out = rewrite_each(fn, _swapped)
    return fn if out is fn else dce(out)


def _swapped(instr: Instr, uses: dict[int, int]) -> list[Instr] | None:
    """[new views..., b.T @ a.T] for `(a @ b).T` read nowhere else, else None."""
    product = _transposed_product(instr, uses)
    if product is None:
        return None
    a, b = product.operands
    factors = [_transposed(v, instr) for v in (b, a)]
    views = [t for v, t in zip((b, a), factors) if not _is_swap(v)]  # defined before use
    return [*views, Instr(P.matmul, tuple(factors), {}, instr.type, instr.loc)]


def _is_swap(instr: Value) -> bool:
    return isinstance(instr, Instr) and instr.prim is P.transpose \
        and len(instr.shape) == 2 \
        and tuple(instr.attrs["perm"]) == (1, 0)


def _transposed_product(instr: Instr, uses: dict[int, int]) -> Instr | None:
    """The 2-d matmul that `instr` transposes, when it is read nowhere else."""
    if not _is_swap(instr):
        return None
    m = instr.operands[0]
    if isinstance(m, Instr) and m.prim is P.matmul and len(m.shape) == 2 \
            and uses.get(id(m), 0) == 1 and all(len(o.shape) == 2 for o in m.operands):
        return m
    return None


def _transposed(v: Value, at: Instr) -> Value:
    """v.T: the value under a transpose of v, else a new transpose (a view)."""
    if _is_swap(v):
        return v.operands[0]
    return Instr(P.transpose, (v,), {"perm": (1, 0)},
                 v.type.with_shape((v.shape[1], v.shape[0])), at.loc)
