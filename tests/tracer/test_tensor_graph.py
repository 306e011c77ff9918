"""The autograd-facing side of eager operations (no backward here): grad_fn names and
next_functions, leaves and requires_grad, no_grad, in-place rules, shared storage, the tape."""
import threading

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F


def leaf(*shape):
    return tg.ones(*shape, requires_grad=True)



GRAD_FNS = [  # (operation on fresh leaves, PyTorch's grad_fn name, number of next_functions)
    (lambda: leaf(3) + 2, "AddBackward0", 2), (lambda: 2 + leaf(3), "AddBackward0", 2),
    (lambda: leaf(3) + leaf(3), "AddBackward0", 2), (lambda: leaf(3) - 1, "SubBackward0", 2),
    (lambda: 1 - leaf(3), "RsubBackward1", 1), (lambda: leaf(3) * 2, "MulBackward0", 2),
    (lambda: leaf(3) / 2, "DivBackward0", 2), (lambda: 2 / leaf(3), "MulBackward0", 2),
    (lambda: -leaf(3), "NegBackward0", 1), (lambda: leaf(3) ** 2, "PowBackward0", 1),
    (lambda: leaf(3) ** leaf(3), "PowBackward1", 2), (lambda: 2 ** leaf(3), "PowBackward2", 1),
    (lambda: leaf(3).exp(), "ExpBackward0", 1), (lambda: leaf(3).log(), "LogBackward0", 1),
    (lambda: leaf(3).sqrt(), "SqrtBackward0", 1), (lambda: leaf(3).sin(), "SinBackward0", 1),
    (lambda: leaf(3).cos(), "CosBackward0", 1), (lambda: leaf(3).tanh(), "TanhBackward0", 1),
    (lambda: leaf(3).sigmoid(), "SigmoidBackward0", 1), (lambda: leaf(3).relu(), "ReluBackward0", 1),
    (lambda: leaf(3).abs(), "AbsBackward0", 1), (lambda: leaf(3).clamp(0, 1), "ClampBackward1", 1),
    (lambda: tg.maximum(leaf(3), leaf(3)), "MaximumBackward0", 2),
    (lambda: tg.minimum(leaf(3), leaf(3)), "MinimumBackward0", 2),
    (lambda: tg.where(tg.ones(3) > 0, leaf(3), leaf(3)), "WhereBackward0", 2),
    (lambda: leaf(3).sum(), "SumBackward0", 1), (lambda: leaf(2, 3).sum(1), "SumBackward1", 1),
    (lambda: leaf(3).mean(), "MeanBackward0", 1), (lambda: leaf(2, 3).mean(0), "MeanBackward1", 1),
    (lambda: leaf(3).max(), "MaxBackward1", 1), (lambda: leaf(3).min(), "MinBackward1", 1),
    (lambda: leaf(2, 3).max(1).values, "MaxBackward0", 1),
    (lambda: leaf(3).norm(), "LinalgVectorNormBackward0", 1),
    (lambda: leaf(2, 3).mm(leaf(3, 4)), "MmBackward0", 2),
    (lambda: leaf(2, 3) @ leaf(3, 4), "MmBackward0", 2),
    (lambda: leaf(5, 2, 3) @ leaf(5, 3, 4), "BmmBackward0", 2),
    (lambda: leaf(3) @ leaf(3), "DotBackward0", 2),
    (lambda: leaf(2, 3) @ leaf(3), "MvBackward0", 2),
    (lambda: leaf(2, 3).t(), "TBackward0", 1),
    (lambda: leaf(2, 3).transpose(0, 1), "TransposeBackward0", 1),
    (lambda: leaf(2, 3).permute(1, 0), "PermuteBackward0", 1),
    (lambda: leaf(2, 3).view(6), "ViewBackward0", 1),
    (lambda: leaf(2, 3).reshape(6), "ViewBackward0", 1),
    (lambda: leaf(2, 3).flatten(), "ViewBackward0", 1),
    (lambda: leaf(2, 3).unsqueeze(0), "UnsqueezeBackward0", 1),
    (lambda: leaf(1, 3).squeeze(), "SqueezeBackward0", 1),
    (lambda: leaf(1, 3).squeeze(0), "SqueezeBackward1", 1),
    (lambda: leaf(1, 3).expand(2, 3), "ExpandBackward0", 1),
    (lambda: leaf(2, 3)[0], "SelectBackward0", 1), (lambda: leaf(2, 3)[0:1], "SliceBackward0", 1),
    (lambda: leaf(2, 3)[:, 1], "SelectBackward0", 1), (lambda: leaf(2, 3)[:], "AliasBackward0", 1),
    (lambda: leaf(2, 3)[None], "UnsqueezeBackward0", 1),
    (lambda: tg.cat([leaf(3), leaf(2)]), "CatBackward0", 2),
    (lambda: tg.stack([leaf(3), leaf(3), leaf(3)]), "StackBackward0", 3),
    (lambda: leaf(3).clone(), "CloneBackward0", 1), (lambda: leaf(3).double(), "ToCopyBackward0", 1),
    (lambda: F.softmax(leaf(2, 3), dim=1), "SoftmaxBackward0", 1),
    (lambda: F.log_softmax(leaf(2, 3), dim=1), "LogSoftmaxBackward0", 1),
    (lambda: F.mse_loss(leaf(3), tg.zeros(3)), "MseLossBackward0", 2),
]


