"""Errors of the transforms: each is a clear Python exception naming the user's file and line."""
import inspect
import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer.errors import TracerError

HERE = __file__


def line_of(marker: str) -> int:
    """The line of this file that ends with the comment `# marker`."""
    src = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    return next(i for i, s in enumerate(src, 1) if s.endswith("# " + marker))


def at(marker: str) -> str:
    """The ' (at FILE:LINE)' suffix for the line of this file holding `marker`."""
    return re.escape(f"{HERE}:{line_of(marker)}")


def f32(*shape):
    return np.ones(shape, np.float32)


def test_python_control_flow_on_a_traced_value_names_the_line():
    def relu_by_hand(x):
        if x.sum() > 0:  # MARK-IF
            return x
        return -x

    with pytest.raises(TracerError, match=at("MARK-IF")):
        tg.grad(lambda x: relu_by_hand(x).sum())(f32(3))
    with pytest.raises(TracerError, match="tg.where"):
        tg.compile(relu_by_hand)(f32(3))


def test_float_of_a_traced_value_names_the_line():
    def f(x):
        return x * float(x.sum())  # MARK-FLOAT

    with pytest.raises(TracerError, match=at("MARK-FLOAT")):
        tg.compile(f)(f32(2))


def test_grad_of_a_non_scalar_function_names_where_the_value_was_computed():
    def f(x):
        return x * 2  # MARK-VEC

    with pytest.raises(TypeError, match=r"grad requires f to return a scalar.*f32\[3\]") as e:
        tg.grad(f)(f32(3))
    assert f"computed at {HERE}:{line_of('MARK-VEC')}" in str(e.value)
    assert f"defined at {HERE}:{line_of('MARK-VEC') - 1}" in str(e.value)
    with pytest.raises(TypeError, match="returned a tuple"):
        tg.value_and_grad(lambda x: (x.sum(), x.sum()))(f32(3))
    with pytest.raises(TypeError, match="0-d floating point"):
        tg.grad(lambda x: (x > 0).sum())(f32(3))


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match=r"has_aux=True.*pair \(value, aux\)"):
        tg.grad(lambda x: x.sum(), has_aux=True)(f32(3))


def test_wrong_number_of_arguments_names_the_function_and_the_call():
    def model(x, w):
        return (x @ w).sum()

    cf = tg.compile(model)
    with pytest.raises(TypeError, match=r"model\(\): missing a required argument: 'w'.*"
                                        + at("MARK-FEW")):
        cf(f32(2, 2))  # MARK-FEW
    with pytest.raises(TypeError, match=r"model\(\): too many positional arguments.*"
                                        + at("MARK-MANY")):
        cf(f32(2, 2), f32(2, 2), f32(2))  # MARK-MANY
    with pytest.raises(TypeError, match=r"model\(\): got an unexpected keyword argument 'b'"):
        cf(f32(2, 2), w=f32(2, 2), b=f32(2, 2))


def test_wrong_kind_of_argument_names_the_argument():
    def model(x, w):
        return (x @ w).sum()

    with pytest.raises(TypeError, match=r"model\(\): argument 1 \(w\) got set; pass a "
                                        r"tg.Tensor.*" + at("MARK-KIND")):
        tg.grad(model)(f32(2, 2), {1.0, 2.0})  # MARK-KIND
    with pytest.raises(TypeError, match=r"argument 0 \(x\) got str"):
        tg.compile(model)("x", f32(2))
    with pytest.raises(TypeError, match=r"argument 1 \(w\) is static .* not hashable"):
        tg.compile(model, static_argnums=1)(f32(2), [1])
    with pytest.raises(TypeError, match="unsupported dtype complex64"):
        tg.compile(model)(f32(2), np.ones(2, np.complex64))


def test_bad_argnums():
    def f(x, n):
        return (x * n).sum()

    with pytest.raises(ValueError, match=r"argnums=2 but f was called with 2 arguments"):
        tg.grad(f, argnums=2)(f32(2), 1.0)
    with pytest.raises(ValueError, match="static"):
        tg.grad(f, argnums=1, static_argnums=1)(f32(2), 3)
    with pytest.raises(TypeError, match=r"argument 1 \(n: i64\[2\]\).*only floating point"):
        tg.grad(f, argnums=1)(f32(2), np.arange(2))
    with pytest.raises(ValueError, match="no gradient at all"):
        tg.grad(f, argnums=())(f32(2), 1.0)
    with pytest.raises(TypeError, match="argnums must be"):
        tg.grad(f, argnums="0")
    with pytest.raises(TypeError, match="grad expects a function"):
        tg.grad(3)


def test_shape_errors_inside_the_traced_function_name_the_line():
    def f(x, w):
        return (x @ w).sum()  # MARK-MM

    with pytest.raises(RuntimeError, match=r"\(2x3 and 4x5\).*" + at("MARK-MM")):
        tg.grad(f)(f32(2, 3), f32(4, 5))

    def g(x, y):
        return (x + y).sum()  # MARK-ADD

    with pytest.raises(RuntimeError, match=r"\[2, 3\] and \[4\] do not broadcast.*"
                                           + at("MARK-ADD")):
        tg.compile(g)(f32(2, 3), f32(4))


def test_closing_over_an_outer_traced_tensor_is_a_clear_error():
    def outer(x):
        inner = tg.grad(lambda y: (x * y).sum())
        return inner(x).sum()

    with pytest.raises(TracerError, match="enclosing transform.*pass it as an argument"):
        tg.grad(outer)(f32(2))


def test_a_failed_trace_is_retried_and_counted():
    state = {"fail": True}

    def f(x):
        if state["fail"]:
            raise KeyError("boom")
        return x + 1

    cf = tg.compile(f)
    with pytest.raises(KeyError):
        cf(f32(1))
    state["fail"] = False
    assert cf(f32(1)).tolist() == [2.0]
    assert (cf.cache_info().traces, cf.cache_info().misses) == (2, 2)
