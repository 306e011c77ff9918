"""Record PyTorch's optimizer trajectories for tests/optim (run only with /work/refvenv):

    /work/refvenv/bin/python tests/optim/data/record_trajectories.py

A fixed least-squares problem (float32): two parameters, 100 steps per config;
the file keeps the inputs, each config and the parameters after steps 1, 10 and 100.
"""
import json
import pathlib

import numpy as np
import torch

rng = np.random.default_rng(16)
W0 = rng.standard_normal((3, 4)).astype(np.float32)
B0 = rng.standard_normal(3).astype(np.float32)
X = rng.standard_normal((8, 4)).astype(np.float32)
Y = rng.standard_normal((8, 3)).astype(np.float32)

CONFIGS = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    # lr 0.01 with alpha 0.9 oscillates near the minimum from step ~87 and amplifies float32
    # rounding differences (1e-7 -> 3e-4): a smaller lr keeps the comparison meaningful
    ("RMSprop", {"lr": 0.003, "alpha": 0.9, "weight_decay": 0.05}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01,
                 "initial_accumulator_value": 0.1}),
]


def loss_of(w, b, x, y):
    return ((x @ w.T + b - y) ** 2).mean()


def run(name, kwargs):
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    opt = getattr(torch.optim, name)([w, b], **{k: tuple(v) if isinstance(v, list) else v
                                                 for k, v in kwargs.items()})
    x, y = torch.tensor(X), torch.tensor(Y)
    snapshots, losses = {}, []
    for step in range(1, 101):
        opt.zero_grad()
        loss = loss_of(w, b, x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step in (1, 10, 100):
            snapshots[step] = [w.detach().tolist(), b.detach().tolist()]
    return {"optimizer": name, "kwargs": kwargs, "losses": losses, "params": snapshots}


out = {"torch": torch.__version__, "W0": W0.tolist(), "B0": B0.tolist(), "X": X.tolist(),
       "Y": Y.tolist(), "runs": [run(n, k) for n, k in CONFIGS]}
path = pathlib.Path(__file__).with_name("trajectories.json")
path.write_text(json.dumps(out))
print("wrote", path, len(out["runs"]), "runs")
