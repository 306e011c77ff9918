"""The gemm epilogue pass keeps every user of a fused sum: an instruction rebuilt on the
new matmul_add is itself what its own users read (a chain `tanh(x @ w + b)` then `t * t`
printed `mul %<undefined>, %<undefined>` and did not parse back)."""
from __future__ import annotations

import numpy as np
from helpers.pass_programs import T

from tapegrad.ir import Builder, parse, verify
from tapegrad.ir.passes.gemm_epilogue import gemm_epilogues
from tapegrad.runtime import interpret


def test_users_of_users_of_a_fused_sum_read_the_rebuilt_instructions():
    b = Builder("f")
    x, w, c = b.param(T(4, 3)), b.param(T(3, 5)), b.param(T(4, 5))
    t = b.tanh(b.add(b.matmul(x, w), c))
    fn = b.build(b.mul(t, t), t)
    out = gemm_epilogues(fn)
    assert [i.prim.name for i in out.body][0] == "matmul_add"
    defined = {id(p) for p in out.params} | {id(i) for i in out.body}
    for instr in out.body:
        assert all(id(o) in defined for o in instr.operands), instr
    assert all(id(r) in defined for r in out.results)
    verify(out)
    assert "undefined" not in str(out) and str(parse(str(out))) == str(out)
    args = [np.random.default_rng(0).standard_normal(p.type.shape) for p in fn.params]
    for want, got in zip(interpret(fn, args), interpret(out, args)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
