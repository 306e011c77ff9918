"""The IR passes the code generator applies before planning, in one function.

    fn = compiled_ir(fn)     # exactly the IR that emit.lower plans and compiles

Some rewrites belong to code generation only: the gemm epilogue (`c + k*(a@b)`
as one `matmul_add`) is not bit-exact, so it never runs before differentiation
(ir/passes/gemm_epilogue.py).  Everything that shows "what runs" (a transform's
`.optimized`, the `optimized` dump stage) calls this same function, so it
cannot drift from what is compiled.  It loads no LLVM.
"""
from __future__ import annotations

from ..ir.core import Function
from ..ir.passes.gemm_epilogue import gemm_epilogues


def compiled_ir(fn: Function) -> Function:
    """`fn` after every IR pass the code generator applies (idempotent)."""
    return gemm_epilogues(fn)
