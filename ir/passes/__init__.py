"""IR-to-IR passes: each a small function from Function to Function.

    dce        drop instructions no result needs
    cse        merge instructions that compute the same thing
    simplify   exact algebra: x*1, neg(neg x), reshape of reshape, ...
    fold       constant folding of splat constants (`full`), select on a constant
    fusion     which instructions get their own loop nest (fusion_groups, annotate)
    memory     where intermediates live in one scratch area, by lifetime (plan_memory)
    gemm_epilogue  c + k * (a @ b) as one matmul_add (codegen only: not bit-exact)

Passes that rewrite accept `keep=`: instructions to leave exactly as they are.
The differentiation pass uses it for the forward part of an adjoint, which
callers recognise by object identity.
"""
from .cse import cse
from .dce import dce
from .fold import fold
from .simplify import simplify

__all__ = ["dce", "cse", "simplify", "fold"]
