"""The eager tape: every primitive an operation runs goes through `bind`.

`bind` computes the value at once (numpy, through the interpreter's rules).
When grad mode is on and an operand requires grad, it also records an SSA
instruction whose operands are the operands' IR values.  The tape is therefore
the IR graph itself: following operands from a tensor's value reaches every
instruction that produced it, down to parameters (leaves and captured inputs).

The instructions of one user-level operation (`mean` = reduce_sum, then div)
are grouped under one `GradFn`, PyTorch's `grad_fn` node.  A GradFn keeps the
arrays its instructions produced and read, with the version each had, so the
backward engine can feed them to the adjoint and detect in-place changes.
"""
from __future__ import annotations

import sys
import threading
import weakref

import numpy as np

from ..ir import primitives as P
from ..ir.core import Instr, Param, SourceLoc, TensorType, Value
from ..ir.primitives import Primitive, ShapeError, infer_type
from ..runtime.interpreter import ARITHMETIC_UFUNCS as _ARITHMETIC_UFUNCS
from ..runtime.interpreter import errors_off as _errors_off
from ..runtime.interpreter import errors_restore as _errors_restore
from ..runtime.interpreter import eval_prim
from ..runtime import eager_native as _eager_native
from .errors import TracerError, _is_internal, allocation_error, at, user_loc
from .grad_mode import _state as _grad_state
from . import saved_hooks as _saved_hooks
from .dual_state import state as _duals
from .node_names import default_name as _default_name

#: tracer.tensor hands its class over when it is defined (it imports this module, so
#: this module cannot import it); an import inside each call cost ~0.5 us per operation
Tensor = None


class Saved:
    """An array an instruction produced or read, and the version it had then.

    The operation that saved it is the GradFn whose `saved` dict holds it (no link
    back: that would be a reference cycle, or a weak reference per record)."""

    __slots__ = ("value", "array", "version_box", "version")

    def __init__(self, value: Value, array: np.ndarray, version_box: list):
        self.value = value
        self.array = array
        self.version_box = version_box
        self.version = version_box[0]


class PackedSaved(Saved):
    """A saved value given to a saved-tensor pack hook (tracer/saved_hooks.py): it keeps
    what the hook returned; its array is the unpack hook's tensor's.  The values one
    instruction saved are unpacked together, in the order they were packed, when backward
    first reads one of them (as PyTorch's node unpacks its saved variables when it runs)."""

    __slots__ = ("packed", "unpack", "unpacked", "group")

    def __init__(self, rec: Saved, packed, unpack, group: list):
        self.value, self.version_box, self.version = rec.value, rec.version_box, rec.version
        self.packed, self.unpack, self.unpacked, self.group = packed, unpack, None, group
        group.append(self)

    def _unpack(self) -> None:
        t = self.unpack(self.packed)
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor "
                            f"but got result of type {type(t).__name__}")
        self.unpacked = t._data

    @property
    def array(self):
        if self.unpacked is None:
            for rec in self.group:
                if rec.unpacked is None:
                    rec._unpack()
        return self.unpacked


