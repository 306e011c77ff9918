"""The eager fast paths give exactly what the general paths give.

- the engine caches adjoints by a structural key built while walking the tape: two
  tapes share it only when they build the same function (constants included);
- in-place arithmetic with nothing to record writes the buffer directly;
- `tape.bind_op` (one-primitive operations recorded without entering a grad_node)
  is `with grad_node(name, *inputs): bind(prim, *args)`: same values, grad_fn
  names, next_functions, recorded IR (types and source lines included), gradients;
- binary operations and clamp skip promotion and broadcasting only where they have
  nothing to do (`ops_elementwise._float_operands`, `_clamp_by_numbers`), and an
  operation with a number that records nothing skips the constant's tensor
  (`_unrecorded_with_number`);
- `loss.backward()` in the common case (`engine._plain_backward`) gives the general
  engine's gradients bit for bit, accumulates the same way, and leaves every other
  case (hooks, retained grads, custom Functions, stale or freed values) to it.
"""
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir.printer import print_function
from tapegrad.tracer import (backward_plan, eager_operators, engine, ops_elementwise,
                             ops_inplace, ops_reduce, ops_shape, tape)
from tapegrad.tracer.tape import bind, grad_node


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _reference_bind_op(name, inputs, prim, args, attrs, rtype):
    """What bind_op stands for (the line: the user's, not this file's)."""
    loc = tape._caller_loc(sys._getframe(1))
    with grad_node(name, *inputs):
        out = bind(prim, *args, loc=loc, **attrs)
    assert out._type == rtype  # the type the fast path assumed is the shape rule's
    return out


def _general(monkeypatch):
    """Every eager fast path off: the general paths only."""
    for module in (ops_elementwise, ops_reduce, ops_shape):
        monkeypatch.setattr(module, "bind_op", _reference_bind_op)
    monkeypatch.setattr(ops_elementwise, "_float_operands", lambda a, b: None)
    monkeypatch.setattr(ops_elementwise, "_PLAIN_NUMBERS", frozenset())  # clamp's bounds
    monkeypatch.setattr(engine, "_plain_backward", lambda root: False)


PROGRAMS = {
    "w3": lambda x, w: x ** 2 * tg.sin(x) + tg.exp(x) / (1 + x * x),
    "two layers": lambda x, w: (x.mm(w).clamp(min=0).mm(w.t()) - x).pow(2).sum(),
    "scalars": lambda x, w: (2.0 - x * 3 + x / 2.5 - x ** 0.5 + x * np.float32(0.25)
                             + x * np.float64(2) + x * np.int64(3)).sum(),
    "unary": lambda x, w: (tg.tanh(x) + tg.sigmoid(x) + tg.cos(x) + tg.log(x * x + 1)
                           + tg.sqrt(x * x)).sum(),
    "tensor pow and div": lambda x, w: (x.abs() ** (x * 0 + 1.5) / (x * x + 1)).sum(),
    "shared values": lambda x, w: (lambda e: (e * e).sum() + e.sum())(tg.exp(x)),
    "broadcast": lambda x, w: (x * x.sum(0) - x[0]).sum(),
    "mixed dtypes": lambda x, w: (x.double() * 2 + x.double().sum()).sum(),
    "clamp": lambda x, w: (x.clamp(-0.5, 0.5) * x.clamp(max=1) + x.clamp(min=np.float32(0.1))
                           + x.clamp(min=float("nan")) + x.clamp(max=2, min=3)).sum(),
    "max minimum": lambda x, w: (tg.maximum(x, x * 2) - tg.minimum(x, 0.5 * x)).sum(),
}


def _run(program, shape=(3, 3)):
    x = tg.tensor(f32(*shape, seed=1), requires_grad=True)
    w = tg.tensor(f32(3, 3, seed=2), requires_grad=True)
    out = PROGRAMS[program](x, w)
    if out.ndim:
        out = out.sum()
    tape_text = print_function(_tape_function(out))
    names = _node_names(out.grad_fn)
    out.backward()
    return (out.detach().numpy(), tape_text, names, x.grad.numpy(),
            None if w.grad is None else w.grad.numpy())


