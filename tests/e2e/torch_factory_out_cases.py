"""Small programs whose printout must be PyTorch's: `out=` of the factory functions
(ones, zeros, empty, full, eye, arange, linspace, logspace): dtype taken from out or
checked against it, out resized and filled in place, the grad-mode error.

As torch_behaviour_cases.py (recorded_cases.py says how a case runs and where its
printout is recorded: data/torch_factory_out.json).  An exception prints as its type
and whether PyTorch's key phrase is in its message.
"""
from __future__ import annotations

from recorded_cases import ATTEMPT, add_case

CASES: dict[str, str] = {}

PRELUDE = ATTEMPT


def case(name: str, source: str) -> None:
    add_case(CASES, name, source)


case("ones_zeros_into_out", """
    o = torch.empty(3, dtype=torch.int64)
    r = torch.ones(3, out=o)
    print(r is o, o, o.dtype)
    r = torch.zeros(2, 2, out=o)
    print(r is o, o, o.shape)
    f = torch.full((4,), 7.)
    print(torch.ones((2,), out=f) is f, f)
    print(torch.zeros(3, out=torch.empty(0)))
    print(torch.ones(2, 3, dtype=torch.float32, out=torch.empty(3, 2).t()))
""")
case("factory_out_views_share", """
    b = torch.arange(6.)
    torch.zeros(3, out=b[:3])
    print(b)
    m = torch.zeros(2, 3)
    torch.ones(3, out=m[1])
    print(m)
""")
case("factory_out_dtype_must_match", """
    attempt("ones", lambda: torch.ones(3, out=torch.empty(3), dtype=torch.int64),
            "does not match dtype of out parameter")
    attempt("zeros", lambda: torch.zeros(3, out=torch.empty(3, dtype=torch.int32),
                                         dtype=torch.float64), "does not match dtype of out")
    attempt("same", lambda: torch.zeros(2, out=torch.empty(2, dtype=torch.float64),
                                        dtype=torch.float64))
""")
case("factory_out_and_grad", """
    r = torch.zeros(3, requires_grad=True)
    attempt("requires grad", lambda: torch.ones(3, out=r), "don't support automatic differentiation")
    with torch.no_grad():
        torch.ones(3, out=r)
    print(r.detach(), r.requires_grad, r.is_leaf)
    o = torch.empty(2)
    torch.zeros(2, out=o, requires_grad=True)
    print(o.requires_grad, o.is_leaf)
""")
case("other_factories_into_out", """
    print(torch.arange(3, out=torch.empty(3)))
    print(torch.arange(0, 2, 0.5, out=torch.empty(1, dtype=torch.float64)))
    print(torch.full((2,), 3, out=torch.empty(2, dtype=torch.int32)))
    print(torch.eye(2, out=torch.empty(1)))
    print(torch.eye(2, 3, out=torch.empty(2, 3, dtype=torch.int64)))
    print(torch.linspace(0, 1, 3, out=torch.empty(3, dtype=torch.float64)))
    print(torch.logspace(0, 2, 3, out=torch.empty(3, dtype=torch.int64)))
    print(torch.empty(2, 2, out=torch.empty(4)).shape)
    attempt("full dtype", lambda: torch.full((2,), 1., dtype=torch.float64, out=torch.empty(2)),
            "does not match dtype of out parameter")
""")