class AccumulateGrad:
    """The node of a leaf that requires grad: backward adds into `variable.grad`."""

    __slots__ = ("_variable", "param", "__weakref__")

    def __init__(self, variable: "Tensor", param: Param):
        self._variable = weakref.ref(variable)
        self.param = param

    @property
    def variable(self):
        return self._variable()

    @property
    def next_functions(self) -> tuple:
        return ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"  # PyTorch 2's spelling

    def register_prehook(self, hook) -> "NodeHookHandle":
        """hook((grad,)) -> new (grad,) or None, before the leaf's .grad takes the gradient
        (after the leaf's tensor hooks)."""
        return self._leaf_hook(NodePreHook(hook))

    def register_hook(self, hook) -> "NodeHookHandle":
        """hook((), (grad,)) once the gradient is in .grad; what it returns is ignored."""
        return self._leaf_hook(NodePostHook(hook))

    def _leaf_hook(self, hook) -> "NodeHookHandle":
        leaf = self.variable
        if leaf._hooks is None:
            leaf._hooks = []
        leaf._hooks.append(hook)
        return NodeHookHandle(leaf._hooks, hook)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class GradFn:
    """One eager operation on the tape (PyTorch's `grad_fn`): a view of its instructions."""

    __slots__ = ("_name", "next_fns", "instrs", "saved", "freed", "loc", "hooks", "retained",
                 "__weakref__")

    def __init__(self, name: str, inputs: tuple, loc: SourceLoc | None):
        self._name = name
        #: the nodes of the operation's arguments (None where no gradient flows); kept
        #: instead of the tensors so the tape holds no tensor (and no reference cycle)
        nodes = []
        for t in inputs:  # _node_of, inlined: one GradFn per operation on the tape
            if isinstance(t, Tensor) and t._requires_grad:
                node = t._grad_fn
                if node is None:  # a leaf: its accumulator, made on its first use
                    node = t._accum or t._accumulator()
                nodes.append(node)
            else:
                nodes.append(None)
        self.next_fns = tuple(nodes)
        self.instrs: list[Instr] = []
        #: id(value) -> Saved, for every value this operation produced or read
        self.saved: dict[int, Saved] = {}
        self.freed = False
        self.loc = loc
        #: id(value) -> hooks / retain_grad tensors registered on outputs of this node;
        #: None until the first one (few nodes get any, and every operation makes a node)
        self.hooks: dict[int, list] | None = None
        self.retained: dict[int, weakref.ref] | None = None

    #: a custom Function's node (CustomGradFn) runs the user's backward
    custom = False

    def name(self) -> str:
        return self._name

    @property
    def next_functions(self) -> tuple:
        return tuple((f, 0) for f in self.next_fns)

    def __repr__(self) -> str:  # the class name: PyTorch's NotImplemented node, not its name()
        return f"<{self._name.rpartition('::')[2]} object at {id(self):#x}>"

    def register_prehook(self, hook) -> "NodeHookHandle":
        """hook(grad_outputs) -> new grad_outputs or None, before this node's backward."""
        return self._add_hook(NodePreHook(hook))

    def register_hook(self, hook) -> "NodeHookHandle":
        """hook(grad_inputs, grad_outputs) -> new grad_inputs or None, after it."""
        return self._add_hook(NodePostHook(hook))

    def _add_hook(self, hook) -> "NodeHookHandle":
        """Node hooks sit with the tensor hooks of the node's output (its last instruction),
        which the engine runs first: PyTorch's order (tensor hooks, pre-hooks, post-hooks)."""
        if not self.instrs:
            raise RuntimeError(f"{self._name} has no output to hook")
        if self.hooks is None:
            self.hooks = {}
        hooks = self.hooks.setdefault(id(self.instrs[-1]), [])
        hooks.append(hook)
        return NodeHookHandle(hooks, hook)


class NodePreHook:
    """A node pre-hook among its output's tensor hooks: called as one with the gradient."""

    __slots__ = ("hook",)

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, grad):
        new = self.hook((grad,))
        return None if new is None else new[0]


class NodePostHook:
    """A node post-hook: the engine calls it with the node's input and output gradients."""

    __slots__ = ("hook",)

    def __init__(self, hook):
        self.hook = hook


class NodeHookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


#: grad_fn name -> its class: each kind of node has a class of that name, as PyTorch's
#: (`type(y.grad_fn).__name__` is 'MulBackward0'); made on first use
NODE_CLASSES: dict[str, type] = {}


def node_class(name: str, base: type | None = None) -> type:
    """The GradFn subclass called `name` (of `base`, GradFn by default)."""
    base = base or GradFn
    key = name if base is GradFn else (name, base)
    cls = NODE_CLASSES.get(key)
    if cls is None:
        # no module: PyTorch's node classes print as <class 'MulBackward0'>
        short = name.rpartition("::")[2]  # torch::autograd::NotImplemented's class
        cls = NODE_CLASSES[key] = type(short, (base,), {"__slots__": (), "__module__": "builtins",
                                                        "__qualname__": short})
    return cls


class BlockShape:
    """The structure an AdjointNode's instructions share with every node made from the
    same template: where its outputs and its values without arrays sit among them.
    Identity is the structure (backward_plan's key holds the object, not the
    instructions)."""

    __slots__ = ("output_offsets", "virtual_offsets", "__weakref__")

    def __init__(self, output_offsets: tuple, virtual_offsets: tuple):
        self.output_offsets = output_offsets
        self.virtual_offsets = virtual_offsets


