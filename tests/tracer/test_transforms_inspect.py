"""Inspection of transforms: exact IR at every stage, cache_info and miss reasons, TAPEGRAD_DUMP."""
import inspect

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import parse, verify
from tapegrad.ir.printer import print_function


def line_of(marker: str) -> int:
    """The line of this file that contains `marker` (so expected texts survive edits)."""
    src = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    return next(i for i, s in enumerate(src, 1) if marker in s and "line_of" not in s)


def f32(*shape):
    return np.ones(shape, np.float32)


def sin_dot(x, w):
    return (x * w).sin().sum()  # MARK-SIN


def square_sum(x):
    return (x * x).sum()  # MARK-SQ


# ---------------------------------------------------------------- exact IR text


def test_make_ir_prints_the_forward_exactly():
    n = line_of("MARK-SIN")
    assert str(tg.make_ir(sin_dot)(f32(3), f32(3))) == (
        "func @sin_dot(%x: f32[3], %w: f32[3]) -> (f32[]) {\n"
        f"  %0: f32[3] = mul %x, %w  # test_transforms_inspect.py:{n}\n"
        f"  %1: f32[3] = sin %0  # test_transforms_inspect.py:{n}\n"
        f"  %2: f32[] = reduce_sum %1 axes=(0,)  # test_transforms_inspect.py:{n}\n"
        "  return %2\n"
        "}")


def test_lower_of_grad_gives_forward_adjoint_and_optimized():
    n = line_of("MARK-SIN")
    lowered = tg.grad(sin_dot, argnums=1).lower(f32(3), f32(3))
    assert str(lowered.ir) == str(tg.make_ir(sin_dot)(f32(3), f32(3)))
    assert str(lowered.adjoint) == (
        "func @grad_sin_dot(%x: f32[3], %w: f32[3]) -> (f32[3]) {\n"
        f"  %0: f32[3] = mul %x, %w  # test_transforms_inspect.py:{n}\n"
        f"  %1: f32[3] = cos %0  # test_transforms_inspect.py:{n}\n"
        f"  %2: f32[3] = mul %1, %x  # test_transforms_inspect.py:{n}\n"
        "  return %2\n"
        "}")
    for stage in (lowered.ir, lowered.adjoint, lowered.optimized):
        assert str(verify(parse(str(stage)))) == str(stage)


def test_value_and_grad_adjoint_keeps_the_value():
    n = line_of("MARK-SQ")
    lowered = tg.value_and_grad(square_sum).lower(f32(2))
    assert str(lowered.adjoint) == (
        "func @value_and_grad_square_sum(%x: f32[2]) -> (f32[], f32[2]) {\n"
        f"  %0: f32[2] = mul %x, %x  # test_transforms_inspect.py:{n}\n"
        f"  %1: f32[] = reduce_sum %0 axes=(0,)  # test_transforms_inspect.py:{n}\n"
        f"  %2: f32[2] = add %x, %x  # test_transforms_inspect.py:{n}\n"
        "  return %1, %2\n"
        "}")


def test_second_derivative_ir_is_the_adjoint_of_the_inlined_adjoint():
    d2 = tg.grad(lambda w: tg.grad(sin_dot, argnums=1)(2.0, w).sum())  # MARK-D2
    n = line_of("MARK-SIN")  # inlined instructions keep the inner function's lines
    lowered = d2.lower(f32(3))
    assert str(lowered.optimized) == (
        "func @grad_lambda(%w: f32[3]) -> (f32[3]) {\n"
        "  %0: f32[3] = constant value=[2.0, 2.0, 2.0]\n"
        f"  %1: f32[3] = mul %0, %w  # test_transforms_inspect.py:{n}\n"
        f"  %2: f32[3] = sin %1  # test_transforms_inspect.py:{n}\n"
        f"  %3: f32[3] = mul %0, %2  # test_transforms_inspect.py:{n}\n"
        f"  %4: f32[3] = neg %3  # test_transforms_inspect.py:{n}\n"
        f"  %5: f32[3] = mul %4, %0  # test_transforms_inspect.py:{n}\n"
        "  return %5\n"
        "}")
    w = np.array([0.1, 0.2, 0.3], np.float32)
    np.testing.assert_allclose(d2(w).numpy(), -4 * np.sin(2 * w), rtol=1e-5)


def test_compile_has_no_adjoint_and_lower_exposes_llvm_and_asm():
    lowered = tg.compile(square_sum).lower(f32(4))
    assert lowered.adjoint is None
    assert str(lowered.optimized).startswith("func @square_sum(%x: f32[4]) -> (f32[]) {")
    assert "define" in lowered.llvm and "tg_" in lowered.llvm
    assert lowered.asm.strip() and "tg_" in lowered.asm
    assert lowered.stage("adjoint") is None and lowered.stage("ir") == str(lowered.ir)


# ---------------------------------------------------------------- cache_info


def test_cache_info_counts_hits_misses_and_explains_each_miss():
    cf = tg.compile(lambda x, n: x * n, static_argnums=1)
    cf(f32(3), 2)
    cf(f32(3), 2)
    cf(f32(4), 2)
    cf(f32(4).astype(np.float64), 2)
    cf(tg.tensor(f32(4).astype(np.float64)), 3)
    cf(f32(4).astype(np.float64), 3)
    info = cf.cache_info()
    assert (info.hits, info.misses, info.traces) == (2, 4, 4)
    assert info.compile_seconds > 0
    assert info.miss_reasons == (
        "first call",
        "arg 0: shape (3,) -> (4,)",
        "arg 0: dtype f32 -> f64",
        "arg 1: static value 2 -> 3",
    )
    assert (info.currsize, info.maxsize) == (4, 64)


