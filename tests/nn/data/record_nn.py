"""Record PyTorch's nn numbers for tests/nn (run only with /work/refvenv):

    /work/refvenv/bin/python tests/nn/data/record_nn.py

Seeded layer initialisations, init functions, reprs, and each activation's and
loss's value and input gradient on fixed inputs (float32).
"""
import json
import math
import pathlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(7)
X = (rng.standard_normal((4, 5)) * 3).astype(np.float32)
X[0, :3] = [0.0, 25.0, -30.0]
P = rng.random((4, 5)).astype(np.float32) * 0.98 + 0.01
T = rng.standard_normal((4, 5)).astype(np.float32)
LABELS = [1, 4, -100, 2]
PROBS = np.exp(T) / np.exp(T).sum(1, keepdims=True)
W = (rng.random(5) + 0.5).astype(np.float32)


def grad_of(fn, x=X):
    t = torch.tensor(x, requires_grad=True)
    out = fn(t)
    out.sum().backward() if out.ndim else out.backward()
    return {"out": out.detach().tolist(), "grad": t.grad.tolist()}


ACTIVATIONS = {
    "relu": "F.relu(x)", "leaky_relu": "F.leaky_relu(x, 0.2)", "elu": "F.elu(x, 0.7)",
    "gelu": "F.gelu(x)", "gelu_tanh": "F.gelu(x, approximate='tanh')", "silu": "F.silu(x)",
    "sigmoid": "torch.sigmoid(x)", "tanh": "torch.tanh(x)", "softmax": "F.softmax(x, 1)",
    "log_softmax": "F.log_softmax(x, 0)", "softplus": "F.softplus(x)",
    "softplus_beta": "F.softplus(x, beta=2.0, threshold=5.0)",
}
T_ = torch.tensor(T)
LOSSES = {
    "mse": "F.mse_loss(x, T_)", "mse_sum": "F.mse_loss(x, T_, reduction='sum')",
    "l1": "F.l1_loss(x, T_)", "smooth_l1": "F.smooth_l1_loss(x, T_, beta=0.5)",
    "huber": "F.huber_loss(x, T_, delta=2.0)", "huber_none": "F.huber_loss(x, T_, reduction='none')",
    "ce": "F.cross_entropy(x, torch.tensor(LABELS))",
    "ce_weight": "F.cross_entropy(x, torch.tensor(LABELS), weight=torch.tensor(W))",
    "ce_smooth": "F.cross_entropy(x, torch.tensor(LABELS), label_smoothing=0.1)",
    "ce_smooth_weight": "F.cross_entropy(x, torch.tensor(LABELS), weight=torch.tensor(W), "
                        "label_smoothing=0.2)",
    "ce_smooth_sum": "F.cross_entropy(x, torch.tensor(LABELS), label_smoothing=0.1, "
                     "reduction='sum')",
    "ce_probs": "F.cross_entropy(x, torch.tensor(PROBS.astype(np.float32)))",
    "ce_probs_smooth": "F.cross_entropy(x, torch.tensor(PROBS.astype(np.float32)), "
                       "label_smoothing=0.3)",
    "nll": "F.nll_loss(F.log_softmax(x, 1), torch.tensor(LABELS), weight=torch.tensor(W))",
    "bce_logits_pos": "F.binary_cross_entropy_with_logits(x, torch.tensor(P), "
                      "pos_weight=torch.tensor(W))",
    "kl": "F.kl_div(F.log_softmax(x, 1), torch.tensor(PROBS.astype(np.float32)), "
          "reduction='batchmean')",
    "kl_log_target": "F.kl_div(F.log_softmax(x, 1), torch.log(torch.tensor(PROBS.astype("
                     "np.float32))), reduction='sum', log_target=True)",
}


def seeded(fn):
    torch.manual_seed(0)
    return fn()


def init_results():
    out = {}
    for name, call in {
        "uniform_": lambda w: nn.init.uniform_(w, -2, 3),
        "normal_": lambda w: nn.init.normal_(w, 1.0, 0.5),
        "xavier_uniform_": lambda w: nn.init.xavier_uniform_(w, gain=2.0),
        "xavier_normal_": nn.init.xavier_normal_,
        "kaiming_uniform_": lambda w: nn.init.kaiming_uniform_(w, mode="fan_out",
                                                               nonlinearity="relu"),
        "kaiming_normal_": nn.init.kaiming_normal_,
    }.items():
        torch.manual_seed(3)
        out[name] = call(torch.empty(4, 6, 2)).tolist()
    out["gains"] = [nn.init.calculate_gain(n, p) for n, p in
                    [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2),
                     ("selu", None), ("sigmoid", None)]]
    return out


def model():
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.25),
                         nn.Sequential(nn.Linear(8, 3), nn.LogSoftmax(dim=1)), nn.Flatten(0, 1))


m = seeded(model)
results = {
    "torch": torch.__version__, "X": X.tolist(), "P": P.tolist(), "T": T.tolist(),
    "LABELS": LABELS, "PROBS": PROBS.tolist(), "W": W.tolist(),
    "linear_3_2": seeded(lambda: [p.tolist() for p in nn.Linear(3, 2).parameters()]),
    "bilinear": seeded(lambda: [p.tolist() for p in nn.Bilinear(2, 3, 4).parameters()]),
    "model_state": {k: v.tolist() for k, v in m.state_dict().items()},
    "model_repr": repr(m),
    "param_repr": seeded(lambda: repr(nn.Linear(2, 2).weight)),
    "activation_reprs": [repr(x) for x in [
        nn.ReLU(), nn.LeakyReLU(0.2), nn.ELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
        nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1), nn.LogSoftmax(1), nn.Softplus(),
        nn.Identity(), nn.Dropout(), nn.Unflatten(1, (2, 3)), nn.MSELoss(),
        nn.CrossEntropyLoss(), nn.Bilinear(2, 3, 4),
        nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ModuleList([nn.Tanh(), nn.ReLU()])})]],
    "activations": {k: grad_of(lambda x: eval(v)) for k, v in ACTIVATIONS.items()},
    "losses": {k: grad_of(lambda x: eval(v)) for k, v in LOSSES.items()},
    "bce": grad_of(lambda x: F.binary_cross_entropy(x, torch.tensor(T).sigmoid(),
                                                     weight=torch.tensor(W)), P),
    "init": init_results(),
}
m.eval()
with torch.no_grad():
    results["model_eval_out"] = m(torch.tensor(X)).tolist()
m.train()
torch.manual_seed(5)
y = m(torch.tensor(X))
y.sum().backward()
results["model_train_out"] = y.tolist()
results["model_grads"] = {n: p.grad.tolist() for n, p in m.named_parameters()}
total = nn.utils.clip_grad_norm_(m.parameters(), 0.5)
results["clip_norm_total"] = float(total)
results["clipped_grads"] = {n: p.grad.tolist() for n, p in m.named_parameters()}
path = pathlib.Path(__file__).with_name("nn_reference.json")
path.write_text(json.dumps(results))
print("wrote", path)
