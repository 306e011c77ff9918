"""tg.func.functional_call: a Module called with other tensors, as torch.func's, eagerly
and under tg.grad / tg.value_and_grad / tg.compile (the dict is a pytree of traced
values there); the module's own tensors are back afterwards, also after an error."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.func import functional_call

nn = tg.nn


def _net():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _own(module):
    return {k: (v, v._data) for k, v in module.named_parameters()}


def _unchanged(module, own):
    for k, v in module.named_parameters():
        assert v is own[k][0] and v._data is own[k][1]


class Counter(nn.Module):
    """A buffer the forward reassigns, and a scale it reads."""
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(tg.tensor(2.0))
        self.register_buffer("count", tg.tensor(0.0))

    def forward(self, x, *, shift=0.0):
        self.count = self.count + 1
        return x * self.scale + shift


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2, bias=False)
        self.b = nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


def test_eager_call_uses_the_given_tensors_and_restores_the_module():
    net = _net()
    own = _own(net)
    x = tg.tensor(_x(5, 4))
    doubled = {k: v.detach() * 2 for k, v in net.named_parameters()}
    got = functional_call(net, doubled, x)
    w0, b0, w2, b2 = (doubled[k].numpy() for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
    want = np.tanh(x.numpy() @ w0.T + b0) @ w2.T + b2
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    _unchanged(net, own)
    partial = functional_call(net, {"2.bias": doubled["2.bias"]}, (x,))  # the rest: own
    np.testing.assert_allclose(partial.detach().numpy(),
                               (net(x) - net[2].bias + doubled["2.bias"]).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_the_module_is_restored_when_the_call_raises():
    net = _net()
    own = _own(net)
    wrong = {k: v.detach() for k, v in net.named_parameters()}
    wrong["0.weight"] = tg.zeros(7, 7)
    with pytest.raises(RuntimeError):
        functional_call(net, wrong, tg.tensor(_x(5, 4)))
    _unchanged(net, own)


def test_grad_value_and_grad_and_compile_trace_through_it():
    net = _net()
    own = _own(net)
    x, y = _x(8, 4), _x(8, 2, seed=2)
    params = {k: v.detach().numpy().copy() for k, v in net.named_parameters()}

    def loss(p, x, y):
        return ((functional_call(net, p, (x,)) - y) ** 2).mean()

    eager = ((net(tg.tensor(x)) - tg.tensor(y)) ** 2).mean()
    eager.backward()
    value, grads = tg.value_and_grad(loss)(params, x, y)
    assert sorted(grads) == sorted(params)
    np.testing.assert_allclose(value.item(), eager.item(), rtol=1e-6)
    for k, p in net.named_parameters():
        np.testing.assert_allclose(grads[k].numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-7)
        g = tg.grad(loss)(params, x, y)[k]
        np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-7)
    compiled = tg.compile(loss)
    for _ in range(3):  # the cached and fast paths too
        np.testing.assert_allclose(compiled(params, x, y).item(), eager.item(), rtol=1e-6)
    assert compiled.cache_info().traces == 1
    _unchanged(net, own)
    assert all(type(v) is nn.Parameter and v._data is not None for v in net.parameters())


def test_a_tuple_of_dicts_and_buffers_kwargs_and_writes_back():
    m = Counter()
    params, buffers = {"scale": tg.tensor(3.0)}, {"count": tg.tensor(10.0)}
    out = functional_call(m, (params, buffers), tg.tensor([1.0, 2.0]), {"shift": 1.0})
    np.testing.assert_allclose(out.numpy(), [4.0, 7.0])
    assert m.count.item() == 0.0 and m.scale.item() == 2.0  # the module's own
    single = {"scale": tg.tensor(3.0), "count": tg.tensor(10.0)}
    functional_call(m, single, (tg.tensor(1.0),))
    assert single["count"].item() == 11.0  # reassigned in forward: written back (PyTorch)
    assert m.count.item() == 0.0
    with pytest.raises(ValueError, match="multiple dictionaries"):
        functional_call(m, ({"scale": tg.tensor(1.0)}, {"scale": tg.tensor(2.0)}), tg.ones(1))
    with pytest.raises(ValueError, match="dict"):
        functional_call(m, [{"scale": tg.tensor(1.0)}, 3], tg.ones(1))
    with pytest.raises(ValueError, match="dict"):
        functional_call(m, 3, tg.ones(1))


def test_strict_names_missing_and_unexpected_keys():
    m = Counter()
    with pytest.raises(RuntimeError, match=r"Missing key\(s\): 'count'"):
        functional_call(m, {"scale": tg.tensor(1.0)}, tg.ones(1), strict=True)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'nope'"):
        functional_call(m, {"scale": tg.tensor(1.0), "count": tg.tensor(0.0),
                            "nope": tg.tensor(0.0)}, tg.ones(1), strict=True)
    # not strict: an unknown name is an attribute for the call only (as PyTorch's)
    functional_call(m, {"nope": tg.tensor(0.0)}, tg.ones(1))
    assert not hasattr(m, "nope")
    with pytest.raises(TypeError, match="not a Tensor"):
        functional_call(m, {"scale": 2.0}, tg.ones(1))
    assert m.scale.item() == 2.0


def test_tied_weights_follow_the_given_value_unless_untied():
    m = Tied()
    x = tg.tensor([[1.0, 2.0]])
    w = tg.tensor([[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(functional_call(m, {"a.weight": w}, x).numpy(), [[4.0, 8.0]])
    untied = functional_call(m, {"a.weight": w}, x, tie_weights=False)
    want = (x.numpy() @ w.numpy().T) @ m.a.weight.detach().numpy().T
    np.testing.assert_allclose(untied.detach().numpy(), want, rtol=1e-6)
    with pytest.raises(ValueError, match="tied"):
        functional_call(m, {"a.weight": w, "b.weight": w * 2}, x)
    assert m.b.weight is m.a.weight


def test_batchnorm_running_stats_update_the_given_buffers_not_the_modules():
    tg.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    own = {k: b.numpy().copy() for k, b in m.named_buffers()}
    params = {k: p.detach() for k, p in m.named_parameters()}
    buffers = {k: b.clone() for k, b in m.named_buffers()}
    x = tg.tensor(_x(8, 4))
    out = functional_call(m, (params, buffers), x)
    want = m(x)  # the module's own call, from the same (still initial) statistics
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(buffers["1.running_mean"].numpy(),
                               m[1].running_mean.numpy(), rtol=1e-6)  # one update each
    assert not np.allclose(buffers["1.running_mean"].numpy(), own["1.running_mean"])
