"""The error catalogue: every bad input gets a Python exception of a stated type, with the key
words of its message and, when the mistake is in user code, the user's file and line; in eager
mode and compiled mode wherever both apply.  Zero-size tensors work; NaN and infinity propagate
the same way in the interpreter and in native code."""
import inspect
import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir.parser import ParseError
from tapegrad.tracer.errors import TracerError

HERE = __file__


def line_of(marker: str) -> int:
    src = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    hits = [i for i, s in enumerate(src, 1) if s.rstrip().endswith("# " + marker)]
    assert len(hits) == 1, marker
    return hits[0]


def where(marker: str) -> str:
    return re.escape(f"{HERE}:{line_of(marker)}")


def f32(*shape, value=1.0):
    return np.full(shape, value, np.float32)


def leaf(*shape):
    return tg.ones(*shape, requires_grad=True)


# Each mode runs `f` on its arguments: eager on tensors, compiled through tg.compile and tg.grad.
def _eager(f, *args):
    return f(*[tg.tensor(a) for a in args])


def _compiled(f, *args):
    return tg.compile(f)(*args)


def _grad(f, *args):
    return tg.grad(lambda *xs: f(*xs).sum())(*args)


MODES = {"eager": _eager, "compile": _compiled, "grad": _grad}


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("mode", MODES)
def test_shapes_that_do_not_broadcast(mode):
    def f(a, b):
        return a + b  # MARK-BCAST

    with pytest.raises(RuntimeError) as e:
        MODES[mode](f, f32(2, 3), f32(4, 5))
    msg = str(e.value)
    assert "add" in msg and "broadcast" in msg and "[2, 3]" in msg and "[4, 5]" in msg
    assert re.search(where("MARK-BCAST"), msg), msg


@pytest.mark.parametrize("mode", MODES)
def test_matmul_with_mismatched_inner_sizes(mode):
    def f(a, b):
        return a @ b  # MARK-MATMUL

    with pytest.raises(RuntimeError, match=r"matmul.*cannot be multiplied \(2x3 and 4x5\)") as e:
        MODES[mode](f, f32(2, 3), f32(4, 5))
    assert re.search(where("MARK-MATMUL"), str(e.value))


def test_gradient_of_the_wrong_shape_eager_and_compiled():
    x = leaf(3)
    y = x.sin()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\[4\].*\[3\]") as e:
        y.backward(tg.ones(4))  # MARK-GRADSHAPE
    assert re.search(where("MARK-GRADSHAPE"), str(e.value))
    with pytest.raises(RuntimeError, match=r"Mismatch in shape") as e:
        tg.autograd.grad(y, x, grad_outputs=tg.ones(2))  # MARK-GRADSHAPE2
    assert re.search(where("MARK-GRADSHAPE2"), str(e.value))
    z = tg.compile(lambda a: a.sin())(x)  # a compiled call on the tape
    with pytest.raises(RuntimeError, match=r"Mismatch in shape") as e:
        z.backward(tg.ones(2, 2))  # MARK-GRADSHAPE3
    assert re.search(where("MARK-GRADSHAPE3"), str(e.value))


# ---------------------------------------------------------------- the tape


def test_backward_twice_without_retain_graph_eager_and_compiled():
    x = leaf(3)
    y = x.sin().sum()  # MARK-TWICE
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time") \
            as e:
        y.backward()
    assert re.search(where("MARK-TWICE"), str(e.value))
    y2 = tg.compile(lambda a: a.sin().sum())(x)  # MARK-TWICE-C
    y2.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time") as e:
        y2.backward()
    assert re.search(where("MARK-TWICE-C"), str(e.value))
    y3 = x.sin().sum()
    y3.backward(retain_graph=True)
    y3.backward()  # allowed, and accumulates
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.cos(np.ones(3, np.float32)), rtol=1e-6)


