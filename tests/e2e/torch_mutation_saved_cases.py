"""Small programs whose printout must be PyTorch's:
`torch.autograd.graph.allow_mutation_on_saved_tensors()` (a saved tensor changed in place
is cloned first, so backward inside the context sees the value the operation read; its
errors: nesting, and a graph used outside the context it was recorded in).

As torch_behaviour_cases.py (recorded_cases.py says how a case runs and where its
printout is recorded: data/torch_mutation_saved.json).  An exception prints as its type
and whether PyTorch's key phrase is in its message.
"""
from __future__ import annotations

from recorded_cases import ATTEMPT, add_case

CASES: dict[str, str] = {}

PRELUDE = '''
allow = torch.autograd.graph.allow_mutation_on_saved_tensors
''' + ATTEMPT


def case(name: str, source: str) -> None:
    add_case(CASES, name, source)


case("mutation_documented_example", """
    with allow():
        a = torch.ones(2, 3, requires_grad=True)
        b = a.clone()
        out = (b ** 2).sum()
        b.sin_()
        out.backward()
        print(a.grad, b.detach())
""")
case("mutation_of_several_saved_values", """
    with allow():
        a = torch.tensor([1., 2., 3.], requires_grad=True)
        b = a * 1
        c = b.exp()
        d = (c * b).sum()
        b.mul_(10)
        c.add_(1)
        b.add_(1)
        d.backward()
        print(a.grad, b.detach(), c.detach())
""")
case("mutation_without_grad_and_views", """
    with allow():
        a = torch.tensor([1., 2., 3.], requires_grad=True)
        b = a * 2
        out = (b * b).sum()
        with torch.no_grad():
            b[0] = 100.
            b.zero_()
        print(torch.autograd.grad(out, a, retain_graph=True))
        b.uniform_()
        print(torch.autograd.grad(out, a))
    with allow():
        a = torch.tensor([1., 2., 3., 4.], requires_grad=True)
        b = a * 1
        v = b.view(2, 2)
        out = (v ** 2).sum()
        with torch.no_grad():
            b.add_(5)
            torch.zeros(4, out=b)
        out.backward()
        print(a.grad, b.detach())
""")
case("mutation_after_backward_and_unsaved", """
    with allow():
        a = torch.tensor([1., 2.], requires_grad=True)
        b = a.clone()
        y = (b ** 3).sum()
        y.backward()
        b.mul_(2)
        print(a.grad)
        x = torch.tensor([1., 2.], requires_grad=True)
        w = x.clone()
        z = (w * 2).sum()
        w.add_(1)
        z.backward()
        print(x.grad, w.detach())
""")
case("mutation_context_errors", """
    with allow() as ctx:
        a = torch.tensor([1., 2.], requires_grad=True)
        b = a.clone()
        y = (b ** 3).sum()
        attempt("nested", lambda: allow().__enter__(), "cannot be nested")
    attempt("outside", lambda: y.backward(), "outside of the 'allow_mutation_on_saved_tensors'")
    with allow():
        a = torch.tensor([1., 2.], requires_grad=True)
        b = a.clone()
        y = (b ** 3).sum()
    b.mul_(2)
    with allow():
        attempt("other context", lambda: y.backward(), "outside of the")
    a = torch.tensor([1., 2.], requires_grad=True)
    b = a.clone()
    y = (b ** 3).sum()
    b.mul_(2)
    attempt("no context", lambda: y.backward(), "modified by an inplace operation")
    with allow():
        p = torch.tensor([1., 2.], requires_grad=True)
        q = (p.clone() ** 2).sum()
        q.backward()
    print(p.grad)
""")
