"""The polynomials of codegen/mathlib.py: as accurate as stated, and what the fitter gives.

The fitter (codegen/polyfit.py) is an offline generator: the code generator reads
the checked-in coefficients and never loads it."""
from __future__ import annotations

import ast
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np
import pytest

from tapegrad.codegen import mathlib, polyfit


@pytest.mark.parametrize("key", sorted(mathlib._POLY), ids=lambda k: f"{k[0]}-f{k[1]}")
def test_polynomials_are_what_the_generator_gives_and_as_accurate_as_stated(key):
    """The checked-in coefficients: their weighted error measured in 40-digit decimal
    arithmetic on 2,001 points is within POLY_ERRORS, and fit_polynomial still gives
    them (to a unit in the last place: least squares may round differently elsewhere)."""
    name, bits = key
    spec, coeffs = polyfit.SPECS[name], mathlib._POLY[key]
    with localcontext() as ctx:
        ctx.prec = 40
        worst = Decimal(0)
        for i in range(2001):
            x = Decimal(spec.lo) + (Decimal(spec.hi) - Decimal(spec.lo)) * i / 2000
            exact = sum((Decimal(spec.taylor(k).numerator) / spec.taylor(k).denominator
                         * x ** k for k in range(1, 40)), Decimal(spec.taylor(0).numerator))
            poly = sum((Decimal(c) * x ** k for k, c in enumerate(coeffs) if k), Decimal(coeffs[0]))
            worst = max(worst, abs(exact - poly) * Decimal(abs(spec.weight(float(x))))
                        if x else abs(exact - poly))
    assert worst <= Decimal(polyfit.POLY_ERRORS[key]), (key, float(worst))
    again, _ = polyfit.fit_polynomial(spec, polyfit.DEGREES[key], bits)
    fmt = np.float32 if bits == 32 else np.float64
    assert len(again) == len(coeffs)
    for a, c in zip(again, coeffs):
        assert abs(a - c) <= np.spacing(fmt(abs(c))), (key, again, coeffs)


def test_every_checked_in_polynomial_has_a_spec_a_degree_and_a_bound():
    assert set(mathlib._POLY) == set(polyfit.DEGREES) == set(polyfit.POLY_ERRORS)
    for (name, bits), coeffs in mathlib._POLY.items():
        assert name in polyfit.SPECS and len(coeffs) == polyfit.DEGREES[name, bits] + 1


def test_no_module_that_emits_code_imports_the_fitter():
    codegen = Path(mathlib.__file__).parent
    for path in codegen.glob("*.py"):
        if path.name == "polyfit.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any("polyfit" in n for n in names), path