def test_in_place_change_of_a_leaf_that_requires_grad():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation") as e:
        x.add_(1)  # MARK-LEAF
    assert re.search(where("MARK-LEAF"), str(e.value))
    np.testing.assert_array_equal(x.detach().numpy(), np.ones(3))  # not half-changed
    with tg.no_grad():
        x.add_(1)  # allowed without grad mode, as in PyTorch
    np.testing.assert_array_equal(x.detach().numpy(), np.full(3, 2.0))


def test_in_place_change_of_a_saved_tensor_eager_and_compiled():
    x = leaf(3)
    b = x * 1
    c = b.sin()  # MARK-SAVED
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; "
                                           "expected version 0") as e:
        c.sum().backward()
    assert re.search(where("MARK-SAVED"), str(e.value))
    b2 = x * 1
    c2 = tg.compile(lambda a: a.sin().sum())(b2)  # MARK-SAVED-C
    b2.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as e:
        c2.backward()
    assert re.search(where("MARK-SAVED-C"), str(e.value))


def test_requires_grad_on_an_integer_tensor():
    for make in (lambda: tg.tensor([1, 2], requires_grad=True),  # MARK-INTRG
                 lambda: tg.ones(3, dtype=tg.int64, requires_grad=True),  # MARK-INTRG2
                 lambda: tg.tensor([True]).requires_grad_()):  # MARK-INTRG3
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                               "gradients") as e:
            make()
        assert re.search(rf"{re.escape(HERE)}:{line_of('MARK-INTRG')}|"
                         rf"{re.escape(HERE)}:{line_of('MARK-INTRG2')}|"
                         rf"{re.escape(HERE)}:{line_of('MARK-INTRG3')}", str(e.value))
    # compiled: a gradient with respect to an integer argument
    with pytest.raises(TypeError, match="only floating point arguments have gradients") as e:
        tg.grad(lambda n: (n * 1.0).sum())(np.arange(3))  # MARK-INTGRAD
    assert re.search(where("MARK-INTGRAD"), str(e.value))


def test_grad_of_a_non_scalar_function():
    x = leaf(3)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs") as e:
        y.backward()  # MARK-NONSCALAR
    assert re.search(where("MARK-NONSCALAR"), str(e.value))
    with pytest.raises(RuntimeError, match="implicitly created only for scalar"):
        tg.autograd.grad(y, x)

    def vec(a):
        return a * 2  # MARK-NONSCALAR-C

    with pytest.raises(TypeError, match=r"grad requires .* scalar.*f32\[3\]") as e:
        tg.grad(vec)(f32(3))
    assert re.search(where("MARK-NONSCALAR-C"), str(e.value))


# ---------------------------------------------------------------- calling compiled functions


def test_compiled_function_with_the_wrong_number_of_arguments():
    cf = tg.compile(lambda a, b: a * b)
    with pytest.raises(TypeError, match="missing a required argument") as e:
        cf(f32(3))  # MARK-NARGS
    assert re.search(where("MARK-NARGS"), str(e.value))
    with pytest.raises(TypeError, match="too many positional arguments") as e:
        cf(f32(3), f32(3), f32(3))  # MARK-NARGS2
    assert re.search(where("MARK-NARGS2"), str(e.value))
    g = tg.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))
    with pytest.raises(TypeError, match="missing a required argument"):
        g(f32(3))


@pytest.mark.parametrize("bad, what", [
    ("text", "got str"), ({1.0, 2.0}, "got set"), (object(), "got object"),
    ([1.0, "x"], "arg 0[1]: got str"),  # lists and None are pytrees: a bad leaf has a path
    (np.ones(3, np.complex64), "unsupported dtype complex64"),
    (np.array([object()] * 3), "unsupported dtype object"),
    (np.ones(3, np.uint64), "unsupported dtype uint64"),
])
def test_compiled_function_with_the_wrong_kind_of_argument(bad, what):
    for transform in (tg.compile, lambda f: tg.grad(lambda a, b: f(a, b).sum())):
        cf = transform(lambda a, b: a * b)
        with pytest.raises(TypeError, match=re.escape(what)) as e:
            cf(bad, f32(3))  # MARK-KIND
        assert "argument 0" in str(e.value)
        assert re.search(where("MARK-KIND"), str(e.value))


