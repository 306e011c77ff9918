"""torch.autograd.functional against PyTorch's recorded results: values, the tuple
structure by input kind, grad_fn under create_graph, strict-mode errors."""
import json

import pytest

import tapegrad as tg

from . import autograd_cases
from .autograd_compare import differences, expected

F = tg.autograd.functional


@pytest.fixture(scope="module")
def results():
    return json.loads(json.dumps(autograd_cases.case_functional(tg)))


@pytest.mark.parametrize("key", sorted(expected("functional")))
def test_functional_matches_pytorch(results, key):
    assert differences(results[key], expected("functional")[key], key) == []


def test_jvp_create_graph_result_differentiates_again():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    v = tg.tensor([1.0, 1.0])
    _, jv = F.jvp(lambda a: a ** 3, x, v, create_graph=True)  # 3 a^2 v
    (g,) = tg.autograd.grad(jv.sum(), x)
    assert g.tolist() == [6.0, 12.0]


def test_vhp_equals_hvp_for_a_symmetric_hessian():
    def f(a, b):
        return (a.sin() * b).sum() + (a * a * b).sum()

    xs = (tg.tensor([0.3, 1.1], dtype=tg.float64), tg.tensor([2.0, -0.5], dtype=tg.float64))
    vs = (tg.tensor([1.0, 2.0], dtype=tg.float64), tg.tensor([0.5, -1.0], dtype=tg.float64))
    _, a = F.vhp(f, xs, vs)
    _, b = F.hvp(f, xs, vs)
    for p, q in zip(a, b):
        assert p.tolist() == pytest.approx(q.tolist())


def test_vectorize_gives_the_same_jacobian_as_rows():
    def f(a):
        return a.exp() * a.sum()

    x = tg.tensor([0.1, 0.2, 0.3], dtype=tg.float64)
    assert F.jacobian(f, x, vectorize=True).tolist() == F.jacobian(f, x).tolist()


def test_a_list_of_inputs_is_not_a_tuple():
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        F.vjp(lambda a: a, [tg.ones(2)], tg.ones(2))
