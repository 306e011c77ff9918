"""Small programs whose printout must be PyTorch's: the corpus fixes of issue 15.

Each case is source text run with `torch` bound to the library under test; what it
prints is its result (recorded_cases.py: record_torch_cases.py records PyTorch 2.13's
printout in data/torch_behaviour.json, test_torch_recorded.py compares tapegrad's line
by line).  A case normalises what may
legitimately differ itself (an error's wording: it prints the exception's type and
whether PyTorch's key phrase is in the message).
"""
from __future__ import annotations

from recorded_cases import add_case

CASES: dict[str, str] = {}


def case(name: str, source: str) -> None:
    add_case(CASES, name, source)


# ---- one product per element (k = 1): a -0 stays -0, as PyTorch's gemm with beta = 0
case("matmul_k1_signed_zero", """
    a = torch.tensor([[1.0], [2.0], [-3.0]])
    b = torch.tensor([[0.0, -0.0, 1.0]])
    print(a @ b)
    print(torch.mm(a.double(), b.double()))
    print(torch.matmul(torch.tensor([[[-1.0]], [[2.0]]]), torch.tensor([[[0.0, 5.0]], [[-0.0, 1.0]]])))
    print(torch.tensor([[-1.0, -1.0]]) @ torch.tensor([[0.0], [0.0]]))
    x = torch.tensor([[-0.5, -0.25, 2.0]], requires_grad=True)
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0]], requires_grad=True)
    (x @ w).relu().sum().backward()
    print(w.grad)
""")
case("matmul_k1_paths", """
    for m, n in [(1, 3), (3, 1), (2, 2)]:  # gemv for one row or column: -0 becomes +0
        print(m, n, -torch.ones(m, 1) @ torch.zeros(1, n))
    print(torch.bmm(-torch.ones(2, 3, 1), torch.zeros(2, 1, 3)))
""")


# ---- backward(create_graph=True) puts a copy into a fresh .grad (AccumulateGrad's strided copy)
case("create_graph_grad_is_a_copy", """
    x = torch.tensor([2.0, 3.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    print(x.grad)
    (x ** 2).sum().backward(create_graph=True)
    print(x.grad)
    g = x.grad
    x.grad = None
    g.sum().backward(create_graph=True)
    print(x.grad)
    w = torch.tensor([1.0, -1.0], requires_grad=True)
    (w * torch.tensor([3.0, 4.0])).sum().backward(create_graph=True)
    print(w.grad, w.grad.requires_grad)
""")


# ---- the grad_fn a double backward ends with where the adjoint sums (undoing sum(dim))
case("jvp_create_graph_grad_fn", """
    jvp = torch.autograd.functional.jvp
    x = torch.tensor([[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]])
    v = torch.ones(2, 3)
    print(jvp(lambda x: x.exp().sum(dim=1), x, v, create_graph=True)[1])
    print(jvp(lambda x: (x * x).sum(), x, v, create_graph=True)[1])
""")


# ---- hooks: None keeps a gradient, None inside a post-hook's tuple drops it
case("node_hooks_returning_none", """
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.grad_fn.register_prehook(lambda go: None)
    y.grad_fn.register_hook(lambda gi, go: None)
    y.register_hook(lambda g: None)
    (y * 2).sum().backward()
    print(x.grad)
    x.grad = None
    w = (x * 2).sum()
    w.grad_fn.register_hook(lambda gi, go: None)
    w.backward()
    print(x.grad)
    b = torch.tensor([5.0, 7.0], requires_grad=True)
    x.grad = None
    y = x * b
    y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))
    y.sum().backward()
    print(x.grad, b.grad)
    y = (x * b).exp()
    y.grad_fn.register_hook(lambda gi, go: None)
    y.grad_fn.register_prehook(lambda go: None)
    print(torch.autograd.grad(y.sum(), [x, b]))
""")
case("accumulate_grad_hooks", """
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    acc = y.grad_fn.next_functions[0][0]
    h1 = acc.register_prehook(lambda go: print('pre', go) or (go[0] * 10,))
    h2 = acc.register_hook(lambda gi, go: print('post', gi, go, x.grad))
    x.register_hook(lambda g: print('tensor', g))
    y.sum().backward()
    print(x.grad)
    h1.remove()
    h2.remove()
    (x * 3).sum().backward()
    print(x.grad)
""")


# ---- integer division by zero raises (PyTorch's CPU kernels: RuntimeError ZeroDivisionError)
case("integer_division_by_zero", """
    a = torch.tensor([7, -7, 0])
    z = torch.tensor([0, 2, 0])
    for name, f in [("//", lambda: a // z), ("%", lambda: a % z),
                    ("floor", lambda: torch.div(a, z, rounding_mode='floor')),
                    ("trunc", lambda: torch.div(a, z, rounding_mode='trunc')),
                    ("fmod", lambda: torch.fmod(a, z)), ("remainder", lambda: torch.remainder(a, z)),
                    ("// 0", lambda: a // 0), ("fmod 0", lambda: torch.fmod(a, 0)),
                    ("uint8", lambda: a.to(torch.uint8) // z.to(torch.uint8)),
                    ("true", lambda: a / z), ("float //", lambda: a.float() // z.float()),
                    ("float %", lambda: a.float() % z.float())]:
        try:
            print(name, f())
        except RuntimeError as e:
            print(name, "RuntimeError", "ZeroDivisionError" in str(e))
    print(torch.div(torch.tensor([7, -7]), 2, rounding_mode='trunc'),
          torch.tensor([7, -7]).div(2, rounding_mode='floor'))
    x = torch.tensor([7.0, -7.5], requires_grad=True)
    y = torch.div(x, 2.0, rounding_mode='trunc')
    y.sum().backward()
    print(y, x.grad)
""")