def test_compiled_function_with_new_shapes_retraces_or_names_the_line():
    def f(a, b):
        return (a * b).sum()  # MARK-NEWSHAPE

    cf = tg.compile(f)
    assert float(cf(f32(3), f32(3))) == 3.0
    assert float(cf(f32(2, 4), f32(4))) == 8.0  # a new signature is a new specialisation
    with pytest.raises(RuntimeError, match=r"mul.*\[3\].*\[4\]") as e:
        cf(f32(3), f32(4))
    assert re.search(where("MARK-NEWSHAPE"), str(e.value))
    assert float(cf(f32(3), f32(3))) == 3.0  # the failure left the function usable


def test_low_level_compiled_function_checks_arguments_before_the_call():
    fn = tg.make_ir(lambda a: a.exp())(f32(4))
    from tapegrad.runtime.compiler import compile_function
    cf = compile_function(fn)
    with pytest.raises(TypeError, match="takes 1 arguments, got 2"):
        cf(f32(4), f32(4))
    with pytest.raises(ValueError, match=r"must have shape \[4\].*got \[5\]"):
        cf(f32(5))
    with pytest.raises(TypeError, match="must have dtype float32.*got int64"):
        cf(np.arange(4))


# ---------------------------------------------------------------- tracing


def test_data_dependent_control_flow_while_tracing():
    def f(a):
        if a.sum() > 0:  # MARK-IF
            return a
        return -a

    for transform in (tg.compile, lambda g: tg.grad(lambda a: g(a).sum())):
        with pytest.raises(TracerError, match="traced") as e:
            transform(f)(f32(3))
        assert isinstance(e.value, RuntimeError)
        assert re.search(where("MARK-IF"), str(e.value))
    # eagerly, values are concrete: the same code just runs
    np.testing.assert_array_equal(f(tg.ones(3)).numpy(), np.ones(3))
    np.testing.assert_array_equal(f(-tg.ones(3)).numpy(), np.ones(3))

    def g(a):
        return a[int(a.argmax())]  # MARK-INT

    with pytest.raises(TracerError) as e:
        tg.compile(g)(f32(3))
    assert re.search(where("MARK-INT"), str(e.value))


# ---------------------------------------------------------------- dtypes and sizes


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, np.uint64, "U3", object])
def test_unsupported_dtype_eager(dtype):
    data = np.zeros(3, dtype)
    with pytest.raises(TypeError, match="unsupported dtype|cannot make a tensor"):
        tg.tensor(data)
    if dtype in (np.complex64, np.complex128):
        with pytest.raises(TypeError, match="unsupported dtype"):
            tg.zeros(3, dtype=dtype)
        with pytest.raises(TypeError, match="unsupported dtype"):
            tg.ones(3).to(dtype)


def test_uint64_values_never_wrap():
    big = np.array([2**64 - 1, 2**63], np.uint64)
    with pytest.raises(TypeError, match="uint64"):
        tg.tensor(big)
    with pytest.raises(TypeError, match="uint64"):
        tg.compile(lambda a: a + 0)(big)
    # narrower unsigned and float16 convert without loss
    np.testing.assert_array_equal(tg.tensor(np.array([255], np.uint8)).numpy(), [255])
    np.testing.assert_array_equal(tg.compile(lambda a: a * 1)(np.array([2**32 - 1], np.uint32))
                                  .numpy(), [2**32 - 1])
    np.testing.assert_array_equal(tg.tensor(np.array([0.5], np.float16)).numpy(), [0.5])


