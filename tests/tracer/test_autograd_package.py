"""torch.autograd as a package: imports, grad modes, Function and ctx, grad's keywords,
hooks, gradcheck, anomaly detection, each compared with PyTorch's recorded results
(data/autograd_expected.json, written by data/record_autograd.py)."""
import json
import sys
import warnings

import pytest

import tapegrad as tg

from . import autograd_cases
from .autograd_compare import differences, expected

PACKAGE_CASES = [n for n in autograd_cases.CASES if n != "functional"]


@pytest.fixture(autouse=True)
def _restore_modes():
    yield
    tg.set_grad_enabled(True)
    tg.autograd.set_detect_anomaly(False)


@pytest.mark.parametrize("name", PACKAGE_CASES)
def test_case_matches_pytorch(name):
    got = json.loads(json.dumps(autograd_cases.CASES[name](tg)))
    assert differences(got, expected(name)) == []


def test_the_imports_pytorch_programs_write():
    from tapegrad.autograd import (Function, Variable, backward, grad,  # noqa: F401
                                   gradcheck, gradgradcheck)
    from tapegrad.autograd.function import FunctionCtx, once_differentiable  # noqa: F401
    from tapegrad.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp  # noqa: F401
    from tapegrad.autograd.graph import Node
    x = tg.ones(2, requires_grad=True)
    assert isinstance((x * 2).grad_fn, Node)
    assert tg.autograd.Variable(x) is x


def test_unsupported_names_point_at_the_coverage_document():
    for module, name in ((tg.autograd.graph, "set_override_stale_capture_stream"),
                         (tg.autograd.graph, "set_warn_on_accumulate_grad_stream_mismatch"),
                         (tg.autograd.function, "NestedIOFunction")):
        with pytest.raises(AttributeError, match="not supported by tapegrad.*torch-coverage"):
            getattr(module, name)


def test_set_grad_enabled_decorator_leaves_the_program_in_grad_mode():
    @tg.set_grad_enabled(False)
    def evaluate(x):
        return x * 2

    x = tg.ones(3, requires_grad=True)
    assert tg.is_grad_enabled()
    assert not evaluate(x).requires_grad
    assert (x * 2).requires_grad  # the bug: every later operation recorded nothing


def test_decorated_generator_restores_the_mode_between_yields():
    @tg.no_grad()
    def gen():
        for _ in range(2):
            yield tg.is_grad_enabled()

    seen = []
    for inside in gen():
        seen.append((inside, tg.is_grad_enabled()))
    assert seen == [(False, True), (False, True)]


def test_exception_thrown_into_a_decorated_generator_runs_in_its_mode():
    @tg.no_grad()
    def gen():
        try:
            yield 1
        except ValueError:
            yield tg.is_grad_enabled()

    it = gen()
    next(it)
    assert it.throw(ValueError("x")) is False
    assert tg.is_grad_enabled()


def test_anomaly_names_the_users_line_of_the_forward_operation():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tg.autograd.detect_anomaly():
            for _ in range(2):  # the second pass reuses the cached adjoint plan
                x = tg.tensor([0.0, 1.0], requires_grad=True)
                y = x.sqrt(); line = sys._getframe().f_lineno  # noqa: E702
                with pytest.raises(RuntimeError) as err:
                    (y * 0).sum().backward()
                assert "Function 'SqrtBackward0' returned nan values" in str(err.value)
                assert f"{__file__}:{line}" in str(err.value)


def test_anomaly_under_create_graph_and_custom_functions_names_the_line():
    fn = autograd_cases._nan_function(tg)
    tg.autograd.set_detect_anomaly(True)
    x = tg.tensor([0.0, 4.0], requires_grad=True)
    y = (x.sqrt() * 0).sum(); line = sys._getframe().f_lineno  # noqa: E702
    with pytest.raises(RuntimeError, match=f"SqrtBackward0.*{line}"):
        tg.autograd.grad(y, x, create_graph=True)
    z = fn.apply(x).sum(); line = sys._getframe().f_lineno  # noqa: E702
    with pytest.raises(RuntimeError, match=f"MakesNanBackward.*{line}"):
        z.backward()


def test_detect_anomaly_also_decorates():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @tg.autograd.detect_anomaly()
        def run():
            assert tg.is_anomaly_enabled()
            x = tg.tensor([0.0], requires_grad=True)
            (x.sqrt() * 0).sum().backward()

    with pytest.raises(RuntimeError, match="SqrtBackward0"):
        run()
    assert not tg.is_anomaly_enabled()


def test_anomaly_off_leaves_nan_gradients_alone():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0).sum().backward()
    assert x.grad.tolist()[0] != x.grad.tolist()[0]


def test_grads_batched_gives_one_vjp_per_row():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    rows = tg.eye(2)
    (jac,) = tg.autograd.grad(y, x, rows, is_grads_batched=True)
    assert jac.tolist() == [[2.0, 0.0], [0.0, 4.0]]


def test_grad_with_a_dict_of_inputs_returns_a_dict():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    g = tg.autograd.grad((x * w).sum(), {"x": x, "w": w})
    assert list(g) == ["x", "w"] and g["x"].tolist() == [3.0, 4.0]


def test_gradcheck_error_names_the_worst_element():
    fs = autograd_cases._wrong_functions(tg)
    x = tg.tensor([0.5, 2.0], dtype=tg.float64, requires_grad=True)
    with pytest.raises(tg.autograd.GradcheckError, match="input element 1, output element 1"):
        tg.autograd.gradcheck(fs["Wrong"].apply, (x,))


def test_gradcheck_requires_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        tg.autograd.gradcheck(tg.sin, (tg.ones(2, dtype=tg.float64),))


def test_gradcheck_checks_backward_of_zero_output_gradients():
    class Offset(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2 + 1  # right where g = 1 ... and nonzero for an undefined gradient

    x = tg.tensor([0.5], dtype=tg.float64, requires_grad=True)
    assert not tg.autograd.gradcheck(Offset.apply, (x,), raise_exception=False, atol=10)
    assert tg.autograd.gradcheck(Offset.apply, (x,), atol=10, check_undefined_grad=False)


def test_gradcheck_reports_the_worst_pair_of_output_and_input():
    class TwoWrong(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g * 1.01 * ctx_b[0], g * 2 * ctx_a[0]  # b's gradient is far worse

    a = tg.tensor([1.5], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([2.0], dtype=tg.float64, requires_grad=True)
    ctx_a, ctx_b = [a.detach()], [b.detach()]
    with pytest.raises(tg.autograd.GradcheckError, match="with respect to input 1,"):
        tg.autograd.gradcheck(TwoWrong.apply, (a, b))
