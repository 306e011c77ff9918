"""tg.nn against PyTorch's recorded numbers (data/record_nn.py): seeded initialisation,
reprs, activations and losses with their gradients, a small model in train and eval mode."""
import json
import pathlib

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F

REF = json.loads(pathlib.Path(__file__).with_name("data").joinpath(
    "nn_reference.json").read_text())
X = np.array(REF["X"], np.float32)
P = np.array(REF["P"], np.float32)
T_ = tg.tensor(np.array(REF["T"], np.float32))
LABELS = REF["LABELS"]
PROBS = np.array(REF["PROBS"])
W = np.array(REF["W"], np.float32)
torch = tg  # the recorded expressions name torch.tensor / torch.sigmoid / torch.log


def _close(actual, expected, rtol=1e-5, atol=1e-6, what=""):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                               rtol=rtol, atol=atol, err_msg=what)


def _grad_of(fn, x=X):
    t = tg.tensor(x, requires_grad=True)
    out = fn(t)
    out.sum().backward() if out.ndim else out.backward()
    return out.detach().numpy(), t.grad.numpy()


def _seeded(fn):
    tg.manual_seed(0)
    return fn()


def test_seeded_linear_starts_from_pytorchs_weights():
    layer = _seeded(lambda: nn.Linear(3, 2))
    for mine, theirs in zip(layer.parameters(), REF["linear_3_2"]):
        np.testing.assert_array_equal(mine.detach().numpy(), np.array(theirs, np.float32))


def test_seeded_bilinear_and_model_state_equal_pytorchs():
    layer = _seeded(lambda: nn.Bilinear(2, 3, 4))
    for mine, theirs in zip(layer.parameters(), REF["bilinear"]):
        np.testing.assert_array_equal(mine.detach().numpy(), np.array(theirs, np.float32))
    state = _seeded(_model).state_dict()
    assert list(state) == list(REF["model_state"])
    for key, value in REF["model_state"].items():
        np.testing.assert_array_equal(state[key].numpy(), np.array(value, np.float32))


def _model():
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.25),
                         nn.Sequential(nn.Linear(8, 3), nn.LogSoftmax(dim=1)), nn.Flatten(0, 1))


def test_reprs_are_pytorchs():
    assert repr(_seeded(_model)) == REF["model_repr"]
    assert repr(_seeded(lambda: nn.Linear(2, 2).weight)) == REF["param_repr"]
    mine = [nn.ReLU(), nn.LeakyReLU(0.2), nn.ELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
            nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1), nn.LogSoftmax(1), nn.Softplus(),
            nn.Identity(), nn.Dropout(), nn.Unflatten(1, (2, 3)), nn.MSELoss(),
            nn.CrossEntropyLoss(), nn.Bilinear(2, 3, 4),
            nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ModuleList([nn.Tanh(), nn.ReLU()])})]
    assert [repr(m) for m in mine] == REF["activation_reprs"]