@pytest.mark.parametrize("mode", MODES)
def test_zero_size_tensors_work(mode):
    def f(a, b):
        return ((a @ b).tanh() + 1.0) * 2.0

    out = MODES[mode](f, f32(0, 3), f32(3, 4))
    assert tuple(out.shape) == ((0, 4) if mode != "grad" else (0, 3))
    out = MODES[mode](f, f32(2, 0), f32(0, 4))  # inner size 0: zeros (+1)*2
    if mode != "grad":
        np.testing.assert_array_equal(out.numpy(), np.full((2, 4), 2.0, np.float32))
    else:
        assert tuple(out.shape) == (2, 0)


def test_zero_size_reductions_and_gradients():
    x = tg.zeros(0, 3, requires_grad=True)
    s = x.sin().sum()
    assert float(s) == 0.0
    s.backward()
    assert tuple(x.grad.shape) == (0, 3)
    assert np.isnan(float(tg.ones(0).mean()))  # as PyTorch
    assert np.isnan(float(tg.compile(lambda a: a.mean())(f32(0))))
    np.testing.assert_array_equal(tg.ones(0, 3).sum(0).numpy(), np.zeros(3))
    np.testing.assert_array_equal(tg.compile(lambda a: a.sum(0))(f32(0, 3)).numpy(), np.zeros(3))
    # PyTorch 2: RuntimeError for a whole-tensor max of an empty tensor
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        tg.ones(0).max()
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        tg.compile(lambda a: a.max())(f32(0))
    g = tg.grad(lambda a: (a * a).sum())(f32(0, 5))
    assert tuple(g.shape) == (0, 5)


def test_sizes_whose_element_count_overflows():
    with pytest.raises(RuntimeError, match="Storage size calculation overflowed"):
        tg.zeros(2**31, 2**31, 2**31)
    with pytest.raises(RuntimeError, match="overflowed"):
        tg.ones(1).expand(2**62, 2**62)  # MARK-EXPAND
    a = f32(2**21)

    def cube(x):
        return x[:, None, None] * x[None, :, None] * x[None, None, :]  # MARK-CUBE

    with pytest.raises(RuntimeError, match="storage size calculation overflowed") as e:
        tg.compile(cube)(a)
    assert re.search(where("MARK-CUBE"), str(e.value))


def test_sizes_that_cannot_be_allocated():
    """Addressable but far beyond memory (16 TiB): a clean MemoryError, never a crash,
    that is also a RuntimeError naming the op, the type and the user's line."""
    a = tg.ones(2**21)
    with pytest.raises(MemoryError, match="allocate") as err:
        a[:, None] * a[None, :]  # ALLOC-EAGER
    assert isinstance(err.value, RuntimeError)
    assert "mul" in str(err.value) and "f32[2097152,2097152]" in str(err.value)
    assert f"test_error_catalogue.py:{line_of('ALLOC-EAGER')}" in str(err.value)
    with pytest.raises(MemoryError, match="allocate") as err:
        tg.compile(lambda x: x[:, None] * x[None, :])(f32(2**21))  # ALLOC-COMPILED
    assert isinstance(err.value, RuntimeError) and "f32[2097152,2097152]" in str(err.value)
    assert f"test_error_catalogue.py:{line_of('ALLOC-COMPILED')}" in str(err.value)
    assert float((a * 2).sum()) == 2.0 * 2**21  # still alive and well


# ---------------------------------------------------------------- IR text


GOOD = "func @f(%x: f32[3]) -> (f32[3]) {\n  %0: f32[3] = sin %x\n  return %0\n}\n"