def test_miss_reasons_for_kinds_and_argument_counts():
    cf = tg.compile(lambda *xs: sum(xs[1:], xs[0]))
    cf(f32(2), f32(2))
    cf(f32(2), 1.0)
    cf(f32(2), 1.0, 2.0)
    assert cf.cache_info().miss_reasons[1:] == (
        "arg 1: kind array f32[2] -> scalar",
        "number of arguments 2 -> 3",
    )


def test_the_signature_cache_is_a_bounded_lru():
    calls = []

    def f(x):
        calls.append(x.shape)
        return x + 1

    cf = tg.compile(f, cache_size=2)
    for n in (1, 2, 1, 3, 1, 2):
        cf(f32(n))
    # 1 miss, 2 miss, 1 hit, 3 miss (evicts 2), 1 hit, 2 miss (evicts 3)
    info = cf.cache_info()
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (2, 4, 2, 2)
    assert calls == [(1,), (2,), (3,), (2,)]
    cf.cache_clear()
    cf(f32(1))
    assert cf.cache_info().misses == 5
    with pytest.raises(ValueError, match="cache_size"):
        tg.compile(f, cache_size=0)


def test_misses_after_eviction_or_cache_clear_say_so():
    cf = tg.compile(lambda x: x, cache_size=1)
    cf(f32(1))
    cf(f32(2))
    cf(f32(1))
    cf.cache_clear()
    cf(f32(1))
    assert cf.cache_info().miss_reasons == (
        "first call",
        "arg 0: shape (1,) -> (2,)",
        "arg 0: shape (2,) -> (1,) (compiled before, evicted from the cache of size 1)",
        "cache_clear() was called",
    )


def test_lower_shares_the_call_cache():
    calls = []

    def f(x):
        calls.append(1)
        return x.exp()

    cf = tg.compile(f)
    cf.lower(f32(3))
    cf(f32(3))
    assert len(calls) == 1 and cf.cache_info().hits == 1


# ---------------------------------------------------------------- TAPEGRAD_DUMP


def test_dump_prints_the_requested_stages_to_stderr_when_compiling(monkeypatch, capsys):
    monkeypatch.setenv("TAPEGRAD_DUMP", "ir,adjoint,llvm")
    df = tg.grad(square_sum)
    df(f32(5))
    err = capsys.readouterr().err
    assert "// ---- tapegrad ir: grad_square_sum ----\nfunc @square_sum(%x: f32[5])" in err
    assert "// ---- tapegrad adjoint: grad_square_sum ----\nfunc @grad_square_sum(" in err
    assert "// ---- tapegrad llvm: grad_square_sum ----\n" in err and "define" in err
    assert "tapegrad optimized" not in err and "tapegrad asm" not in err
    df(f32(5))  # a hit compiles nothing, dumps nothing
    assert capsys.readouterr().err == ""


def test_dump_of_compile_skips_the_missing_adjoint(monkeypatch, capsys):
    monkeypatch.setenv("TAPEGRAD_DUMP", "all")
    tg.compile(square_sum)(f32(6))
    err = capsys.readouterr().err
    for stage in ("ir", "optimized", "llvm", "asm"):
        assert f"// ---- tapegrad {stage}: square_sum ----" in err
    assert "tapegrad adjoint" not in err


def test_dump_dir_writes_one_file_per_stage(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TAPEGRAD_DUMP_DIR", str(tmp_path / "dumps"))
    tg.value_and_grad(square_sum)(f32(7))
    files = sorted(p.name for p in (tmp_path / "dumps").iterdir())
    assert [name.split(".", 1)[1] for name in files] == [
        "adjoint.ir", "asm.s", "ir.ir", "llvm.ll", "optimized.ir"]
    assert all(name.startswith("value_and_grad_square_sum-") for name in files)
    adjoint = next(p for p in (tmp_path / "dumps").iterdir() if p.name.endswith("adjoint.ir"))
    assert adjoint.read_text().startswith("func @value_and_grad_square_sum(%x: f32[7])")
    assert capsys.readouterr().err == ""


def test_dump_rejects_unknown_stages(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_DUMP", "ir,bytecode")
    with pytest.raises(ValueError, match="TAPEGRAD_DUMP=.*bytecode.*ir, adjoint, optimized"):
        tg.compile(square_sum)(f32(8))


# ---------------------------------------------------------------- fusion groups


def test_fused_tags_every_instruction_and_parses_back_to_optimized():
    lowered = tg.grad(lambda x, w: (tg.tanh(x @ w) * 2).sum(), argnums=1).lower(
        np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32),
        np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32))
    text = lowered.fused
    lines = [line for line in text.splitlines() if " = " in line]
    assert len(lines) == len(lowered.optimized.body)
    assert all(any(t in line for t in ("[loop]", "[view]", "[fused into %")) for line in lines)
    assert any("matmul" in line and "[loop]" in line for line in lines)
    assert any("tanh" in line and "[fused into %" in line for line in lines)
    plain = str(lowered.optimized)  # the IR text stays what tg.ir.parse reads back exactly
    assert "[loop]" not in plain and "[fused" not in plain and str(parse(plain)) == plain
    assert lowered.stage("optimized") == text
    assert print_function(parse(text), locs=False) == print_function(lowered.optimized, locs=False)