def _tape_function(out):
    from tapegrad.tracer.backward_plan import walk_tape
    return walk_tape([out._value]).function()


def _node_names(fn, seen=None):
    """The grad_fn graph as nested (name, next) tuples: names and the links' shape."""
    if fn is None:
        return None
    return (fn.name(), tuple(_node_names(f) if f is not None and hasattr(f, "next_fns") else
                             (None if f is None else f.name()) for f, _ in fn.next_functions))


@pytest.mark.parametrize("mode", ["interpret", "compile"])
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_fast_paths_record_and_differentiate_as_the_general_paths(monkeypatch, program, mode):
    monkeypatch.setenv("TAPEGRAD_EAGER", mode)  # one way of running adjoints: equal bits
    shape = (3, 3)
    fast = [_run(program, shape) for _ in range(2)]  # the second step: a cached adjoint
    _general(monkeypatch)
    slow = [_run(program, shape) for _ in range(2)]
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1] == b[1]  # the same instructions, types, constants and source lines
        assert a[2] == b[2]  # the same grad_fn names and next_functions
        np.testing.assert_array_equal(a[3], b[3])
        if a[4] is None:
            assert b[4] is None
        else:
            np.testing.assert_array_equal(a[4], b[4])


def test_bind_op_inside_another_operation_joins_its_node():
    x = tg.tensor(f32(3), requires_grad=True)
    with grad_node("OuterBackward0", x):
        y = tg.sin(x) * 2.0
    assert y.grad_fn.name() == "OuterBackward0"
    assert len(y.grad_fn.instrs) == 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(f32(3)), rtol=1e-6)


def test_bind_op_names_the_users_line():
    x = tg.tensor(f32(3), requires_grad=True)
    y = tg.exp(x); line = __import__("inspect").currentframe().f_lineno  # noqa: E702
    assert y.grad_fn.loc.line == line and y.grad_fn.loc.file == __file__
    assert y._value.loc == y.grad_fn.loc


def test_a_new_thread_records_with_the_defaults_at_its_own_lines():
    """Grad mode and the tape's per-thread state are read through class defaults (no
    AttributeError per operation): a thread that never set them records as the main
    thread does, and the lines found by (code, offset) are the users'."""
    import threading
    from inspect import currentframe
    out = {}

    def work():
        x = tg.tensor(f32(3), requires_grad=True)
        a, b = tg.exp(x), tg.sin(x); line = currentframe().f_lineno  # noqa: E702
        out["enabled"], out["tracing"] = tg.is_grad_enabled(), tape._tracing()
        out["locs"] = [(t.grad_fn.name(), t.grad_fn.loc.line) for t in (a, b)]
        out["line"] = line
        (a * b).sum().backward()
        out["grad"] = x.grad.numpy()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    x = f32(3)
    assert out["enabled"] and not out["tracing"]
    assert out["locs"] == [("ExpBackward0", out["line"]), ("SinBackward0", out["line"])]
    np.testing.assert_allclose(out["grad"], np.exp(x) * (np.sin(x) + np.cos(x)), rtol=1e-5)
    # code compiled afresh for each run (exec): each run's own line, never a stale entry
    for k in range(3):
        ns = {"tg": tg, "x": tg.tensor(f32(3), requires_grad=True)}
        exec(compile("\n" * k + "y = tg.exp(x)", "<generated>", "exec"), ns)
        assert ns["y"].grad_fn.loc.file == "<generated>" and ns["y"].grad_fn.loc.line == k + 1


