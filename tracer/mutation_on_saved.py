"""`torch.autograd.graph.allow_mutation_on_saved_tensors()`: inside it, changing in place
a tensor an operation saved for backward first clones the saved value, so backward
still sees the value the operation read instead of raising the in-place error.

While the context is open, the values each recorded operation's gradient reads (the
saved tensors that saved-tensor hooks see, tracer/saved_hooks.py) are kept in
`CloneOnWriteSaved` records, indexed by their tensor's version counter (which a view
shares with its base).  An in-place operation calls `before_write` first
(ops_inplace.check_inplace, which the in-place operations and random fills call, and
out_argument.write_into): each record of that counter
still at the current version is given a copy of its array and a version counter of its
own.  As PyTorch's, the graph must be used inside the same context: a record read after
it closed raises its AssertionError, and contexts do not nest.
"""
from __future__ import annotations

import weakref

from . import saved_hooks
from .tape import Saved

_OUTSIDE = ("Trying to backward outside of the 'allow_mutation_on_saved_tensors' context"
            "in which the graph was originally recorded.")

#: the open context (PyTorch's flag is global too, not per thread)
active: "MutationContext | None" = None


class CloneOnWriteSaved(Saved):
    """A saved value recorded inside the context: its array is the tensor's own until an
    in-place change clones it; reading it once the context closed is an error."""

    __slots__ = ("kept", "box", "context", "__weakref__")

    def __init__(self, rec: Saved, context: "MutationContext"):
        self.value, self.box, self.version = rec.value, rec.version_box, rec.version
        self.kept, self.context = rec.array, context

    @property
    def array(self):
        if self.context is not active:
            raise AssertionError(_OUTSIDE)
        return self.kept

    @property
    def version_box(self):  # backward's first look at a record: the context is checked
        if self.context is not active:  # before the in-place check, as PyTorch's unpack is
            raise AssertionError(_OUTSIDE)
        return self.box


class MutationContext:
    """The state of one open context (what PyTorch's context manager yields)."""

    def __init__(self):
        #: id(version counter) -> weak references to the records of tensors sharing it
        self.records: dict[int, list] = {}

    def replace_record(self, rec: Saved) -> Saved:
        """saved_hooks.pack_saved's hook: the record kept instead of `rec`."""
        if isinstance(rec, CloneOnWriteSaved):
            return rec
        kept = CloneOnWriteSaved(rec, self)
        self.records.setdefault(id(rec.version_box), []).append(weakref.ref(kept))
        return kept

    def before_write(self, tensor) -> None:
        """`tensor` is about to change in place: clone what was saved of its memory."""
        refs = self.records.pop(id(tensor._version), None)
        if not refs:
            return
        keep = []
        for ref in refs:
            rec = ref()
            if rec is None:
                continue
            if rec.box is not tensor._version:  # a reused id: another counter
                keep.append(ref)
            elif rec.box[0] == rec.version:  # still the value the operation read
                rec.kept = rec.kept.copy()
                rec.box = [rec.version]
        if keep:
            self.records[id(tensor._version)] = keep

    def clear(self) -> None:
        self.records.clear()


class allow_mutation_on_saved_tensors:
    """Context manager: tensors saved for backward are cloned when changed in place, so
    backward (run inside the same context) still works."""

    def __enter__(self) -> MutationContext:
        global active
        if active is not None:
            raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
        self.context = MutationContext()
        saved_hooks.push(self.context, None)
        active = self.context
        return self.context

    def __exit__(self, *exc):
        global active
        saved_hooks.pop()
        self.context.clear()
        active = None
        return False
