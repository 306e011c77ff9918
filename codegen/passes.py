"""The IR passes the code generator applies before planning, in one function.

    fn = compiled_ir(fn)     # exactly the IR that emit.lower plans and compiles

Some rewrites belong to code generation only (so the interpreter, the oracle,
keeps running the IR as differentiation wrote it): the scans' merge and pruning, the gemm epilogue (`c + k*(a@b)`
as one `matmul_add`), `(a @ b).T` as `b.T @ a.T` and `a @ (s*b)` as `s * (a @ b)` are
not bit-exact, so they never run before differentiation (ir/passes/gemm_epilogue.py,
ir/passes/transposed_product.py, ir/passes/scalar_factor.py).  Everything that shows "what runs" (a transform's
`.optimized`, the `optimized` dump stage) calls this same function, so it
cannot drift from what is compiled.  It loads no LLVM.
"""
from __future__ import annotations

from ..ir.core import Function
from ..ir.passes.gemm_epilogue import gemm_epilogues
from ..ir.passes.scan_merge import merge_scans
from ..ir.passes.scalar_factor import scalar_factors
from ..ir.passes.scan_outputs import prune_scans
from ..ir.passes.transposed_product import transposed_products


def compiled_ir(fn: Function) -> Function:
    """`fn` after every IR pass the code generator applies (idempotent).  Transposed
    products first: `w - lr * (x.T @ g).T` then meets the epilogue as `w - lr * (g.T @ x)`;
    then scalar factors (`a @ (s * b)` as `s * (a @ b)`), so a constant's meets it too.
    Before them, the scans: a gradient's forward scan merged into the one that saves its
    residuals (scan_merge), then the stacked outputs nobody reads dropped (scan_outputs)."""
    return gemm_epilogues(scalar_factors(transposed_products(prune_scans(merge_scans(fn)))))