def test_fast_binary_paths_only_where_nothing_promotes_or_broadcasts():
    x = tg.tensor(f32(2, 3))
    assert ops_elementwise._float_operands(x, x) == (x, x)
    assert ops_elementwise._float_operands(x, 2.0)[1].dtype is tg.float32
    for other in (tg.tensor(f32(3)), tg.tensor(f32(2, 3)).double(), True, tg.tensor([1, 2, 3]),
                  np.float16(1.0), [1.0]):
        assert ops_elementwise._float_operands(x, other) is None
    assert ops_elementwise._float_operands(tg.tensor([1, 2]), 2.0) is None
    assert ops_elementwise._float_operands(2.0, x) is None
    # promotion still happens where it should
    assert (tg.tensor([1, 2]) * 1.5).dtype is tg.float32
    assert (x.double() * np.float32(2)).dtype is tg.float64
    assert (x * tg.tensor(2.0, dtype=tg.float64)).dtype is tg.float32  # a 0-d operand


# ---------------------------------------------------------------- the engine's plan key


def _grad_of(make, value):
    x = tg.tensor(value, requires_grad=True)
    make(x).sum().backward()
    return x.grad.numpy()


def test_constants_that_print_differently_never_share_an_adjoint():
    # the adjoint of x * c reads c as a constant of its own: a cache hit across
    # -0.0 and 0.0 (equal and of equal hash in Python) would give the wrong sign
    x = np.ones(3, np.float32)
    for c in (0.0, -0.0, 0.0, -0.0):
        g = _grad_of(lambda t: t * c, x)
        assert np.array_equal(np.signbit(g), np.signbit(np.full(3, c, np.float32)))
    for c in (2.0, 3.0, 2.0):
        np.testing.assert_array_equal(_grad_of(lambda t: t * c, x), np.full(3, c, np.float32))


def test_a_nan_constant_finds_its_cached_adjoint():
    x = np.ones(2, np.float32)
    _grad_of(lambda t: t * float("nan") + t, x)
    before = len(backward_plan._plans)
    for _ in range(3):
        assert np.isnan(_grad_of(lambda t: t * float("nan") + t, x)).all()
    assert len(backward_plan._plans) == before


def test_shared_and_repeated_values_are_different_structures():
    # exp(x) used twice vs exp(x) computed twice: same math, different tapes, so
    # each must bind its own saved values (a shared key would misplace them)
    xv = f32(4)
    want = 2 * np.exp(2 * xv)
    for _ in range(2):
        np.testing.assert_allclose(_grad_of(lambda t: tg.exp(t) * tg.exp(t), xv), want, rtol=1e-5)
        np.testing.assert_allclose(_grad_of(lambda t: (lambda e: e * e)(tg.exp(t)), xv), want,
                                   rtol=1e-5)
    # operand order and which operand is a leaf are part of the structure
    a, b = f32(3, seed=1), f32(3, seed=2)
    for _ in range(2):
        x, y = tg.tensor(a, requires_grad=True), tg.tensor(b)
        (x * y - y).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), b)
        x, y = tg.tensor(a, requires_grad=True), tg.tensor(b)
        (y * x - x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), b - 1, rtol=1e-6)


def test_the_key_holds_attributes_and_types():
    xv = f32(2, 3)
    g0 = _grad_of(lambda t: t.sum(0) * tg.tensor([1.0, 2.0, 3.0]), xv)
    g1 = _grad_of(lambda t: t.sum(1) * tg.tensor([1.0, 2.0]), xv)
    np.testing.assert_array_equal(g0, np.tile([1.0, 2.0, 3.0], (2, 1)))
    np.testing.assert_array_equal(g1, np.tile([[1.0], [2.0]], (1, 3)))
    g64 = _grad_of(lambda t: t * 3.0, xv.astype(np.float64))
    assert g64.dtype == np.float64


# ---------------------------------------------------------------- direct in-place updates


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
@pytest.mark.parametrize("other", ["same shape", "0-d", "python float"])
def test_direct_in_place_arithmetic_matches_the_general_path(monkeypatch, dtype, op, other):
    a = f32(4, 5).astype(dtype)
    a[0, 0], a[0, 1] = 0, np.nan
    b = f32(4, 5, seed=3).astype(dtype)
    b[0, 2] = 0

    def run():
        x = tg.tensor(a)
        o = {"same shape": tg.tensor(b), "0-d": tg.tensor(dtype(0.3)),
             "python float": 0.1}[other]
        with tg.no_grad():
            out = getattr(x, op)(o)
        assert out is x and x._version[0] == 1
        return x.numpy()

    direct = run()
    monkeypatch.setattr(ops_inplace, "_direct", lambda x, o: False)
    np.testing.assert_array_equal(direct, run())


