"""What two eager paths that must record the same tape are compared on: the value, the
tape as printed IR (instructions, types, constants, lines), the grad_fn names and
next_functions, and every node's saved records (tests of eager_direct and
eager_operators)."""
import numpy as np
import pytest

from tapegrad.ir.printer import print_function
from tapegrad.tracer.backward_plan import walk_tape


def node_names(fn):
    if fn is None:
        return None
    return (fn.name(), tuple(node_names(f) if f is not None and hasattr(f, "next_fns") else
                             (None if f is None else f.name()) for f, _ in fn.next_functions))


def saved_records(fn, seen=None):
    """Every node's saved records as (kind of value, its type, array, version), nodes in
    graph order."""
    seen = set() if seen is None else seen
    if fn is None or not hasattr(fn, "saved") or id(fn) in seen:
        return []
    seen.add(id(fn))
    out = [(fn.name(), [(type(r.value).__name__, str(r.value.type), r.array.tolist(),
                         r.version) for r in fn.saved.values()])]
    for f, _ in fn.next_functions:
        out += saved_records(f, seen)
    return out


def tape_record(out):
    """(value, printed tape, node names, saved records) of the tensor `out`."""
    return (out.detach().numpy(), print_function(walk_tape([out._value]).function()),
            node_names(out.grad_fn), saved_records(out.grad_fn))


def backward_errors(switch_to_general, build) -> list[str]:
    """The error backward raises on the fast path, then on the general one (after
    `switch_to_general()`): two paths that record the same tape raise the same.  `build()`
    returns the tensor to differentiate and the tensors to keep alive (a backward whose
    leaves are all gone has nothing to compute)."""
    messages = []
    for general in (False, True):
        if general:
            switch_to_general()
        out, *alive = build()
        with pytest.raises(RuntimeError) as err:
            out.backward()
        messages.append(str(err.value))
    return messages


def assert_same_runs(fast: list, slow: list) -> None:
    """Runs as (tape_record, {name: gradient array or None}) of the fast and the general
    path, pairwise: the same values, tapes, nodes, saved records and gradients."""
    for (frec, fgrads), (srec, sgrads) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(frec[0], srec[0])
        assert frec[1] == srec[1]  # instructions, types, constants, lines
        assert frec[2] == srec[2]  # grad_fn names and next_functions
        assert frec[3] == srec[3]  # saved arrays and versions, node by node
        assert fgrads.keys() == sgrads.keys()
        for k in fgrads:
            if fgrads[k] is None:
                assert sgrads[k] is None, k
            else:
                np.testing.assert_array_equal(fgrads[k], sgrads[k], err_msg=k)
