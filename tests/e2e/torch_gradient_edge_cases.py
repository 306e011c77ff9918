"""Small programs whose printout must be PyTorch's: `torch.autograd.graph.GradientEdge`
and `get_gradient_edge`, as `inputs` and `outputs` of autograd.grad and backward.

As torch_behaviour_cases.py (recorded_cases.py says how a case runs and where its
printout is recorded: data/torch_gradient_edge.json).  An exception prints as its type
and whether PyTorch's key phrase is in its message.  Not recorded: output_nr of an
operation's second output (PyTorch numbers the outputs of one node; tapegrad gives
each output a node of its own, number 0).
"""
from __future__ import annotations

from recorded_cases import ATTEMPT, add_case

CASES: dict[str, str] = {}

PRELUDE = '''
GradientEdge = torch.autograd.graph.GradientEdge
get_gradient_edge = torch.autograd.graph.get_gradient_edge
''' + ATTEMPT


def case(name: str, source: str) -> None:
    add_case(CASES, name, source)


case("edge_of_a_tensor", """
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    y = x * 2
    e = get_gradient_edge(y)
    print(type(e).__name__, e.node.name(), e.output_nr, e.node is y.grad_fn, len(e), e[0] is e.node)
    ex = get_gradient_edge(x)
    print(ex.node.name(), ex.output_nr, ex.node.variable is x, isinstance(e, tuple))
    print(GradientEdge(y.grad_fn, 0).node is e.node, GradientEdge._fields)
    attempt("no grad", lambda: get_gradient_edge(torch.ones(2)), "does not require gradients")
""")
case("edge_as_grad_input", """
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    y = x * 2
    z = (y ** 2).sum()
    e, ex = get_gradient_edge(y), get_gradient_edge(x)
    print(torch.autograd.grad(z, e, retain_graph=True))
    print(torch.autograd.grad(z, [ex, y], retain_graph=True))
    print(torch.autograd.grad(z, (e, ex), retain_graph=True))
    print(torch.autograd.grad([z], inputs=e, retain_graph=True))
    ne = GradientEdge(*z.grad_fn.next_functions[0])
    print(ne.node.name(), ne.output_nr, torch.autograd.grad(z, ne, retain_graph=True))
    print(x.grad)
    del y
    print(torch.autograd.grad(z, e))
""")
case("edge_unused_or_materialized", """
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    e = get_gradient_edge(x * 2)
    q = x.sum()
    attempt("unused", lambda: torch.autograd.grad(q, e, retain_graph=True), "at index 0 appears")
    print(torch.autograd.grad(q, [x, e], allow_unused=True, retain_graph=True))
    attempt("materialize", lambda: torch.autograd.grad(q, [x, e], materialize_grads=True,
                                                       retain_graph=True), "GradientEdge")
    print(torch.autograd.grad(q, [x], materialize_grads=True))
""")
case("edge_as_backward_input", """
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    w = torch.tensor([0.5, 1., 2.], requires_grad=True)
    y = x * w
    z = (y ** 2).sum()
    z.backward(inputs=[get_gradient_edge(y)], retain_graph=True)
    print(x.grad, w.grad)
    z.backward(inputs=get_gradient_edge(x), retain_graph=True)
    print(x.grad, w.grad)
    torch.autograd.backward(z, inputs=[get_gradient_edge(w)], retain_graph=True)
    print(x.grad, w.grad)
    torch.autograd.backward([z], inputs=(get_gradient_edge(w), x))
    print(x.grad, w.grad)
""")
case("edge_as_output", """
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    w = x.exp()
    ew = get_gradient_edge(w)
    print(torch.autograd.grad(ew, x, grad_outputs=torch.ones(3), retain_graph=True))
    print(torch.autograd.grad([ew], [x], grad_outputs=[torch.tensor([1., 0., 2.])],
                              retain_graph=True))
    attempt("implicit", lambda: torch.autograd.grad(ew, x, retain_graph=True),
            "only for scalar outputs")
    attempt("shape", lambda: torch.autograd.grad(ew, x, grad_outputs=torch.ones(2),
                                                 retain_graph=True), "Mismatch in shape")
    s = x.sum()
    print(torch.autograd.grad(get_gradient_edge(s), x, retain_graph=True))
    torch.autograd.backward(ew, grad_tensors=torch.ones(3))
    print(x.grad)
""")