class AdjointNode(GradFn):
    """A node whose instructions ran as one call: a `create_graph=True` backward
    (tracer/backward_native.py) or a composite operation from its template
    (tracer/eager_template.py).  The instructions are on the tape so a later backward
    differentiates them, but only the outputs' arrays exist: a backward through the
    others recomputes them from the node's inputs (backward_plan._build_plan).
    `shape` (a BlockShape) says which are which, `inputs` are the values from outside
    the node its instructions read (in the template's order), `outputs` the
    instructions with arrays; backward_plan.walk_tape keys the node as one block."""

    __slots__ = ("shape", "inputs", "outputs")


def _node_of(t):
    """The grad_fn (or AccumulateGrad) gradients flow into for argument `t`."""
    if not isinstance(t, Tensor) or not t._requires_grad:
        return None
    return t._grad_fn if t._grad_fn is not None else t._accumulator()


class _TapeState(threading.local):
    """Per-thread tape state: the operation being recorded (grad_node) and how deep in
    abstract tracing this thread is.  Class attributes are every thread's defaults, so
    `getattr(_tls, "node", None)` finds None without raising (and formatting) an
    AttributeError on each operation."""

    node = None
    trace_depth = 0
    created = ()  # one list per region being traced: the instructions traced in it


_tls = _TapeState()


class recording_created:
    """Collects the ids of instructions traced while open (for every enclosing one): what
    a region's function computed (tracer/control_flow.py keeps what may fail inside)."""

    def __enter__(self) -> list:
        self.ids: list = []
        _tls.created = _tls.created + (self.ids,)
        return self.ids

    def __exit__(self, *exc):
        _tls.created = _tls.created[:-1]
        return False


def note_created(instr) -> None:
    for ids in _tls.created:
        ids.append(id(instr))


class grad_node:
    """Groups the primitives bound inside it under one GradFn named `name`.

    Nested operations (softmax calling exp and sum) join the outermost node,
    so a user-level call is one grad_fn whatever it expands to.
    """

    __slots__ = ("name", "inputs", "outer", "fn", "loc")

    def __init__(self, name: str, *inputs):
        self.name = name
        self.inputs = inputs
        self.fn: GradFn | None = None
        #: the user's line, found once for all the primitives of the operation
        self.loc: SourceLoc | None = None

    def __enter__(self):
        self.outer = getattr(_tls, "node", None)
        if self.outer is None:
            _tls.node = self
        return self

    def __exit__(self, *exc):
        if self.outer is None:
            _tls.node = None
        return False


def _shape_error(prim: Primitive, args, attrs, err: Exception) -> ShapeError:
    shapes = ", ".join(str(list(a._type.shape)) for a in args)
    return ShapeError(f"{err} [op {prim.name} on shapes {shapes}]{at(user_loc(3))}")


def bind(prim: Primitive, *args: "Tensor", type: TensorType | None = None,
         loc: SourceLoc | None = None, **attrs) -> "Tensor":
    """Apply a primitive to tensors: compute (or trace) it, and record it if needed.

    `loc` is the user's line to record; by default the caller's (replayed IR passes
    the location the instruction already carries).
    """
    try:
        rtype = infer_type(prim, tuple([a._type for a in args]), attrs, type)
    except ShapeError as e:
        raise _shape_error(prim, args, attrs, e) from None
    return _apply(prim, args, attrs, rtype, loc)


