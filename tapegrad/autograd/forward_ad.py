"""`torch.autograd.forward_ad`: dual tensors, forward-mode AD on the eager tape.

    with forward_ad.dual_level():
        y = f(forward_ad.make_dual(x, v))
        jvp = forward_ad.unpack_dual(y).tangent

Each primitive bound on a dual tensor also binds its JVP rule (the table `tg.jvp`'s
IR pass uses), so the tangent is the Jacobian-vector product; one level at a time,
as in PyTorch.  `tg.jvp` / `torch.func.jvp` trace once and compile instead.
"""
from __future__ import annotations

from ..tracer.forward_ad import (UnpackedDualTensor, dual_level, enter_dual_level,
                                 exit_dual_level, make_dual, unpack_dual)

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level",
           "make_dual", "unpack_dual"]
