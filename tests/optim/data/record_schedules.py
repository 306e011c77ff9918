"""Record PyTorch's learning-rate schedules for tests/optim (run only with /work/refvenv):

    /work/refvenv/bin/python tests/optim/data/record_schedules.py

Each scheduler steps 40 times after an SGD step; ReduceLROnPlateau is fed a fixed
metric sequence. The file keeps the rates of both param groups after every step.
"""
import json
import pathlib

import torch

METRICS = [5, 4, 4.5, 4.2, 4.0, 4.0, 3.99999, 4.1, 4.3, 4.0, 3.9, 3.95, 3.96, 3.97, 3.98,
           3.99, 4.0, 4.1, 4.2, 3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0,
           2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
SCHEDULES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 10, 10, 25], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 12}),
    ("CosineAnnealingLR", {"T_max": 9, "eta_min": 0.001}),
    ("LambdaLR", {"lr_lambda": "lambda e: 0.95 ** e + e / 100"}),
    ("ReduceLROnPlateau", {"patience": 2, "factor": 0.5}),
    ("ReduceLROnPlateau", {"mode": "max", "patience": 1, "cooldown": 2, "threshold": 0.01,
                           "threshold_mode": "abs", "min_lr": 0.01}),
]


def run(name, kwargs):
    w = torch.zeros(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.05}], lr=0.1)
    args = dict(kwargs)
    if "lr_lambda" in args:
        args["lr_lambda"] = eval(args["lr_lambda"])
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **args)
    rates = []
    for epoch in range(40):
        opt.step()
        sched.step(METRICS[epoch]) if name == "ReduceLROnPlateau" else sched.step()
        rates.append([g["lr"] for g in opt.param_groups])
    return {"scheduler": name, "kwargs": kwargs, "rates": rates}


out = {"torch": torch.__version__, "metrics": METRICS,
       "runs": [run(n, k) for n, k in SCHEDULES]}
path = pathlib.Path(__file__).with_name("schedules.json")
path.write_text(json.dumps(out))
print("wrote", path)