@pytest.mark.parametrize("make,name,n_next", GRAD_FNS, ids=[g[1] + str(i) for i, g in
                                                            enumerate(GRAD_FNS)])
def test_grad_fn_names(make, name, n_next):
    out = make()
    assert out.grad_fn.name() == name
    assert repr(out.grad_fn).startswith(f"<{name} object at 0x")
    assert len(out.grad_fn.next_functions) == n_next
    assert out.requires_grad and not out.is_leaf


def test_next_functions_link_to_inputs():
    a, b = leaf(3), tg.ones(3)
    y = a * b
    (fa, _), (fb, _) = y.grad_fn.next_functions
    assert fa.name() == "torch::autograd::AccumulateGrad" and fa.variable is a
    assert fb is None
    z = (y + 2).sum()
    add_fn = z.grad_fn.next_functions[0][0]
    assert add_fn.name() == "AddBackward0"
    assert add_fn.next_functions[0][0] is y.grad_fn
    assert add_fn.next_functions[1] == (None, 0)
    # the same leaf gives the same AccumulateGrad node
    assert (a + 1).grad_fn.next_functions[0][0] is (a * 2).grad_fn.next_functions[0][0]


def test_composite_operations_are_one_node():
    out = leaf(2, 2).mean()  # reduce_sum then div: one MeanBackward0
    assert len(out.grad_fn.instrs) == 2
    assert out.grad_fn.next_functions[0][0].name() == "torch::autograd::AccumulateGrad"


def test_requires_grad_propagation_and_leaves():
    a, b = leaf(3), tg.ones(3)
    assert a.is_leaf and b.is_leaf and a.requires_grad and not b.requires_grad
    c = b * 2
    assert c.is_leaf and not c.requires_grad and c.grad_fn is None
    d = a + b
    assert not d.is_leaf and d.requires_grad
    with tg.no_grad():
        e = a * 2
    assert e.is_leaf and not e.requires_grad and e.grad_fn is None
    assert (a > 0).grad_fn is None and not (a > 0).requires_grad
    assert a.argmax().grad_fn is None
    with tg.set_grad_enabled(False):
        assert (a + 1).grad_fn is None
        with tg.enable_grad():
            assert (a + 1).grad_fn is not None


def test_no_grad_decorator():
    @tg.no_grad()
    def f(t):
        return t * 2
    assert f(leaf(2)).grad_fn is None
    assert tg.is_grad_enabled()


def test_requires_grad_only_on_floats():
    for make in [lambda: tg.tensor([1, 2], requires_grad=True),
                 lambda: tg.tensor([1, 2]).requires_grad_(),
                 lambda: tg.ones(2, dtype=tg.int64, requires_grad=True),
                 lambda: tg.tensor([True]).requires_grad_()]:
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can "
                                               "require gradients"):
            make()


def test_detach_shares_storage_and_version():
    a = leaf(3)
    d = a.detach()
    assert not d.requires_grad and d.is_leaf
    with tg.no_grad():
        a.mul_(2)
    assert d.tolist() == [2.0, 2.0, 2.0]
    assert d._version is a._version and a._version[0] == 1


def test_data_shares_storage_and_writes_are_not_recorded():
    x = tg.ones(1, requires_grad=True)
    assert repr(x.data) == "tensor([1.])" and x.data.requires_grad is False
    y = 2 * x
    x.data *= 100
    assert repr(x) == "tensor([100.], requires_grad=True)"
    assert y.grad_fn.name() == "MulBackward0"
    assert x._version[0] == 0  # .data has its own counter, as in PyTorch


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.zeros(3, np.float32)
    t, c = tg.from_numpy(a), tg.tensor(a)
    a[0] = 5
    assert t.tolist() == [5, 0, 0] and c.tolist() == [0, 0, 0]
    t.add_(1)
    assert a.tolist() == [6, 1, 1]
    assert tg.from_numpy(np.zeros(2)).dtype is tg.float64