def test_the_sgd_update_on_a_leaf_and_its_errors():
    w = tg.tensor(f32(3, 2), requires_grad=True)
    (w * w).sum().backward()
    before = w.detach().numpy().copy()
    with tg.no_grad():
        w -= 0.5 * w.grad
        w.grad.zero_()
    np.testing.assert_allclose(w.detach().numpy(), before - 0.5 * 2 * before, rtol=1e-6)
    assert not w.grad.numpy().any()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w -= 1.0  # grad mode on: refused, as PyTorch does
    c = tg.ones(3).expand(2, 3)  # read-only memory: the general path's error
    with pytest.raises(RuntimeError, match="read-only"):
        c.add_(1.0)


# ---------------------------------------------------------------- loss.backward()


def _step(w, x, lr=0.1):
    loss = (x.mm(w).clamp(min=0) - 1).pow(2).sum()
    loss.backward()
    with tg.no_grad():
        w -= lr * w.grad
        w.grad.zero_()
    return loss.item()


def test_plain_backward_matches_the_general_engine_over_a_training_loop(monkeypatch):
    def train():
        w = tg.tensor(f32(4, 3, seed=4) * 0.3, requires_grad=True)
        x = tg.tensor(f32(5, 4, seed=5))
        losses = [_step(w, x) for _ in range(4)]
        return losses, w.detach().numpy().copy()

    fast = train()
    monkeypatch.setattr(engine, "_plain_backward", lambda root: False)
    slow = train()
    assert fast[0] == slow[0]
    np.testing.assert_array_equal(fast[1], slow[1])


def test_plain_backward_accumulates_and_copies_nothing_it_shares():
    x = tg.tensor(f32(3), requires_grad=True)
    for k in range(1, 4):
        (x * x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * k * f32(3), rtol=1e-6)
    g = x.grad
    (x * 2.0).sum().backward()  # accumulates in place: the same tensor, a new version
    assert x.grad is g and g._version[0] == 3
    y = tg.tensor(f32(3), requires_grad=True)
    y.sum().backward()  # the adjoint returns its cotangent broadcast: .grad is its own array
    z = tg.tensor(f32(3), requires_grad=True)
    z.sum().backward()
    assert not np.shares_memory(y.grad.numpy(), z.grad.numpy())
    y.grad.numpy()[0] = 7.0
    assert z.grad.numpy()[0] == 1.0


def test_a_zeroed_grad_takes_the_adjoints_array_only_when_nothing_else_sees_it():
    """After `w.grad.zero_()`, backward may make the adjoint's fresh array the grad's
    buffer instead of adding into it; the same tensor, a new version, the same values,
    and never while a view, a held `.numpy()` or a write since zero_() could tell."""
    x = tg.tensor(f32(5, 4, seed=1))
    w = tg.tensor(f32(4, 3, seed=2), requires_grad=True)

    def backward():
        x.mm(w).pow(2).sum().backward()

    backward()
    g, want = w.grad, w.grad.numpy().copy()
    with tg.no_grad():
        g.zero_()
    version, before = g._version[0], id(g._data)  # (holding the array would stop it)
    backward()
    assert w.grad is g and g._version[0] == version + 1
    assert id(g._data) != before  # replaced (both were alive at once): no add pass
    np.testing.assert_array_equal(g.numpy(), want)

    with tg.no_grad():
        g.zero_()
    held = g.numpy()  # the caller holds the array: it must see the update
    view = g[1]  # and a view of it
    backward()
    assert g._data is held and np.array_equal(held, want)
    np.testing.assert_array_equal(view.numpy(), want[1])
    del held, view

    with tg.no_grad():
        g.zero_()
        g.add_(1.0)  # written since zero_(): it holds ones, so add
    backward()
    np.testing.assert_allclose(g.numpy(), want + 1, rtol=1e-6)

    backward()  # not zeroed at all: accumulates
    np.testing.assert_allclose(g.numpy(), 2 * want + 1, rtol=1e-6)


