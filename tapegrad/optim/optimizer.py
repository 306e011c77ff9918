"""`Optimizer`: parameter groups, per-parameter state and PyTorch's state_dict layout.

Subclasses name a pure update from optim/functional.py and its hyperparameters;
`step()` runs it under no_grad, for a group's parameters together as one compiled
call (optim/fused.py) once their state exists, else per parameter, and writes the new
values into the parameters in place (their storage and identity stay, as PyTorch's
do).  A group with `foreach=False` always steps per parameter.
"""
from __future__ import annotations

from collections import defaultdict
import copy

from ..tracer.creation import tensor
from ..tracer.grad_mode import no_grad
from ..tracer.tensor import Tensor
from ..nn.parameter import zero_grads
from .fused import fused_step


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    _update = None             # a function of optim.functional
    _hyper: tuple[str, ...] = ()   # the group keys passed to it
    _keeps_step = True         # SGD keeps no step count in its state

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        self.state: dict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            from ..tracer.grad_mode import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                hyper = {k: group[k] for k in self._hyper}
                params = [p for p in group["params"] if p.grad is not None]
                if params and group.get("foreach") is not False:
                    params = fused_step(self, params, hyper)
                for p in params:
                    self._step_one(p, hyper)
        return loss

    def _step_one(self, p: Tensor, hyper: dict) -> None:
        if p.grad.dtype != p.dtype or p.grad.shape != p.shape:
            raise RuntimeError(f"{type(self).__name__}.step: the gradient's {p.grad.dtype} "
                               f"{list(p.grad.shape)} does not match the parameter's "
                               f"{p.dtype} {list(p.shape)}")
        st = self.state[p]
        fstate = None
        if st:
            fstate = {"step": st.get("step", 0)}
            for slot in type(self)._slots:
                value = st.get(slot)
                fstate[slot] = None if value is None else [value]
        (new,), out = type(self)._update([p.detach()], [p.grad.detach()], fstate, **hyper)
        p.copy_(new)
        if self._keeps_step:
            st["step"] = tensor(float(_as_float(out["step"])))
        for slot in type(self)._slots:
            if out.get(slot) is not None:
                st[slot] = out[slot][0]
            elif not self._keeps_step:
                st[slot] = None

    # --------------------------------------------------------------- state dicts

    def state_dict(self) -> dict:
        index, groups, next_id = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = next_id
                    next_id += 1
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, saved in zip(self.param_groups, groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        self.state = defaultdict(dict)
        for mine, saved in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], saved["params"]):
                if i in state_dict["state"]:
                    self.state[p] = {k: (v.clone() if isinstance(v, Tensor) else copy.deepcopy(v))
                                     for k, v in state_dict["state"][i].items()}
            for key, value in saved.items():
                if key != "params":
                    mine[key] = value

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _as_float(step) -> float:
    return float(step.item()) if isinstance(step, Tensor) else float(step)
