"""The polynomial behind erf and erfc for float32 (and float16): shared by the numpy
interpreter (runtime/erf_vector.py) and, through mathlib_surface, by compiled code.

    erfc(a) = t exp(-a^2 + Q(u)),  t = 2 / (2 + a),  u = (t - T_LOW) 2 / (1 - T_LOW) - 1

for a >= 0 (the form of Numerical Recipes' erfcc).  Q is smooth on t in (0, 1]; ERFC_Q
holds its coefficients, low to high in u, from a degree-22 Chebyshev fit to libm's
erfc on Chebyshev nodes of [T_LOW, 1] turned into powers (every one below 1 in
magnitude, so Horner's rule loses nothing): relative error below 5e-14 where float32's
erfc is not zero (a < 10.06), evaluated in float64.  `fit_erfc_q` is the fit;
tests/runtime/test_erf_vector.py refits and compares.
"""
from __future__ import annotations

import math

#: t at a = 26.6: float64's erfc underflows beyond it
T_LOW = 0.07
DEGREE = 22
ERFC_Q = (
    -0.6244933833926766, 0.6310695897727647, 0.03220523612493758, -0.03958840324469849,
    -0.00499919165778508, 0.006484849964739995, 0.0003935191172513373,
    -0.0013923434315144942, 0.000139081775046592, 0.00029503342818760456,
    -9.799251036661337e-05, -4.7669445280469845e-05, 3.6516184097765706e-05,
    1.4459141608565673e-06, -9.370199312486197e-06, 2.5225868301459943e-06,
    1.4691738012288306e-06, -1.047170451074766e-06, -2.414114397873546e-08,
    2.2102761068713343e-07, -4.593844193275773e-08, -2.1609284668359003e-08,
    7.671526434359487e-09)
#: erf(x) = x sum_n ERF_SERIES[n] (x^2)^n, used below |x| = 0.5 (the 12th term < 1e-17)
ERF_SERIES = tuple(2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
                   for n in range(12))


def fit_erfc_q() -> tuple[float, ...]:
    """ERFC_Q recomputed (numpy's Chebyshev fit; imported only here)."""
    import numpy as np
    from numpy.polynomial import chebyshev
    k = np.arange(4 * DEGREE)
    u = np.cos(np.pi * (k + 0.5) / k.size)
    t = T_LOW + (1 - T_LOW) * (u + 1) / 2
    a = 2 / t - 2
    q = np.array([math.log(math.erfc(v)) for v in a]) - np.log(t) + a * a
    return tuple(float(c) for c in chebyshev.cheb2poly(chebyshev.chebfit(u, q, DEGREE)))
