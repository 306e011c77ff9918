"""Fitting the polynomials of codegen/mathlib.py: an offline generator, not a compile step.

    coeffs, error = fit_polynomial(SPECS["exp"], DEGREES[("exp", 32)], 32)

mathlib reads the fitted coefficients checked in beside it (`mathlib._POLY`) and
never imports this module: fitting needs numpy and 50-digit decimal arithmetic
and takes seconds.  tests/codegen/test_polynomial_fit.py (and the test that
checks the coefficients) calls it to show the checked-in numbers are still what
it gives, and within POLY_ERRORS.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

#: |r| after reducing by ln2 (ln2/2, plus room for n's rounding): the fits' interval.
_R = 0.3466
#: s^2 for m in [sqrt(1/2), sqrt(2)): ((sqrt2 - 1) / (sqrt2 + 1))^2.
_Z = 17 - 12 * math.sqrt(2)


@dataclass(frozen=True)
class PolySpec:
    """One polynomial to fit: f = sum(taylor(k) x^k) on [lo, hi], error weighted by
    weight(x) (1/f for relative error), coefficients `fixed` kept as given."""

    taylor: Callable[[int], Fraction]
    weight: Callable[[float], float]
    lo: float
    hi: float
    fixed: tuple[tuple[int, float], ...]


SPECS = {
    # exp(r), p(0) = 1 exactly (exp(0) = 1), relative error
    "exp": PolySpec(lambda k: Fraction(1, math.factorial(k)), lambda x: math.exp(-x),
                    -_R, _R, ((0, 1.0),)),
    # expm1(r) = r + r^2 P(r), relative error
    "expm1": PolySpec(lambda k: Fraction(1, math.factorial(k)) if k else Fraction(0),
                      lambda x: 1 / math.expm1(x), -_R, _R, ((0, 0.0), (1, 1.0))),
    # tail(z) = 2 atanh(s)/s - 2 = sum 2 z^k / (2k+1), z = s^2: absolute error
    # (log(1+g) = 2s + s tail, so tail's error is relative error of log times 2)
    "log_tail": PolySpec(lambda k: Fraction(2, 2 * k + 1) if k else Fraction(0),
                         lambda x: 1.0, 0.0, _Z, ((0, 0.0),)),
}


def fit_polynomial(spec: PolySpec, degree: int, bits: int, points: int = 1500,
                   iterations: int = 400) -> tuple[tuple[float, ...], float]:
    """(coefficients low to high, max weighted error on the nodes) of a degree-`degree`
    near-minimax polynomial for `spec` in the float format of `bits` bits.

    Lawson's algorithm (iteratively reweighted least squares, which converges to the
    minimax on the nodes) on `points` Chebyshev nodes, for the correction to the Taylor
    coefficients: the residual is computed in 50-digit decimal arithmetic, so float64
    least squares suffice even for float64's 2^-60 errors.  Then the lowest free
    coefficient is rounded to the format and fixed, and the others refitted around it
    (rounding them all at once costs a sizeable part of an ulp: float32's c1 = 1 + 2^-25).
    Its output is checked in (mathlib._POLY); numpy and decimal load here."""
    from decimal import Decimal, localcontext

    import numpy as np

    def rnd(v: float) -> float:
        return struct.unpack("f", struct.pack("f", v))[0] if bits == 32 else float(v)

    t = (np.arange(points) + 0.5) / points
    xs = (spec.lo + spec.hi) / 2 - (spec.hi - spec.lo) / 2 * np.cos(np.pi * t)
    weight = np.abs(np.array([spec.weight(float(x)) for x in xs]))
    coeffs = {k: float(spec.taylor(k)) for k in range(degree + 1)}
    coeffs.update(spec.fixed)
    done = {k for k, _ in spec.fixed}
    with localcontext() as ctx:
        ctx.prec = 50
        xd = [Decimal(float(x)) for x in xs]
        taylor = [Decimal(spec.taylor(k).numerator) / Decimal(spec.taylor(k).denominator)
                  for k in range(40)]
        exact = [_horner_decimal(taylor, x) for x in xd]
        while True:
            cd = [Decimal(coeffs[k]) for k in range(degree + 1)]
            residual = np.array([float(f - _horner_decimal(cd, x))
                                 for x, f in zip(xd, exact)]) * weight
            free = [k for k in range(degree + 1) if k not in done]
            if not free:
                return tuple(coeffs[k] for k in range(degree + 1)), float(np.abs(residual).max())
            basis = np.stack([xs ** k for k in free], 1) * weight[:, None]
            u = np.full(points, 1 / points)
            for _ in range(iterations):
                root = np.sqrt(u)[:, None]
                step = np.linalg.lstsq(basis * root, residual * root[:, 0], rcond=None)[0]
                u *= np.abs(residual - basis @ step)
                u /= u.sum()
            for k, d in zip(free, step):
                coeffs[k] += float(d)
            coeffs[free[0]] = rnd(coeffs[free[0]])
            done.add(free[0])


def _horner_decimal(coeffs, x):
    acc = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = acc * x + c
    return acc


#: (name, float bits) -> degree: the lowest that keeps every bound of
#: tests/test_codegen_math.py.  One less: exp 1.5 / 2 ulp, expm1 8 / 12 ulp, log tail
#: 2.5 ulp / 0.17 ulp (float64 log then measured 0.92 of its 1 ulp bound: too close).
DEGREES = {("exp", 32): 6, ("exp", 64): 11, ("expm1", 32): 6, ("expm1", 64): 11,
           ("log_tail", 32): 3, ("log_tail", 64): 8}

#: Max weighted error of each polynomial on [lo, hi] (measured exactly by a test): at
#: most a quarter ulp (2^-24 / 2^-53 relative), the bounds leave room for the roundings.
POLY_ERRORS = {("exp", 32): 2.0 ** -28, ("exp", 64): 2.0 ** -57.5,
               ("expm1", 32): 2.0 ** -26, ("expm1", 64): 2.0 ** -55.5,
               ("log_tail", 32): 2.0 ** -29, ("log_tail", 64): 2.0 ** -58.5}
