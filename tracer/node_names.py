"""The grad_fn name of a primitive recorded on its own, outside any operation's node.

The replayed adjoint of `create_graph=True` and forward-mode tangents bind primitives
one by one; PyTorch names their nodes after its operations (`WhereBackward0` for a
select), so the tape names them the same way.
"""
from __future__ import annotations

from ..ir.primitives import Primitive

#: PyTorch's names where they are not the primitive's own, capitalised
_TORCH_NAMES = {
    "select": "Where", "logistic": "Sigmoid", "max": "Maximum", "min": "Minimum",
    "reduce_sum": "Sum", "reduce_max": "Amax", "broadcast": "Expand", "reshape": "View",
    "transpose": "Permute", "concatenate": "Cat", "pad": "ConstantPadNd", "matmul": "Mm",
    "convert": "ToCopy",
}


def default_name(prim: Primitive) -> str:
    name = _TORCH_NAMES.get(prim.name) or "".join(w.capitalize() for w in prim.name.split("_"))
    return name + "Backward0"