def bind_op(name: str, inputs: tuple, prim: Primitive, args: tuple, attrs: dict,
            rtype: TensorType) -> "Tensor":
    """`with grad_node(name, *inputs): return bind(prim, *args, **attrs)` for an operation
    that is one primitive whose result type the caller knows (its shape rule's result:
    the common cases of elementwise operations), without entering a node or asking the
    shape rule again.

    The eager loop's hot path, so _apply's checks and eval_prim's ufunc case are
    inlined (each call they cost is ~0.1 us of an operation's ~4): an arithmetic
    primitive that is a plain ufunc runs here; anything else (attributes, a rule of
    its own, tracing, an enclosing operation) takes the general functions.  The
    record itself is _on_tape's, shared with _record."""
    if getattr(_tls, "node", None) is not None:  # inside another operation: joins its node
        return _apply(prim, args, attrs, rtype, None)
    requires_grad = False
    arrays = []
    for a in args:
        if a._data is None:
            return _bind_abstract(prim, args, attrs, rtype, None)
        if a._requires_grad:
            requires_grad = True
        arrays.append(a._data)
    ufunc = None if attrs else _ARITHMETIC_UFUNCS.get(prim)
    if arrays[0].size >= _NATIVE_MIN and prim in _NATIVE_PRIMS:
        data = _native(prim, args, arrays, attrs, rtype)
        if data is not None:
            ufunc = _NATIVE_DONE
    if ufunc is _NATIVE_DONE:
        pass
    elif ufunc is None:
        try:
            data = eval_prim(prim, arrays, attrs, rtype)
        except MemoryError:
            raise allocation_error(prim.name, [rtype], user_loc(2)) from None
    else:  # eval_prim's ufunc case
        token = _errors_off()
        try:
            data = ufunc(*arrays, out=...)
        except MemoryError:
            raise allocation_error(prim.name, [rtype], user_loc(2)) from None
        finally:
            _errors_restore(token)
        want = rtype.dtype.np
        if data.dtype is not want and data.dtype != want:
            data = data.astype(want)
    if not (requires_grad and rtype.dtype.is_float and prim is not P.stop_gradient
            and getattr(_grad_state, "enabled", True)):  # is_grad_enabled(), inlined
        out = Tensor._make(data, rtype)
        return _duals.propagate(prim, args, attrs, out) if _duals.active else out
    # _record for a one-primitive operation
    try:
        frame = sys._getframe(2)  # the operation's caller, outwards to the user's line
    except ValueError:  # the operation is the bottom of the stack: no user line
        frame = None
    loc = _caller_loc(frame)
    cls = NODE_CLASSES.get(name) or node_class(name)
    out = _on_tape(cls(name, inputs, loc), prim, args, attrs, rtype, data, loc)
    return _duals.propagate(prim, args, attrs, out) if _duals.active else out


def bind_typed(prim: Primitive, args: tuple, rtype: TensorType) -> "Tensor":
    """`bind(prim, *args)` (no attributes) when the caller knows the result type the
    shape rule would give: inside an operation's grad_node, as bind records it."""
    return _apply(prim, args, {}, rtype, None)


def _apply(prim: Primitive, args: tuple, attrs: dict, rtype: TensorType,
           loc: SourceLoc | None) -> "Tensor":
    """bind's work once the result type is known."""
    requires_grad = False
    arrays = []
    for a in args:
        if a._data is None:
            return _bind_abstract(prim, args, attrs, rtype, loc)
        if a._requires_grad:
            requires_grad = True
        arrays.append(a._data)
    if not args and _tracing():
        return _bind_abstract(prim, args, attrs, rtype, loc)
    data = None
    if args and arrays[0].size >= _NATIVE_MIN and prim in _NATIVE_PRIMS:
        data = _native(prim, args, arrays, attrs, rtype)
    if data is None:
        try:
            data = eval_prim(prim, arrays, attrs, rtype)
        except MemoryError:
            raise allocation_error(prim.name, [rtype], loc or user_loc(3)) from None
    if requires_grad and rtype.dtype.is_float and prim is not P.stop_gradient \
            and getattr(_grad_state, "enabled", True):  # is_grad_enabled(), inlined
        out = _record(prim, args, attrs, rtype, data, loc)
    else:
        out = Tensor._make(data, rtype)
    return _duals.propagate(prim, args, attrs, out) if _duals.active else out


_NATIVE_PRIMS = _eager_native.PRIMS
_NATIVE_MIN = _eager_native.MIN_SIZE
_NATIVE_DONE = object()  # bind_op's marker: the native call computed the value


def _native(prim: Primitive, args: tuple, arrays: list, attrs: dict,
            rtype: TensorType) -> np.ndarray | None:
    """A big transcendental on the eager tier's native code (runtime/eager_native.py):
    a Python-number operand is passed as its `full` instruction, kept a constant."""
    operands = []
    for a, array in zip(args, arrays):
        v = a._value
        operands.append(v if v.__class__ is Instr and v.prim is P.full else array)
    return _eager_native.evaluate(prim, operands, attrs, rtype)


def _record(prim: Primitive, args: tuple, attrs: dict, rtype: TensorType, data: np.ndarray,
            loc: SourceLoc | None) -> "Tensor":
    """Put the instruction on the tape, under the current operation's GradFn (the
    enclosing grad_node's, or one of the primitive's own)."""
    node = getattr(_tls, "node", None)
    if loc is None:
        loc = _node_loc(node)
    if node is None:
        name = _default_name(prim)
        fn = (NODE_CLASSES.get(name) or node_class(name))(name, args, loc)
    elif node.fn is None:
        fn = node.fn = (NODE_CLASSES.get(node.name) or node_class(node.name))(
            node.name, node.inputs, loc)
    else:
        fn = node.fn
    return _on_tape(fn, prim, args, attrs, rtype, data, loc)