@pytest.mark.parametrize("op", [
    lambda t: t.add_(1), lambda t: t.sub_(1), lambda t: t.mul_(2), lambda t: t.div_(2),
    lambda t: t.zero_(), lambda t: t.fill_(3), lambda t: t.copy_(tg.ones(3)),
    lambda t: t.clamp_(0, 1), lambda t: t.__iadd__(1), lambda t: t.__isub__(1),
    lambda t: t.__imul__(2), lambda t: t.__itruediv__(2), lambda t: t.__setitem__(0, 5.0),
])
def test_in_place_on_leaf_requiring_grad(op):
    t = leaf(3)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation."):
        op(t)
    with tg.no_grad():
        out = op(t)
    assert out is None or out is t
    assert t._version[0] == 1 and t.is_leaf and t.requires_grad


def test_in_place_under_no_grad_writes_the_same_buffer():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    buf = w._data
    grad = tg.tensor([0.5, 0.5])
    with tg.no_grad():
        w -= 0.1 * grad
        w *= 2
    assert w._data is buf
    np.testing.assert_allclose(buf, [1.9, 3.9], rtol=1e-6)
    assert repr(w) == "tensor([1.9000, 3.9000], requires_grad=True)"
    grad.zero_()
    assert grad.tolist() == [0, 0]


def test_in_place_on_non_leaf_is_recorded():
    a = leaf(3)
    y = a * 2
    buf, old_fn = y._data, y.grad_fn
    y += 1
    assert y._data is buf and y.grad_fn is not old_fn and y.grad_fn.name() == "AddBackward0"
    assert y.grad_fn.next_functions[0][0] is old_fn
    assert y.tolist() == [3, 3, 3] and y._version[0] == 1
    saved = y.grad_fn.saved[id(y._value)]
    assert saved.array is buf and saved.version_box is y._version and saved.version == 1
    y.zero_()
    assert y.grad_fn.name() == "ZeroBackward0" and y.requires_grad and y.tolist() == [0, 0, 0]
    y[1] = 4.0
    assert y.grad_fn.name() == "CopySlices" and y.tolist() == [0, 4, 0]


def test_in_place_errors():
    t = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        t /= 2
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        tg.ones(3).add_(tg.ones(2, 3))


def test_in_place_of_a_non_grad_tensor_with_a_grad_operand_makes_a_non_leaf():
    t, w = tg.zeros(3), leaf(3)
    t.add_(w)
    assert not t.is_leaf and t.grad_fn.name() == "AddBackward0"


def test_in_place_through_views():
    w = leaf(3)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0].add_(1)
    with pytest.raises(RuntimeError, match="in-place operations on a view"):
        (w * 2)[1:].mul_(2)
    with pytest.raises(RuntimeError, match="in-place operations on a view"):
        tg.zeros(3)[:2].add_(w[:2])
    with tg.no_grad():
        w[0].add_(1)
    assert w.tolist() == [2, 1, 1] and w._version[0] == 1
    a = tg.zeros(2, 2)
    row = a[1]
    row += 1  # a plain write through a view, as in numpy
    assert a.tolist() == [[0, 0], [1, 1]] and a._version is row._version
    y = w * 2
    y[1] = 5.0  # assigning through the base is recorded (CopySlices)
    assert y.grad_fn.name() == "CopySlices" and y.tolist() == [4, 5, 2]


def test_grad_mode_is_per_thread():
    seen = {}

    def worker():
        seen["enabled"] = tg.is_grad_enabled()
        seen["records"] = (leaf(2) * 2).grad_fn is not None

    with tg.no_grad():
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        assert not tg.is_grad_enabled()
    assert seen == {"enabled": True, "records": True}


def test_tape_prints_parses_and_verifies():
    x = tg.ones(2, 2, requires_grad=True)
    y = (x + 2) * (x + 2) * 3
    out = y.mean()
    fn = tg.autograd.tape(out)
    text = str(fn)
    assert text.startswith("func @tape(")
    assert text.splitlines()[-2] == "  return %9"
    # Python numbers are constants in the IR, not parameters: x is the only input
    assert text.splitlines()[0] == "func @tape(%arg0: f32[2,2]) -> (f32[]) {"
    assert "  %5: f32[2,2] = full value=3.0" in text
    assert "  %8: f32[] = full value=4.0" in text
    assert "= reduce_sum %6 axes=(0, 1)" in text and "test_tensor_graph.py:" in text
    assert str(tg.ir.verify(tg.ir.parse(text))) == text
    assert fn.params[0] is x._value
    with pytest.raises(RuntimeError, match="no tape"):
        tg.autograd.tape(tg.ones(2))


def test_variable_is_identity():
    t = tg.ones(2)
    assert tg.autograd.Variable(t) is t


def test_recorded_in_place_backward():
    b = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = b * 2
    y.add_(b)
    y *= 3
    y.sum().backward()
    assert b.grad.tolist() == [9.0, 9.0, 9.0]
    y = b.exp()  # exp's backward needs its output, which add_ overwrites
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()

