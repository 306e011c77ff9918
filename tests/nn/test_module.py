"""nn.Module's mechanics: registration, walking, modes, state dicts, hooks, dtype moves,
and the containers' indexing."""
from collections import OrderedDict

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.Tanh()
        self.head = nn.Sequential(nn.Linear(4, 2), nn.Identity())
        self.scale = nn.Parameter(tg.ones(1))
        self.register_buffer("running", tg.zeros(2))
        self.register_buffer("scratch", tg.zeros(1), persistent=False)

    def forward(self, x):
        return self.head(self.act(self.fc1(x))) * self.scale + self.running


def test_registration_and_names_follow_definition_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "fc1.weight", "fc1.bias", "head.0.weight", "head.0.bias"]
    assert [n for n, _ in net.named_buffers()] == ["running", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "head", "head.0", "head.1"]
    assert list(net.state_dict()) == ["scale", "running", "fc1.weight", "fc1.bias",
                                      "head.0.weight", "head.0.bias"]
    assert isinstance(net.state_dict(), OrderedDict)
    assert isinstance(net.scale, tg.Tensor) and isinstance(net.scale, nn.Parameter)
    assert len(list(net.parameters())) == 5 and len(list(net.modules())) == 6


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4


def test_attribute_errors_and_assignment_rules():
    net = Net()
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nothing'"):
        net.nothing
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        net.scale = tg.ones(1)
    net.running = tg.ones(2)
    assert net._buffers["running"] is net.running
    del net.act
    assert "act" not in dict(net.named_children())
    with pytest.raises(KeyError, match="attribute 'fc1' already exists"):
        net.register_buffer("fc1", tg.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_forward_and_gradients_and_zero_grad():
    net = Net()
    out = net(tg.ones(5, 3))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert net.fc1.weight.grad.shape == (4, 3)
    net.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(net.fc1.weight.grad.numpy(), np.zeros((4, 3), np.float32))
    net.zero_grad()
    assert net.fc1.weight.grad is None


def test_train_eval_requires_grad_and_apply():
    net = Net()
    assert net.training and net.head[0].training
    assert net.eval() is net and not net.head[0].training
    net.train()
    assert net.head[1].training
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Tanh", "Linear", "Identity", "Sequential", "Net"]


def test_double_and_float_move_parameters_in_place():
    net = Net()
    weight = net.fc1.weight
    net.double()
    assert net.fc1.weight is weight and weight.dtype == tg.float64
    assert net.running.dtype == tg.float64
    assert net(tg.ones(1, 3, dtype=tg.float64)).dtype == tg.float64
    net.to(tg.float32)
    assert weight.dtype == tg.float32
    assert net.to("cpu") is net


def test_state_dict_round_trip_and_strict_errors():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy(), err_msg=name)
    sd = a.state_dict()
    del sd["fc1.bias"]
    sd["extra"] = tg.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "fc1.bias"'):
        b.load_state_dict(sd)
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.bias"] and result.unexpected_keys == ["extra"]
    bad = a.state_dict()
    bad["fc1.weight"] = tg.zeros(2, 2)
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        b.load_state_dict(bad)


def test_state_dict_values_share_storage_without_grad():
    net = Net()
    sd = net.state_dict()
    assert not sd["fc1.weight"].requires_grad
    with tg.no_grad():
        net.fc1.weight.fill_(2.0)
    assert float(sd["fc1.weight"][0, 0]) == 2.0


def test_forward_hooks_change_inputs_and_outputs_and_remove():
    lin = nn.Linear(2, 2)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(tg.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    assert calls == [(1, 2)]
    pre.remove()
    post.remove()
    np.testing.assert_allclose(lin(tg.zeros(1, 2)).detach().numpy(),
                               lin.bias.detach().numpy()[None], rtol=1e-6)


def test_sequential_indexing_slicing_append_and_lists():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    seq.append(nn.Flatten(0, 1))
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Flatten"]
    assert seq(tg.ones(4, 2)).shape == (4,)
    with pytest.raises(IndexError):
        seq[4]
    named = nn.Sequential(OrderedDict([("first", nn.Tanh()), ("second", nn.ReLU())]))
    assert list(dict(named.named_children())) == ["first", "second"]
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    assert repr(ml).startswith("ModuleList(\n  (0-2): 3 x Linear(")
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b"] and "b" in md


def test_flatten_unflatten_dropout_identity():
    x = tg.arange(24.0).reshape(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Unflatten(1, (3, 4))(nn.Flatten()(x)).shape == (2, 3, 4)
    d = nn.Dropout(0.5).eval()
    assert d(x) is x
    assert nn.Identity(5, k=1)(x) is x


def test_parameter_repr_and_vector_conversion():
    p = nn.Parameter(tg.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(tg.ones(1), requires_grad=False).requires_grad
    params = [nn.Parameter(tg.ones(2, 2)), nn.Parameter(tg.zeros(3))]
    vec = nn.utils.parameters_to_vector(params)
    assert vec.shape == (7,)
    nn.utils.vector_to_parameters(tg.arange(7.0), params)
    np.testing.assert_array_equal(params[1].detach().numpy(), [4.0, 5.0, 6.0])


def test_clip_grad_value():
    p = nn.Parameter(tg.zeros(3))
    p.grad = tg.tensor([-2.0, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), [-1.0, 0.5, 1.0])