def _on_tape(fn: GradFn, prim: Primitive, args: tuple, attrs: dict, rtype: TensorType,
             data: np.ndarray, loc: SourceLoc | None) -> "Tensor":
    """The instruction `prim(args)` under `fn`, with the arrays it read and produced
    saved at their current versions (backward's in-place check)."""
    saved = fn.saved
    operands = []
    for a in args:
        v = a._value
        if v is None:
            v = a._graph_value()
        key = id(v)
        if key not in saved:
            saved[key] = Saved(v, a._data, a._version)
        operands.append(v)
    instr = new_instr(prim, tuple(operands), attrs, rtype, loc)
    fn.instrs.append(instr)
    out = Tensor._make(data, rtype, True, fn, instr)
    saved[id(instr)] = Saved(instr, data, out._version)
    if _saved_hooks.state.stack:
        _saved_hooks.pack_saved(fn, instr, args, out, PackedSaved)
    return out


#: Instr.__new__: the recorders set an instruction's five fields themselves (what
#: Instr.__init__ and Value.__init__ do, without their two frames per recorded primitive)
_new_instr = Instr.__new__


def new_instr(prim: Primitive, operands: tuple, attrs: dict, rtype: TensorType,
              loc: SourceLoc | None) -> Instr:
    """Instr(prim, operands, attrs, rtype, loc) for a tuple of operands (see _new_instr)."""
    instr = _new_instr(Instr)
    instr.type, instr.prim, instr.operands, instr.attrs, instr.loc = \
        rtype, prim, operands, attrs, loc
    return instr


def _node_loc(node: "grad_node | None") -> SourceLoc | None:
    """The user's line: every primitive of one operation is called from the same line,
    so the frames are walked once per operation, not once per primitive."""
    if node is None:
        return _caller_loc(sys._getframe(4))
    if node.loc is None:
        node.loc = _caller_loc(sys._getframe(4))
    return node.loc


#: filename -> whether it is tapegrad's own (errors._is_internal), asked once per file
_internal_files: dict[str, bool] = {}


#: (id(code), instruction offset) -> (code, its SourceLoc): a loop records the same call
#: sites every step, and the offset finds the line without frame.f_lineno's walk over
#: the line table; the entry holds the code object, so its id is not reused while cached
_locs: dict[tuple[int, int], tuple] = {}
_MAX_LOCS = 4096


def _caller_loc(frame) -> SourceLoc | None:
    """errors.user_loc from `frame` outwards: the first frame outside tapegrad."""
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        internal = _internal_files.get(filename)
        if internal is None:
            internal = _internal_files[filename] = _is_internal(filename)
        if not internal:
            key = (id(code), frame.f_lasti)
            entry = _locs.get(key)
            if entry is None or entry[0] is not code:
                if len(_locs) >= _MAX_LOCS:
                    _locs.clear()
                entry = _locs[key] = (code, SourceLoc(filename, frame.f_lineno))
            return entry[1]
        frame = frame.f_back
    return None


# ---------------------------------------------------------------- tracing


def _tracing() -> bool:
    return getattr(_tls, "trace_depth", 0) > 0


class tracing:
    """Marks that a function is being traced (sources such as `full` become abstract)."""

    def __enter__(self):
        _tls.trace_depth = getattr(_tls, "trace_depth", 0) + 1
        return self

    def __exit__(self, *exc):
        _tls.trace_depth -= 1
        return False


def _bind_abstract(prim: Primitive, args, attrs, rtype: TensorType,
                   loc: SourceLoc | None) -> "Tensor":
    operands = [a._trace_value() for a in args]
    instr = Instr(prim, operands, attrs, rtype, loc or user_loc(3))
    if _tls.created:
        note_created(instr)
    return Tensor._abstract(instr)


def concrete_error(what: str) -> TracerError:
    loc = user_loc(3)
    return TracerError(
        f"{what} needs the value of a traced tensor, but a function being traced by "
        f"tapegrad only has shapes and dtypes{at(loc)}. Use tg.where(cond, a, b) instead "
        "of Python `if`, or mark the argument static with static_argnums.")
