"""Nodes that stand for several instructions (a create_graph adjoint run as one call, a
composite run from its template) still have PyTorch's class per kind:
`type(y.grad_fn).__name__` is what PyTorch prints, not an internal class's name."""
import tapegrad as tg
import tapegrad.nn.functional as F


def test_create_graph_results_have_pytorchs_node_class():
    x = tg.tensor([3.0], requires_grad=True)
    (g,) = tg.autograd.grad(x ** 3, x, create_graph=True)
    (g2,) = tg.autograd.grad(g, x, create_graph=True)
    for _ in range(2):  # the second backward of a signature runs native, as one node
        (g,) = tg.autograd.grad(x ** 3, x, create_graph=True)
        (g2,) = tg.autograd.grad(g, x, create_graph=True)
    assert type(g.grad_fn).__name__ == "MulBackward0"
    assert type(g2.grad_fn).__name__ == "MulBackward0"
    assert g2.item() == 18.0


def test_a_composite_from_its_template_has_pytorchs_node_class():
    w = tg.ones(5, 3, requires_grad=True)
    x, t = tg.ones(2, 5), tg.ones(2, 3)
    for _ in range(4):  # from the third call with one signature, the template runs
        loss = F.binary_cross_entropy_with_logits(x @ w, t)
    assert type(loss.grad_fn).__name__ == "BinaryCrossEntropyWithLogitsBackward0"
    assert repr(loss.grad_fn).startswith("<BinaryCrossEntropyWithLogitsBackward0 object at")