@pytest.mark.parametrize("text, line, col, words", [
    ("garbage", 1, 1, "expected 'func'"),
    ("func @f(%x: f32[3) -> (f32[3]) {\n  return %x\n}", 1, 18, "expected ','"),
    (GOOD.replace("sin %x", "sin %y"), 2, 20, "%y is not defined"),
    (GOOD.replace("sin %x", "frobnicate %x"), 2, 16, "unknown primitive 'frobnicate'"),
    (GOOD.replace("%0: f32[3] =", "%0: f32[4] ="), 2, 16, "not the declared f32[4]"),
    (GOOD.replace("f32[3]) {", "q99[3]) {"), 1, 25, "expected a type"),
    (GOOD[:-3], None, None, ""),  # cut off before the closing brace
    (GOOD.replace("return %0", "return %0, %0"), None, None, ""),
    ("", 1, 1, ""),
])
def test_malformed_ir_text_gives_line_and_column(text, line, col, words):
    with pytest.raises(ParseError) as e:
        tg.ir.parse(text)
    assert isinstance(e.value, ValueError)
    m = re.match(r"line (\d+), column (\d+): ", str(e.value))
    assert m, str(e.value)
    if line is not None:
        assert (int(m.group(1)), int(m.group(2))) == (line, col), str(e.value)
    assert (e.value.line, e.value.col) == (int(m.group(1)), int(m.group(2)))
    assert words in str(e.value)


def test_parse_accepts_what_it_prints():
    assert str(tg.ir.parse(GOOD)) == GOOD.rstrip("\n") or str(tg.ir.parse(GOOD)) == GOOD


# ---------------------------------------------------------------- NaN and infinity


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 3.0e38, 1e-45],
                   np.float32)

UNARY = {
    "exp": lambda a: a.exp(), "log": lambda a: a.log(), "sqrt": lambda a: a.sqrt(),
    "tanh": lambda a: a.tanh(), "sigmoid": lambda a: a.sigmoid(), "relu": lambda a: a.relu(),
    "neg": lambda a: -a, "abs": lambda a: a.abs(), "sin": lambda a: a.sin(),
    "recip": lambda a: 1.0 / a, "square": lambda a: a * a,
    "clamp": lambda a: a.clamp(-2.0, 2.0),
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "maximum": lambda a, b: tg.maximum(a, b),
    "minimum": lambda a, b: tg.minimum(a, b), "pow": lambda a, b: a ** b,
}


def _same_ieee(got, want, label):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, label
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=label)
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want), err_msg=label)
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want), err_msg=label)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-5, atol=1e-30, err_msg=label)


@pytest.mark.parametrize("name", UNARY)
def test_nan_and_inf_unary_identical_in_interpreter_and_native(name):
    f = UNARY[name]
    with np.errstate(all="ignore"):
        eager = f(tg.tensor(SPECIAL)).numpy()
    native = tg.compile(f)(SPECIAL).numpy()
    _same_ieee(native, eager, name)
    if name != "clamp":
        assert np.isnan(eager[0]), f"{name}(nan) must be nan"


@pytest.mark.parametrize("name", BINARY)
def test_nan_and_inf_binary_identical_in_interpreter_and_native(name):
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    a, b = a.ravel().copy(), b.ravel().copy()
    f = BINARY[name]
    with np.errstate(all="ignore"):
        eager = f(tg.tensor(a), tg.tensor(b)).numpy()
        numpy = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                 "maximum": np.maximum, "minimum": np.minimum, "pow": np.power}[name](a, b)
    native = tg.compile(f)(a, b).numpy()
    _same_ieee(native, eager, name)
    _same_ieee(eager, numpy, name + " vs numpy (IEEE)")


def test_nan_propagates_through_reductions_and_gradients():
    x = np.array([1.0, np.nan, 3.0], np.float32)
    for f in (lambda a: a.sum(), lambda a: a.max(), lambda a: a.min(), lambda a: a.mean(),
              lambda a: tg.nn.functional.softmax(a, 0).sum(), lambda a: a.relu().sum()):
        assert np.isnan(float(f(tg.tensor(x)))), f
        assert np.isnan(float(tg.compile(f)(x))), f
    g_eager = tg.tensor(x, requires_grad=True)
    (g_eager * g_eager).sum().backward()
    g_native = tg.grad(lambda a: (a * a).sum())(x)
    _same_ieee(g_native.numpy(), g_eager.grad.numpy(), "grad of x*x")
    assert np.isnan(g_native.numpy()[1]) and g_native.numpy()[0] == 2.0
