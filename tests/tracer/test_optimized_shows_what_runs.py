"""`lower().optimized` and the `optimized` dump stage show the IR that is compiled:
after every pass codegen applies (codegen.compiled_ir), the gemm epilogue included,
as text that parses back.  What an enclosing trace inlines stays `.program` (the
epilogue is not bit-exact, so it never runs before differentiation)."""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad.codegen import compiled_ir
from tapegrad.ir import parse


def _sgd(w, x, g):
    return w - 0.1 * (x.T @ g)


def _args():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (8, 4), (8, 3))]


def _prims(fn) -> list[str]:
    return [i.prim.name for i in fn.body]


def test_optimized_is_what_codegen_compiles():
    lowered = tg.compile(_sgd).lower(*_args())
    fn = lowered.optimized
    assert "matmul_add" in _prims(fn)
    assert "matmul" not in _prims(fn) and "sub" not in _prims(fn)
    assert str(parse(str(fn))) == str(fn)
    assert str(compiled_ir(lowered.program)) == str(fn)  # one function decides
    assert "matmul" in _prims(lowered.program) and "sub" in _prims(lowered.program)
    assert "matmul_add" in lowered.fused and "[loop]" in lowered.fused


def test_the_optimized_dump_stage_shows_the_epilogue(monkeypatch, tmp_path):
    monkeypatch.setenv("TAPEGRAD_DUMP", "optimized")
    monkeypatch.setenv("TAPEGRAD_DUMP_DIR", str(tmp_path))
    args = _args()
    out = tg.compile(_sgd)(*args)
    w, x, g = args
    np.testing.assert_allclose(out.numpy(), w - 0.1 * (x.T @ g), rtol=1e-5, atol=1e-6)
    [path] = tmp_path.glob("*.optimized.ir")
    text = path.read_text()
    assert "matmul_add" in text and " sub " not in text and "= matmul " not in text


def test_an_enclosing_trace_inlines_the_program_and_differentiates_it():
    inner = tg.compile(_sgd)
    w, x, g = _args()
    inner(w, x, g)  # compiled on its own first
    grad = tg.grad(lambda w: inner(w, x, g).sum())(w)
    np.testing.assert_array_equal(grad.numpy(), np.ones_like(w))
