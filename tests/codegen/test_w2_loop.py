"""W2's gradient loop (issue 17): exp of a known non-positive argument skips its overflow
clamp without changing a value, and the fused loop keeps its instruction budget.

The loop is compute-bound (benchmarks/README.md, "W2's loop"): every instruction of
tanh, logistic and exp counts, so a change that puts back Newton's divisions or an
unneeded clamp shows up here, not only in a benchmark on a loaded machine."""
from __future__ import annotations

import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.codegen import target
from tapegrad.ir import Builder, dtypes, tensor_type
from tapegrad.runtime.compiler import compile_function

from helpers.math_reference import LD, ulp_error

#: Instructions in the 16-wide body of W2's gradient loop on AVX-512 hosts: 101 before
#: issue 17's mathlib work, 84 after (LLVM 22); a little room for other LLVM versions.
W2_LOOP_BUDGET = 88


def _negative_squares(dtype):
    """exp of -x*x written three ways, of -y*x (not a square: it may be +inf), and of a
    parameter (the general exp, clamped both ways)."""
    b = Builder(f"negsq_{dtype.name}")
    x, y, z = (b.param(tensor_type(dtype, (8,)), name) for name in "xyz")
    outs = [b.exp(b.mul(b.neg(x), x)), b.exp(b.mul(x, b.neg(x))), b.exp(b.neg(b.mul(x, x))),
            b.exp(b.mul(b.neg(y), x)), b.exp(z)]
    return compile_function(b.build(*outs))


@pytest.mark.parametrize("dtype", [dtypes.f32, dtypes.f64], ids=lambda d: d.name)
def test_exp_of_a_negative_square_keeps_every_value(dtype):
    t = dtype.np
    x = np.array([0.0, -0.0, 1.5, -9.75, 1e20, np.inf, -np.inf, np.nan], t)
    y = np.array([1.0, 2.0, -3.0, 0.5, -1.0, -1.0, 1.0, 1.0], t)
    f = _negative_squares(dtype)
    with np.errstate(all="ignore"):
        square, product = -(x * x), -y * x  # numpy rounds each product as the IR does
    *got, general = f(x, y, square)
    for g in got[:3]:
        np.testing.assert_array_equal(g, general)  # bit for bit (NaN == NaN here)
    assert product[5] == np.inf and product[4] > 1000  # exp overflows: clamps needed
    np.testing.assert_array_equal(got[3], f(x, y, product)[4])
    assert got[3][4] == got[3][5] == np.inf
    with np.errstate(all="ignore"):
        exact = np.exp(square.astype(LD))
    finite = np.isfinite(exact) & (exact > np.finfo(t).tiny)
    assert ulp_error(general[finite], exact[finite], t).max() <= 1


def _w2(x):
    return (tg.tanh(x) * tg.sigmoid(x) * tg.exp(-x * x) + tg.log(1 + x * x)).sum()


def _innermost_vector_loops(asm: str) -> list[list[str]]:
    """Bodies of the loops that are one basic block (a backward jump to a label with no
    label in between), as lists of instructions."""
    lines = asm.splitlines()
    labels = {m.group(1): i for i, line in enumerate(lines)
              if (m := re.match(r"^(\.LBB\S+):", line))}
    loops = []
    for i, line in enumerate(lines):
        m = re.match(r"\s+j\w+\s+(\.LBB\S+)", line)
        if m and labels.get(m.group(1), i) < i:
            body = lines[labels[m.group(1)] + 1:i + 1]
            if not any(re.match(r"^\.LBB", b) for b in body):
                loops.append([b.strip() for b in body
                              if b.startswith("\t") and not b.strip().startswith(".")])
    return loops


@pytest.mark.skipif(not (target.fast_ldexp() and "-prefer-256-bit" in target.features()),
                    reason="the budget is for AVX-512 hosts with 512-bit vectors")
def test_w2_gradient_loop_keeps_its_instruction_budget():
    asm = tg.grad(_w2).lower(np.zeros(4096, np.float32)).stage("asm")
    loops = [body for body in _innermost_vector_loops(asm) if sum("zmm" in i for i in body) > 40]
    assert len(loops) == 1, f"expected one 512-bit loop, found {len(loops)}"
    body = loops[0]
    assert sum(i.startswith("vdivps") for i in body) == 3  # 1/(1+x^2), tanh, logistic
    assert len(body) <= W2_LOOP_BUDGET, "\n".join(body)
