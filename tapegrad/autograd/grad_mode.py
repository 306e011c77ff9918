"""`torch.autograd.grad_mode` (tracer/grad_mode.py)."""
from ..tracer.grad_mode import (enable_grad, inference_mode, no_grad, set_grad_enabled,
                                 set_multithreading_enabled)

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "set_multithreading_enabled"]
