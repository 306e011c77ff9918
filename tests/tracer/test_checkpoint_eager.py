"""Eager checkpointing (tg.checkpoint outside a trace, tg.utils.checkpoint): the
intermediate values are freed after the call and recomputed by backward, with the
gradients of the same code run without checkpointing."""
import gc
import weakref

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer.tape import AdjointNode
from tapegrad.utils.checkpoint import checkpoint, checkpoint_sequential


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.standard_normal(s), requires_grad=True)
            for s in ((4, 4), (4, 4), (3, 4))]


def _block_and_refs(w1, w2):
    refs = []

    def block(h):
        a = h @ w1
        b = tg.tanh(a)
        refs.extend([weakref.ref(a._data), weakref.ref(b._data), weakref.ref(a.grad_fn),
                     weakref.ref(b.grad_fn)])  # the arrays backward would read, their nodes
        if b.sum().item() > -1e9:  # Python control flow on a value: allowed eagerly
            b = b * 2
        return tg.tanh(b @ w2)
    return block, refs


def _grads(wrap):
    w1, w2, x = _weights()
    block, refs = _block_and_refs(w1, w2)
    loss = (wrap(block)(x) ** 2).sum()
    gc.collect()
    alive = [r() is not None for r in refs]
    loss.backward()
    return [t.grad.numpy() for t in (w1, w2, x)], alive, loss


@pytest.mark.parametrize("wrap", [tg.checkpoint,
                                  lambda f: (lambda x: checkpoint(f, x, use_reentrant=False)),
                                  lambda f: (lambda x: checkpoint(f, x, use_reentrant=True))])
def test_intermediates_are_freed_and_gradients_equal(wrap):
    want, alive_plain, _ = _grads(lambda f: f)
    got, alive, loss = _grads(wrap)
    assert all(alive_plain)  # without checkpoint the tape keeps them
    assert not any(alive)  # the arrays and the nodes that saved them are gone
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)


def test_the_node_keeps_only_inputs_and_outputs():
    w1, w2, x = _weights()
    block, _ = _block_and_refs(w1, w2)
    y = tg.checkpoint(block)(x)
    node = y.grad_fn
    assert isinstance(node, AdjointNode) and type(node).__name__ == "TanhBackward0"
    inputs = {id(v) for v in node.inputs}
    kept = set(node.saved) - inputs
    assert kept == {id(y._value)}  # of the node's own values, only the result has an array
    assert len(node.shape.virtual_offsets) >= 4  # matmul, tanh, mul, matmul recomputed


def test_autograd_grad_reaches_closed_over_parameters_and_graph_is_freed():
    w1, w2, x = _weights(1)
    block, _ = _block_and_refs(w1, w2)
    want = tg.autograd.grad(block(x).sum(), (w1, w2))
    y = checkpoint(block, x, use_reentrant=False).sum()
    got = tg.autograd.grad(y, (w1, w2))
    for g, e in zip(got, want):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        tg.autograd.grad(y, (w1, w2))


def test_double_backward_through_a_checkpoint():
    x = tg.tensor([0.3, -0.7], requires_grad=True)
    y = tg.checkpoint(lambda v: tg.sin(v) * v)(x).sum()
    (g,) = tg.autograd.grad(y, x, create_graph=True)
    (h,) = tg.autograd.grad(g.sum(), x)
    v = np.array([0.3, -0.7])
    np.testing.assert_allclose(g.detach().numpy(), np.cos(v) * v + np.sin(v), rtol=1e-6)
    np.testing.assert_allclose(h.numpy(), 2 * np.cos(v) - v * np.sin(v), rtol=1e-6)


def test_several_outputs_kwargs_and_a_policy():
    w1, w2, x = _weights(2)

    def two(h, scale=1.0):
        a = tg.tanh(h @ w1) * scale
        return a, tg.tanh(a @ w2)
    want_a, want_b = two(x, scale=0.5)
    (want_a.sum() + want_b.sum()).backward()
    want = [t.grad.numpy().copy() for t in (w1, w2, x)]
    for t in (w1, w2, x):
        t.grad = None
    a, b = checkpoint(two, x, use_reentrant=False, scale=0.5)
    (a.sum() + b.sum()).backward()
    for t, e in zip((w1, w2, x), want):
        np.testing.assert_allclose(t.grad.numpy(), e, rtol=1e-6)
    for t in (w1, w2, x):
        t.grad = None
    keep_dots = tg.checkpoint(lambda h: two(h, 0.5), policy=tg.checkpoint_policies.dots_saveable)
    def own_arrays(node):
        return len(set(node.saved) - {id(v) for v in node.inputs})
    plain = own_arrays(tg.checkpoint(lambda h: two(h, 0.5))(x)[1].grad_fn)
    a, b = keep_dots(x)
    assert plain == 2 and own_arrays(b.grad_fn) == plain + 2  # the two matmuls' results
    (a.sum() + b.sum()).backward()
    for t, e in zip((w1, w2, x), want):
        np.testing.assert_allclose(t.grad.numpy(), e, rtol=1e-6)


def test_modules_and_checkpoint_sequential():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(5, 8), tg.nn.Tanh(), tg.nn.Linear(8, 8), tg.nn.Tanh(),
                             tg.nn.Linear(8, 2))
    x = tg.randn(6, 5)
    model(x).pow(2).sum().backward()
    want = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    checkpoint_sequential(model, 2, x, use_reentrant=False).pow(2).sum().backward()
    for p, e in zip(model.parameters(), want):
        np.testing.assert_allclose(p.grad.numpy(), e, rtol=1e-5, atol=1e-7)


def test_pytorchs_argument_checks():
    x = tg.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        checkpoint(lambda a: a * 2, x)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: b"):
        checkpoint(lambda a, b=1: a * b, x, use_reentrant=True, b=2)
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(lambda a: a, x, use_reentrant=False, determinism_check="x")
    with tg.no_grad():  # nothing recorded: f simply runs
        assert checkpoint(lambda a: a * 2, x, use_reentrant=False).grad_fn is None


def test_repeated_calls_share_one_cached_adjoint():
    from tapegrad.tracer import backward_plan
    w1, w2, x = _weights(3)
    block, _ = _block_and_refs(w1, w2)
    shapes = set()
    for _ in range(3):
        y = tg.checkpoint(block)(x)
        shapes.add(id(y.grad_fn.shape))
        y.sum().backward()
    assert len(shapes) == 1 and backward_plan._last is not None