ACTIVATIONS = {
    "relu": lambda x: F.relu(x), "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "elu": lambda x: F.elu(x, 0.7), "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": lambda x: F.silu(x),
    "sigmoid": lambda x: tg.sigmoid(x), "tanh": lambda x: tg.tanh(x),
    "softmax": lambda x: F.softmax(x, 1), "log_softmax": lambda x: F.log_softmax(x, 0),
    "softplus": lambda x: F.softplus(x),
    "softplus_beta": lambda x: F.softplus(x, beta=2.0, threshold=5.0),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_value_and_gradient(name):
    out, grad = _grad_of(ACTIVATIONS[name])
    ref = REF["activations"][name]
    atol = 1e-6
    _close(out, ref["out"], atol=atol, what=name)
    _close(grad, ref["grad"], atol=atol, what=name + " gradient")


LOSSES = {
    "mse": lambda x: F.mse_loss(x, T_), "mse_sum": lambda x: F.mse_loss(x, T_, reduction="sum"),
    "l1": lambda x: F.l1_loss(x, T_), "smooth_l1": lambda x: F.smooth_l1_loss(x, T_, beta=0.5),
    "huber": lambda x: F.huber_loss(x, T_, delta=2.0),
    "huber_none": lambda x: F.huber_loss(x, T_, reduction="none"),
    "ce": lambda x: F.cross_entropy(x, tg.tensor(LABELS)),
    "ce_weight": lambda x: F.cross_entropy(x, tg.tensor(LABELS), weight=tg.tensor(W)),
    "ce_smooth": lambda x: F.cross_entropy(x, tg.tensor(LABELS), label_smoothing=0.1),
    "ce_smooth_weight": lambda x: F.cross_entropy(x, tg.tensor(LABELS), weight=tg.tensor(W),
                                                  label_smoothing=0.2),
    "ce_smooth_sum": lambda x: F.cross_entropy(x, tg.tensor(LABELS), label_smoothing=0.1,
                                               reduction="sum"),
    "ce_probs": lambda x: F.cross_entropy(x, tg.tensor(PROBS.astype(np.float32))),
    "ce_probs_smooth": lambda x: F.cross_entropy(x, tg.tensor(PROBS.astype(np.float32)),
                                                 label_smoothing=0.3),
    "nll": lambda x: F.nll_loss(F.log_softmax(x, 1), tg.tensor(LABELS), weight=tg.tensor(W)),
    "bce_logits_pos": lambda x: F.binary_cross_entropy_with_logits(
        x, tg.tensor(P), pos_weight=tg.tensor(W)),
    "kl": lambda x: F.kl_div(F.log_softmax(x, 1), tg.tensor(PROBS.astype(np.float32)),
                             reduction="batchmean"),
    "kl_log_target": lambda x: F.kl_div(F.log_softmax(x, 1), tg.log(tg.tensor(
        PROBS.astype(np.float32))), reduction="sum", log_target=True),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_value_and_gradient(name):
    out, grad = _grad_of(LOSSES[name])
    ref = REF["losses"][name]
    _close(out, ref["out"], what=name)
    _close(grad, ref["grad"], what=name + " gradient")


def test_loss_modules_call_the_functional_forms():
    x = tg.tensor(X)
    labels = tg.tensor(LABELS)
    _close(nn.CrossEntropyLoss(weight=tg.tensor(W), label_smoothing=0.2)(x, labels).item(),
           REF["losses"]["ce_smooth_weight"]["out"])
    _close(nn.HuberLoss(delta=2.0)(x, T_).item(), REF["losses"]["huber"]["out"])
    _close(nn.SmoothL1Loss(beta=0.5)(x, T_).item(), REF["losses"]["smooth_l1"]["out"])
    _close(nn.MSELoss(reduction="sum")(x, T_).item(), REF["losses"]["mse_sum"]["out"])
    _close(nn.L1Loss()(x, T_).item(), REF["losses"]["l1"]["out"])
    _close(nn.NLLLoss(weight=tg.tensor(W))(F.log_softmax(x, 1), labels).item(),
           REF["losses"]["nll"]["out"])
    _close(nn.BCEWithLogitsLoss(pos_weight=tg.tensor(W))(x, tg.tensor(P)).item(),
           REF["losses"]["bce_logits_pos"]["out"])
    _close(nn.KLDivLoss(reduction="batchmean")(F.log_softmax(x, 1), tg.tensor(
        PROBS.astype(np.float32))).item(), REF["losses"]["kl"]["out"])
    p = tg.tensor(P, requires_grad=True)
    loss = nn.BCELoss(weight=tg.tensor(W))(p, tg.sigmoid(T_))
    loss.backward()
    _close(loss.item(), REF["bce"]["out"])
    _close(p.grad.numpy(), REF["bce"]["grad"])


def test_model_train_and_eval_outputs_and_clipped_grads():
    m = _seeded(_model)
    m.eval()
    with tg.no_grad():
        _close(m(tg.tensor(X)).numpy(), REF["model_eval_out"])
    m.train()
    tg.manual_seed(5)
    y = m(tg.tensor(X))
    y.sum().backward()
    _close(y.detach().numpy(), REF["model_train_out"])
    for name, p in m.named_parameters():
        _close(p.grad.numpy(), REF["model_grads"][name], what=name)
    total = nn.utils.clip_grad_norm_(m.parameters(), 0.5)
    _close(float(total), REF["clip_norm_total"])
    for name, p in m.named_parameters():
        _close(p.grad.numpy(), REF["clipped_grads"][name], what=name)


INITS = {
    "uniform_": lambda w: nn.init.uniform_(w, -2, 3),
    "normal_": lambda w: nn.init.normal_(w, 1.0, 0.5),
    "xavier_uniform_": lambda w: nn.init.xavier_uniform_(w, gain=2.0),
    "xavier_normal_": nn.init.xavier_normal_,
    "kaiming_uniform_": lambda w: nn.init.kaiming_uniform_(w, mode="fan_out",
                                                           nonlinearity="relu"),
    "kaiming_normal_": nn.init.kaiming_normal_,
}


@pytest.mark.parametrize("name", sorted(INITS))
def test_init_draws_pytorchs_numbers(name):
    tg.manual_seed(3)
    w = INITS[name](tg.empty(4, 6, 2))
    _close(w.numpy(), REF["init"][name], rtol=1e-6, atol=1e-7)


def test_calculate_gain():
    gains = [nn.init.calculate_gain(n, p) for n, p in
             [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2),
              ("selu", None), ("sigmoid", None)]]
    assert gains == pytest.approx(REF["init"]["gains"], rel=1e-12)