def test_two_leaves_never_take_the_same_array(monkeypatch):
    """Were the adjoint to return one array object for two gradients, each leaf still
    gets its own buffer, whether its .grad is new or a zeroed one taking the array."""
    real = engine.execute
    monkeypatch.setattr(engine, "execute", lambda fn, arrays: (lambda outs: [outs[0]] * len(outs))(
        real(fn, arrays)))
    x, y = (tg.tensor(f32(3), requires_grad=True) for _ in range(2))
    for _ in range(2):
        (x + y).sum().backward()
        assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
        with tg.no_grad():
            x.grad.zero_()
            y.grad.zero_()
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    with tg.no_grad():
        x.grad.add_(1.0)
    np.testing.assert_array_equal(y.grad.numpy(), np.ones(3, np.float32))


def test_plain_backward_leaves_the_rest_to_the_general_path():
    # a hook on a leaf, on a non-leaf, a retained grad: the general path's semantics
    x = tg.tensor(f32(3), requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 20 * f32(3), rtol=1e-6)
    x = tg.tensor(f32(3), requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 3)
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 3 * 2 * (2 * f32(3)), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * 2 * (2 * f32(3)), rtol=1e-6)
    # a second backward: the general path's error
    x = tg.tensor(f32(3), requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()
    # a saved value changed in place (the direct in-place path still bumps the version),
    # on a fresh tape and again on a cached one: the general path's error
    for inplace, by in (("add_", 1.0), ("mul_", 3.0), ("mul_", 3.0)):
        x = tg.tensor(f32(3), requires_grad=True)
        y = x * 2
        loss = (y * y).sum()
        with tg.no_grad():
            getattr(y, inplace)(by)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()
    # a non-scalar root: the general path's error
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (tg.tensor(f32(3), requires_grad=True) * 2).backward()


def test_plain_backward_frees_the_graph_and_retain_graph_keeps_it():
    x = tg.tensor(f32(3), requires_grad=True)
    loss = (tg.exp(x) * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(f32(3)) * (1 + f32(3)), rtol=1e-5)
    assert loss.grad_fn.freed


def test_a_leaf_that_died_is_skipped():
    x = tg.tensor(f32(3), requires_grad=True)
    loss = (x * 3.0).sum()
    del x
    loss.backward()  # nothing to accumulate into, no error (as the general path)


def test_the_benchmark_steps_take_the_fast_paths(monkeypatch):
    taken, ops = [], []
    plain = engine._plain_backward
    monkeypatch.setattr(engine, "_plain_backward", lambda root: taken.append(plain(root)) or
                        taken[-1])
    for module in (ops_elementwise, ops_reduce, ops_shape):
        real = module.bind_op
        monkeypatch.setattr(module, "bind_op", lambda name, *a, real=real: ops.append(name) or
                            real(name, *a))
    on_tape = eager_operators._on_tape  # the one-frame operators' records
    monkeypatch.setattr(eager_operators, "_on_tape",
                        lambda fn, *a: ops.append(fn.name()) or on_tape(fn, *a))
    unrecorded = []
    direct = ops_elementwise._unrecorded_with_number

    def counted(*args):
        out = direct(*args)
        if out is not None:
            unrecorded.append(True)
        return out

    monkeypatch.setattr(ops_elementwise, "_unrecorded_with_number", counted)
    x = tg.tensor(1.5, requires_grad=True)
    PROGRAMS["w3"](x, None).backward()
    assert taken == [True] and len(ops) == 8
    w = tg.tensor(f32(4, 3, seed=4), requires_grad=True)
    _step(w, tg.tensor(f32(5, 4, seed=5)))
    assert taken == [True, True]
    assert ops[8:] == ["MmBackward0", "ClampBackward1", "SubBackward0", "PowBackward0",
                       "SumBackward0"]
    assert unrecorded == [True]  # lr * w.grad, under no_grad


def test_eager_mode_reads_the_environment_as_it_is_now(monkeypatch):
    from tapegrad.runtime import execute
    monkeypatch.setenv("TAPEGRAD_EAGER", "interpret")
    assert execute.eager_mode() == "interpret"
    monkeypatch.setitem(__import__("os").environ, "TAPEGRAD_EAGER", "compile")
    assert execute.eager_mode() == "compile"
    monkeypatch.setenv("TAPEGRAD_EAGER", "")
    assert execute.eager_mode() == "auto"
    monkeypatch.delenv("TAPEGRAD_EAGER")
    assert execute.eager_mode() == "auto"
    monkeypatch.setenv("TAPEGRAD_EAGER", "fast")
    with pytest.raises(ValueError, match="TAPEGRAD_EAGER='fast'"):
        execute.eager_mode()


@pytest.mark.parametrize("value", [1.5, -0.0, float("nan"), 1e300, 3.4028235e38, 1e-46])
def test_a_python_float_makes_the_tensor_the_general_path_makes(value):
    from tapegrad.tracer import creation
    fast = tg.tensor(value, requires_grad=True)
    general = creation.tensor([value], requires_grad=True).reshape(())  # a list: general path
    assert fast.dtype is tg.float32 and fast.shape == () and fast.requires_grad and fast.is_leaf
    assert fast.detach().numpy().tobytes() == general.detach().numpy().tobytes()
    assert fast._type == general._type
    other = tg.tensor(value)
    assert not np.shares_memory(other.numpy(), fast.detach().numpy())
    assert tg.tensor(np.float64(value)).dtype is tg.float64  # numpy's float keeps its dtype
    assert tg.tensor(value, dtype=tg.float64).dtype is tg.float64


def test_constants_found_by_value_are_the_constants_found_by_text():
    from tapegrad.tracer import ops_core
    f32_ = tg.float32
    for value in (2, 2.0, np.float32(2), np.float64(2.0), True, 1e-6, np.float32(1e-6), 2**60 + 1):
        for _ in range(2):
            c = ops_core.scalar_constant(value, f32_, (3,))
            attrs = c._value.attrs
            assert attrs == {"value": float(np.float32(value) if isinstance(value, np.float32)
                                            else value)}
            assert c._data.dtype == np.float32 and c._data.shape == (3,)
            assert c._data[0] == np.float32(attrs["value"])
    # signed zeros and NaN are told apart by their text only
    for a, b in ((0.0, -0.0), (-0.0, 0.0), (0, -0.0)):
        ca, cb = ops_core.scalar_constant(a, f32_, ()), ops_core.scalar_constant(b, f32_, ())
        assert np.signbit(ca._data) == np.signbit(np.float32(a))
        assert np.signbit(cb._data) == np.signbit(np.float32(b))
    assert np.isnan(ops_core.scalar_constant(float("nan"), f32_, ())._data)
    # an int and a bool constant of an integer tensor stay what they are
    assert ops_core.scalar_constant(True, tg.int64, ())._value.attrs["value"] == 1
    assert ops_core.scalar_constant(1, tg.bool, ())._value.attrs["value"] is True


def test_native_adjoints_check_what_they_are_given(monkeypatch):
    from tapegrad.runtime import execute
    from tapegrad.ir.core import Function, Instr, Param, TensorType
    from tapegrad.ir import primitives as P
    monkeypatch.setenv("TAPEGRAD_EAGER", "compile")
    t = TensorType(tg.float32, (3,))
    p, q = Param(t), Param(t)
    fn = Function("f", [p, q], [Instr(P.mul, (p, q), {}, t)], [])
    fn.results.append(fn.body[0])
    a, b = f32(3), f32(3, seed=1)
    want = a * b
    np.testing.assert_array_equal(execute.execute(fn, [a, b])[0], want)  # compiles
    np.testing.assert_array_equal(execute.execute(fn, [a, b])[0], want)  # the direct call
    np.testing.assert_array_equal(execute.execute(fn, [a[::-1][::-1], b])[0], want)
    swapped = a.astype(a.dtype.newbyteorder())  # another dtype object: the checked call
    np.testing.assert_array_equal(execute.execute(fn, [swapped, b])[0], want)
    np.testing.assert_array_equal(execute.execute(fn, [list(a), b])[0], want)
    with pytest.raises(ValueError, match="shape"):
        execute.execute(fn, [f32(4), f32(4)])
    with pytest.raises(TypeError, match="dtype"):
        execute.execute(fn, [a.astype(np.float64), b])
    with pytest.raises(TypeError, match="arguments"):
        execute.execute(fn, [a])


def test_native_adjoints_fix_the_layout_of_exact_arrays(monkeypatch):
    """Arrays of exactly the parameters' dtypes and shapes run through the `_obj` entry
    point only when C-contiguous and aligned; a strided or unaligned one is copied
    (call_checked) first: the results are the same either way."""
    from tapegrad.runtime import execute
    from tapegrad.ir.core import Function, Instr, Param, TensorType
    from tapegrad.ir import primitives as P
    monkeypatch.setenv("TAPEGRAD_EAGER", "compile")
    t = TensorType(tg.float32, (3,))
    p, q = Param(t), Param(t)
    fn = Function("f", [p, q], [Instr(P.sub, (p, q), {}, t)], [])
    fn.results.append(fn.body[0])
    a, b = f32(3), f32(3, seed=1)
    want = a - b
    calls = []
    real = execute.allocate
    monkeypatch.setattr(execute, "allocate", lambda *args: calls.append(1) or real(*args))
    np.testing.assert_array_equal(execute.execute(fn, [a, b])[0], want)  # compiles
    np.testing.assert_array_equal(execute.execute(fn, [a, b])[0], want)
    assert calls == [1, 1]  # the direct entry point, both times
    strided = np.empty((3, 2), np.float32)[:, 0]
    strided[:] = a
    raw = np.zeros(3 * 4 + 1, np.uint8)[1:].view(np.float32)  # unaligned
    raw[:] = b
    assert not strided.flags.c_contiguous and not raw.flags.aligned
    for args in ([strided, b], [a, raw], [strided, raw]):
        out = execute.execute(fn, args)[0]
        np.testing.assert_array_equal(out, want)
        assert out.flags.owndata and not np.shares_memory(out, args[0])
    assert calls == [1, 1]  # call_checked made those results
    out1, out2 = execute.execute(fn, [a, b])[0], execute.execute(fn, [a, b])[0]
    assert out1 is not out2 and not np.shares_memory(out1, out2)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_unrecorded_operations_give_the_general_paths_values(monkeypatch, program):
    def run():
        x = tg.tensor(f32(3, 3, seed=1), requires_grad=True)
        w = tg.tensor(f32(3, 3, seed=2))
        with tg.no_grad():
            a = PROGRAMS[program](x, w)
        b = PROGRAMS[program](w, x)  # w needs no grad: nothing records this either
        assert not a.requires_grad and a.grad_fn is None and a.is_leaf
        return a.numpy(), b.numpy() if not b.requires_grad else b.detach().numpy()

    fast = run()
    _general(monkeypatch)
    slow = run()
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_unrecorded_number_operations_keep_dtype_and_errors():
    x = tg.tensor(f32(4))
    assert (x * np.float64(2)).dtype is tg.float32 and (x.double() * 2).dtype is tg.float64
    assert (x * 2).dtype is tg.float32 and (x / 0).numpy()[0] in (np.inf, -np.inf)
    assert (tg.tensor([1, 2]) / 2).dtype is tg.float32  # integers: the general path promotes
    y = tg.tensor(f32(4), requires_grad=True)
    assert (y * 2).grad_fn.name() == "MulBackward0"  # recorded: not this path
    with tg.no_grad():
        assert (y * 2).grad_fn is None
