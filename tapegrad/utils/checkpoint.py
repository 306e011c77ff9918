"""`torch.utils.checkpoint`: activation checkpointing on the eager tape.

    y = checkpoint(block, x, use_reentrant=False)   # block's inner values are recomputed
    y = checkpoint_sequential(model, 2, x, use_reentrant=False)

Both variants drop the values computed inside the function and let backward recompute
them (tracer/checkpoint_eager.py); the recomputation runs the recorded instructions,
so `use_reentrant=True` gives the same gradients (and, unlike PyTorch's reentrant
variant, works with `autograd.grad` too).  Inside a traced transform this is
`tg.checkpoint`: the rematerialisation pass.
"""
from __future__ import annotations

import warnings

from ..tracer.checkpoint_eager import run_checkpointed
from ..tracer.tensor import Tensor
from ..tracer.transforms_checkpoint import checkpoint as _traced_checkpoint
from ..tracer.tree_util import tree_flatten


def _use_reentrant(use_reentrant, where: str) -> bool:
    if use_reentrant is None:
        warnings.warn(f"{where}: the use_reentrant parameter should be passed explicitly. "
                      "Starting in PyTorch 2.9, calling checkpoint without use_reentrant "
                      "will raise an exception. use_reentrant=False is recommended, but if "
                      "you need to preserve the current default behavior, you can pass "
                      "use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", stacklevel=3)
        return True
    return bool(use_reentrant)


def checkpoint(function, *args, use_reentrant=None, context_fn=None,
               determinism_check="default", debug=False, early_stop=True, **kwargs):
    """function(*args, **kwargs), its intermediate values recomputed in backward."""
    reentrant = _use_reentrant(use_reentrant, "torch.utils.checkpoint")
    if reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if context_fn is not None and reentrant:
        raise ValueError("Passing `context_fn` or `debug` is only supported when "
                         "use_reentrant=False.")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if any(isinstance(x, Tensor) and x._data is None for x in tree_flatten((args, kwargs))[0]):
        return _traced_checkpoint(lambda *a: function(*a, **kwargs))(*args)
    return run_checkpointed(function, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run `functions` (a list or Sequential) in `segments` checkpointed pieces; the
    last piece runs as written, as PyTorch's does."""
    reentrant = _use_reentrant(use_reentrant, "torch.utils.checkpoint.checkpoint_sequential")
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)

    def run(start, end):
        def forward(x):
            for k in range(start, end + 1):
                x = functions[k](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=reentrant, **kwargs)
    return run(end + 1, len(functions) - 1)(input)


__all__ = ["checkpoint", "checkpoint_sequential"]
