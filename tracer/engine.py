"""The eager backward engine: tape -> forward IR -> adjoint IR -> run -> `.grad`.

1. Collect the recorded instructions that produced the outputs (the IR graph
   itself) into a forward `Function`.
2. Differentiate it with the IR pass (`ir.autodiff.vjp`).
3. Make every forward value the adjoint reads a parameter (`externalize`):
   those values were computed when the operations ran, so nothing is recomputed.
   The result depends only on the tape's structure, so a training loop builds
   it once and finds it in the cache on every later step.
4. Run it on the saved arrays (interpreter or native code), or, with
   `create_graph=True`, bind its instructions again so they are recorded on the
   tape and can be differentiated once more.

Steps 1-3 live in backward_plan.py and are cached by the tape's structure, so a
training loop's backward is a walk over the tape (which also builds the cache
key), a dict lookup, and step 4.
"""
from __future__ import annotations

import sys
from typing import Sequence

import numpy as np

from ..ir import primitives as P
from ..ir.core import Function, Instr, Param, Value, topo_sort
from ..runtime.execute import execute
from . import anomaly
from .backward_plan import COTANGENT, INSTR, PARAM, AdjointPlan, TapeGraph, plan_for, walk_tape
from .custom_function import CustomGradFn, link_tensor
from .errors import at, user_loc
from .grad_mode import enable_grad, no_grad
from .inline import apply_function
from .tape import AccumulateGrad, GradFn, Saved, bind
from .tensor import Tensor

_SECOND_TIME = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


def _collect_fns(roots: Sequence[Tensor]) -> list[GradFn]:
    fns, seen = [], set()
    stack = [t._grad_fn for t in roots if t._grad_fn is not None]
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        fns.append(f)
        for n in f.next_fns:
            if n is not None and id(n) not in seen and isinstance(n, GradFn):
                stack.append(n)
    return fns


class _Records:
    """What the operations below the roots saved: every record of each value, and the
    operation that produced each instruction.  Built once per backward pass."""

    __slots__ = ("fns", "saved", "producer")

    def __init__(self, fns: list[GradFn]):
        self.fns = fns
        #: id(value) -> [(the operation that saved it, its record)], in the order of fns
        self.saved: dict[int, list[tuple[GradFn | None, Saved]]] = {}
        self.producer: dict[int, GradFn] = {}
        saved, producer = self.saved, self.producer
        for f in fns:
            for key, rec in f.saved.items():
                recs = saved.get(key)
                if recs is None:
                    saved[key] = [(f, rec)]
                else:
                    recs.append((f, rec))
            for instr in f.instrs:
                producer[id(instr)] = f

    def array(self, value: Value, graph: TapeGraph, readers: tuple[int, ...]) -> np.ndarray:
        """The array `value` had when the operations whose gradients read it ran.

        Only the records of those operations matter (PyTorch's saved tensors): each
        must still hold the state it saw (or a copy of it), and all must agree.
        Otherwise the value was changed in place: PyTorch's error, naming the operation.
        """
        recs = self.saved.get(id(value))
        if not recs:
            raise RuntimeError(_SECOND_TIME + _where(self.fns))
        first = recs[0][1]
        for f, rec in recs:
            if rec.version != first.version or rec.version_box[0] != rec.version:
                break
        else:  # every record intact and of one version: whichever readers, the same values
            return first.array
        if len(recs) > 1:
            body, producer = graph.body, self.producer
            reader_ids = {id(producer[id(body[j])]) for j in readers if id(body[j]) in producer}
            recs = [(f, rec) for f, rec in recs if id(f) in reader_ids] or recs
        first = recs[0][1]
        for f, rec in recs:
            if rec.version_box[0] != rec.version or rec.version != first.version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{value.type}] is at version "
                    f"{rec.version_box[0]}; expected version {rec.version} instead. The value "
                    f"was saved by {_saver(f)}.")
        return first.array


def _saver(f: GradFn | None) -> str:
    return "the root of backward" if f is None else f"{f.name()}{at(f.loc)}"


def _where(fns: list[GradFn]) -> str:
    loc = fns[0].loc if fns else None
    return f" (the graph was recorded at {loc.full()})" if loc is not None else ""


# ---------------------------------------------------------------- entry points


def _as_grad(g, out: Tensor, i: int) -> Tensor:
    if g is None:
        if out.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs"
                               + at(user_loc()))
        return Tensor._make(np.ones(out._type.shape, out._type.dtype.np), out._type)
    if not isinstance(g, Tensor):
        g = Tensor._from_array(np.asarray(g, dtype=out.dtype.np))
    if g.shape != out.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape!r} and output[{i}] "
            f"has a shape of {out.shape!r}{at(user_loc())}.")
    if g.dtype is not out.dtype:
        with no_grad() if not g._requires_grad else enable_grad():
            g = g.to(out.dtype)
    return g


def _prepare(outputs, grad_outputs):
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad_tensors has {len(grad_outputs)} entries but there are "
                           f"{len(outputs)} outputs")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected a Tensor as element {i} of tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
    grads = [_as_grad(g, t, i) for i, (t, g) in enumerate(zip(outputs, grad_outputs))]
    return outputs, grads


def _gradients(outputs: list[Tensor], grads: list[Tensor], wrt_values: list[Value],
               retain_graph: bool, create_graph: bool,
               all_fns: list[GradFn] | None = None) -> list[Tensor | None]:
    """Gradients of sum(outputs * grads) w.r.t. each value (None where unreachable).

    Custom Functions cut the IR graph: their outputs are opaque parameters.  One
    pass reaches them; each custom node (latest first, so its output gradients
    are complete) runs the user's backward and a further pass starts from its
    inputs.  Gradients are linear, so the passes' results add up.  `all_fns` are the
    nodes below `outputs`, when the caller has them already.
    """
    if all_fns is None:
        all_fns = _collect_fns(outputs)
    customs = sorted((f for f in all_fns if isinstance(f, CustomGradFn)), key=lambda f: -f.order)
    if not customs:
        return _one_pass(outputs, grads, wrt_values, retain_graph, create_graph, all_fns)
    opaque = [p for f in customs for p in f.out_values]
    targets = list(wrt_values) + opaque
    total = _one_pass(outputs, grads, targets, True, create_graph, all_fns)
    for f in customs:
        outs = [total[len(wrt_values) + _index_of(opaque, p)] for p in f.out_values]
        if all(g is None for g in outs):
            continue
        in_grads = f.call_backward(outs, create_graph)
        roots, cts = [], []
        for link, g in zip(f.input_links, in_grads):
            if link is not None and g is not None:
                roots.append(link_tensor(link))
                cts.append(_as_grad(g, roots[-1], len(cts)))
        if roots:
            more = _one_pass(roots, cts, targets, True, create_graph)
            total = [a if b is None else b if a is None else a + b for a, b in zip(total, more)]
    if not retain_graph:
        _release(all_fns)
    return total[:len(wrt_values)]


def _index_of(values: list[Value], v: Value) -> int:
    return next(i for i, x in enumerate(values) if x is v)


def _release(fns: list[GradFn]) -> None:
    """Free what backward needed: a later backward through these nodes raises."""
    for f in fns:
        f.saved.clear()
        f.freed = True
        if isinstance(f, CustomGradFn):
            f.release()


def _one_pass(outputs: list[Tensor], grads: list[Tensor], wrt_values: list[Value],
              retain_graph: bool, create_graph: bool,
              fns: list[GradFn] | None = None) -> list[Tensor | None]:
    """One adjoint run over the IR graph below `outputs` (`fns`: its nodes, if known)."""
    graph = walk_tape([t._graph_value() for t in outputs])
    numbers = [graph.number(v) for v in wrt_values]
    reachable = [k is not None for k in numbers]
    wrt_index = [k for k in numbers if k is not None]
    if fns is None:
        fns = _collect_fns(outputs)
    result: list[Tensor | None] = [None] * len(wrt_values)
    if wrt_index:
        plan = plan_for(graph, wrt_index)
        records = _Records(fns)
        for t in outputs:
            _record_leaf_root(t, records)
        if create_graph:
            values = _bind_tensors(plan, graph, grads, records)
            if anomaly.enabled:  # detect_anomaly: the NaN check runs on the arrays first
                anomaly.run_checked(plan, graph, wrt_index, [v._data for v in values], fns)
            with enable_grad():
                computed = _keep_dependence(plan, values, apply_function(plan.fn, values))
        else:
            arrays = _bind_arrays(plan, graph, grads, records)
            if anomaly.enabled:  # detect_anomaly: each instruction is checked for NaN
                outs = anomaly.run_checked(plan, graph, wrt_index, arrays, fns)
            else:
                outs = execute(plan.fn, arrays)
            computed = _wrap_results(plan, arrays, outs)
        it = iter(computed)
        result = [next(it) if ok else None for ok in reachable]
    if not retain_graph:
        _release(fns)
    return result


def _wrap_results(plan: AdjointPlan, inputs: list[np.ndarray], outs: list[np.ndarray]) -> list[Tensor]:
    """The adjoint's results as tensors; never an input array itself (the interpreter and
    native code both return fresh arrays, but a gradient must not alias a saved value)."""
    input_ids = {id(a) for a in inputs}
    return [Tensor._make(np.array(a) if id(a) in input_ids else a, t)
            for a, t in zip(outs, plan.result_types)]


def _record_leaf_root(t: Tensor, records: _Records) -> None:
    """A root that is a parameter of the IR graph (a leaf, a custom Function's output, or
    the input of a custom Function where a further pass starts) may have been saved by
    no operation: it stands for itself.  A custom Function's input stand-in has no data,
    but then the adjoint is the identity on the cotangent and never reads it."""
    v = t._graph_value()
    if t._grad_fn is not None and not isinstance(v, Param):
        return  # an instruction's value: its producer saved it, unless backward freed it
    if id(v) not in records.saved:
        data = t._data if t._data is not None else np.zeros(t._type.shape, t.dtype.np)
        records.saved[id(v)] = [(None, Saved(v, data, t._version))]


def _keep_dependence(plan: AdjointPlan, values: list[Tensor], computed: list[Tensor]) -> list[Tensor]:
    """create_graph: a gradient computed from values that require grad stays on the tape.

    PyTorch records a backward formula whenever one of its inputs requires grad, so
    relu's gradient (the cotangent masked where x > 0) can be differentiated again,
    giving zeros.  In the adjoint IR the mask reaches the gradient only through a
    comparison, which carries no gradient, so the replayed result would be a constant
    and a second `grad` an error.  Such a result is tied back to a value it read with a
    select that never takes that side: the numbers are unchanged, the derivative is 0.
    """
    out = []
    for g, result in zip(computed, plan.fn.results):
        if not g._requires_grad and g.dtype.is_float:
            src = _input_requiring_grad(plan.fn, result, values)
            if src is not None:
                g = _tie(g, src)
        out.append(g)
    return out


def _input_requiring_grad(fn: Function, result: Value, values: list[Tensor]) -> Tensor | None:
    """A tensor requiring grad among the inputs `result` is computed from (any dtype path).

    A comparison of two computed values (the tie masks of maximum, max, amax) is not
    followed: PyTorch's formulas for those read only the mask, so their gradients are
    constants there too.  A comparison with a constant (relu's x > 0) is followed, as
    PyTorch's threshold formulas read the input.
    """
    position = {id(p): k for k, p in enumerate(fn.params)}
    stack, seen = [result], set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        k = position.get(id(v))
        if k is not None:
            if values[k]._requires_grad:
                return values[k]
        elif isinstance(v, Instr):
            if v.prim.group is P.OpGroup.COMPARE and not any(_is_constant(op) for op in v.operands):
                continue
            stack.extend(v.operands)
    return None


def _is_constant(v: Value) -> bool:
    """A constant, possibly reshaped or broadcast."""
    while isinstance(v, Instr) and v.prim in (P.broadcast, P.reshape):
        v = v.operands[0]
    return isinstance(v, Instr) and v.prim.group is P.OpGroup.SOURCE


def _tie(g: Tensor, src: Tensor) -> Tensor:
    """select(False, f(src), g) with f = sign (derivative 0), reduced and cast to g's type."""
    link = bind(P.sign, src)
    if link.shape != g.shape:
        link = bind(P.reduce_sum, link, axes=tuple(range(link.ndim)))
        link = bind(P.broadcast, link, shape=tuple(g.shape))
    if link.dtype is not g.dtype:
        link = bind(P.convert, link, dtype=g.dtype)
    never = Tensor._from_array(np.zeros(g._type.shape, np.bool_))
    return bind(P.select, never, link, g)


def _bind_arrays(plan: AdjointPlan, graph: TapeGraph, grads: list[Tensor],
                 records: _Records) -> list[np.ndarray]:
    """The adjoint's inputs: cotangents, and the arrays the forward operations saved."""
    arrays = []
    for kind, i, readers in plan.sources:
        if kind is COTANGENT:
            arrays.append(grads[i]._data)
        else:
            v = graph.params[i] if kind is PARAM else graph.body[i]
            arrays.append(records.array(v, graph, readers))
    return arrays


def _bind_tensors(plan: AdjointPlan, graph: TapeGraph, grads: list[Tensor],
                  records: _Records) -> list[Tensor]:
    """Tensors standing for the forward values, linked to their place on the tape."""
    out = []
    for kind, i, readers in plan.sources:
        if kind is COTANGENT:
            out.append(grads[i])
            continue
        v = graph.params[i] if kind is PARAM else graph.body[i]
        data = records.array(v, graph, readers)
        if kind is INSTR:
            t = Tensor._make(data, v.type, requires_grad=True,
                             grad_fn=records.producer[id(v)], value=v)
            t._version = records.saved[id(v)][0][1].version_box
        else:
            accum = _leaf_accumulator(v, records.fns)
            leaf = accum.variable if accum is not None else None
            if leaf is not None and leaf._value is v:
                t = leaf
            else:
                t = Tensor._make(data, v.type, requires_grad=accum is not None, value=v)
        out.append(t)
    return out


def _leaf_accumulator(param: Param, fns: list[GradFn]) -> AccumulateGrad | None:
    for f in fns:
        for n in f.next_fns:
            if isinstance(n, AccumulateGrad) and n.param is param:
                return n
    return None


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(sum(tensors * grad_tensors))/d(leaf) into every leaf's `.grad`."""
    if grad_tensors is None and not retain_graph and not create_graph and inputs is None \
            and type(tensors) is list and len(tensors) == 1 and _plain_backward(tensors[0]):
        return
    general_backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def general_backward(tensors, grad_tensors, retain_graph, create_graph, inputs) -> None:
    """backward without trying _plain_backward (its caller did)."""
    outputs, grads = _prepare(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    fns = _collect_fns(outputs)
    targets = _targets(outputs, inputs, fns)
    values = [v for v, _ in targets]
    results = _with_hooks(outputs, grads, values, fns, retain_graph, create_graph)
    for (v, sink), g in zip(targets, results):
        if g is not None:
            sink(g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False):
    """The gradients of `outputs` w.r.t. `inputs`, returned (not accumulated)."""
    outputs, grads = _prepare(outputs, grad_outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    values = [t._graph_value() for t in inputs]
    results = _with_hooks(outputs, grads, values, _collect_fns(outputs), retain_graph,
                          create_graph)
    out = []
    for t, g in zip(inputs, results):
        if g is not None and t._grad_fn is None and t._hooks:
            g = _run_hooks(t._hooks, g)  # a leaf's hooks see what grad returns, as PyTorch's
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = Tensor._from_array(np.zeros(t._type.shape, t.dtype.np))
        out.append(g)
    return tuple(out)


def _targets(outputs: list[Tensor], inputs, fns: list[GradFn]) -> list[tuple[Value, callable]]:
    """(value, sink) pairs: where gradients go (leaf .grad, retained non-leaf .grad)."""
    targets = []
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for t in inputs:
            targets.append((t._graph_value(), _grad_sink(t)))
        return targets
    seen = set()
    for f in fns:
        for n in f.next_fns:
            if isinstance(n, AccumulateGrad) and id(n) not in seen:
                seen.add(id(n))
                leaf = n.variable
                if leaf is not None:
                    targets.append((n.param, _grad_sink(leaf)))
        for key, ref in (f.retained or {}).items():
            t = ref()
            if t is not None and t._value is not None and id(t._value) == key:
                targets.append((t._value, _grad_sink(t)))
    for t in outputs:  # backward on a leaf itself
        if t._grad_fn is None and t._requires_grad:
            targets.append((t._graph_value(), _grad_sink(t)))
    return targets


def _grad_sink(t: Tensor):
    def sink(g: Tensor, create_graph: bool) -> None:
        if t._hooks:
            g = _run_hooks(t._hooks, g)
        if t._grad is None:
            t._grad = g if create_graph else _detached_copy(g)
        elif create_graph or t._grad._requires_grad:
            t._grad = t._grad + g
        else:
            np.add(t._grad._data, g._data, out=t._grad._data, casting="unsafe")
            t._grad._version[0] += 1
    return sink


def _run_hooks(hooks: list, g: Tensor) -> Tensor:
    """Each hook sees the previous one's result; returning None keeps the gradient."""
    for hook in list(hooks):
        new = hook(g)
        if new is not None:
            g = new
    return g


def _detached_copy(g: Tensor) -> Tensor:
    return Tensor._from_array(np.array(g._data, copy=True))


def _with_hooks(outputs, grads, values, fns, retain_graph, create_graph):
    """Gradients for `values`, applying hooks registered on non-leaf tensors (of the
    nodes `fns`, all those below `outputs`).

    Gradients are linear in the output cotangents, so a hook that changes the
    gradient g of a value h to g' is honoured by adding the gradient of
    <h, g' - g> to everything below h.  Hooked values are handled outputs-first.
    """
    hooked = []
    for f in fns:
        if not f.hooks:
            continue
        for key, hooks in f.hooks.items():
            if hooks:
                v = next((i for i in f.instrs if id(i) == key), None)
                if v is not None:
                    hooked.append((v, hooks))
    if not hooked:
        return _gradients(outputs, grads, values, retain_graph, create_graph, fns)
    order = {id(x): k for k, x in enumerate(topo_sort([t._graph_value() for t in outputs]))}
    hooked = [(v, h) for v, h in hooked if id(v) in order]
    hooked.sort(key=lambda vh: -order[id(vh[0])])
    hvals = [v for v, _ in hooked]
    allv = values + hvals
    res = _gradients(outputs, grads, allv, True, create_graph)
    for k, (h, hooks) in enumerate(hooked):
        g = res[len(values) + k]
        if g is None:
            continue
        new = _run_hooks(hooks, g)
        if new is g:
            continue
        res[len(values) + k] = new
        delta = new - g
        below = _gradients_from(h, fns_roots=outputs, delta=delta, values=allv,
                                create_graph=create_graph)
        for j, d in enumerate(below):
            if d is not None and j != len(values) + k and res[j] is not None:
                res[j] = res[j] + d
            elif d is not None and res[j] is None:
                res[j] = d
    if not retain_graph:
        _release(fns)
    return res[:len(values)]


def _gradients_from(h: Instr, fns_roots, delta: Tensor, values, create_graph):
    """Gradients of <h, delta> w.r.t. `values` (None where h does not depend on them)."""
    producer = next(f for f in _collect_fns(fns_roots) if any(i is h for i in f.instrs))
    root = Tensor._make(np.zeros(h.type.shape, h.type.dtype.np), h.type, requires_grad=True,
                        grad_fn=producer, value=h)
    return _gradients([root], [delta], values, True, create_graph)


# ---------------------------------------------------------------- loss.backward()


def _zeroed_and_private(grad: Tensor, a: np.ndarray) -> bool:
    """Whether adding `a` into `grad` may instead make `a` its buffer: `grad` was zeroed
    by zero_() and not written since (the tutorial's `w.grad.zero_()`), nothing else
    refers to its array (no view, no `.numpy()` held: they would miss the update), and
    `a` is a fresh array of the same dtype and shape that owns its memory.  Saves a
    read-add-write pass over the gradient, whose fresh half from the other BLAS thread
    is the expensive part."""
    data = grad._data
    return (getattr(grad, "_zeroed", None) == grad._version[0] and grad._base is None
            and a.flags.owndata and a.dtype == data.dtype and a.shape == data.shape
            and a.flags.c_contiguous and sys.getrefcount(data) == _PRIVATE_REFS)


#: references to an array held only by its tensor, seen from _zeroed_and_private: the
#: tensor's slot, the local `data` and getrefcount's argument
_PRIVATE_REFS = 3


def _plain_backward(root) -> bool:
    """`loss.backward()` in the common case, in one walk: a scalar root whose graph has
    no custom Function, no hook, no retained grad, nothing freed and no saved value
    changed in place since it was saved.  False, with nothing done, when any of that
    does not hold: the general path then gives the results and the errors.

    The same steps as the general path (collect the nodes, their leaves, the saved
    arrays; walk the tape; run the cached adjoint; accumulate into `.grad`) without
    the records per operation that only a stale value or a hook needs."""
    if anomaly.enabled:  # detect_anomaly checks each instruction: the general path
        return False
    fn0 = root._grad_fn if type(root) is Tensor else None
    if fn0 is None or type(fn0) is not GradFn or root._data is None or root._data.size != 1:
        return False
    # the nodes, in _collect_fns's order, and the leaves, in _targets's order
    # seen: nodes and accumulators themselves (they hash by identity: no id() calls)
    fns, seen, leaves, stack = [], set(), [], [fn0]
    saved: dict[int, Saved] = {}  # id(value) -> its first record (all agree, all intact)
    setdefault = saved.setdefault
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        if type(f) is not GradFn or f.freed or f.hooks or f.retained:
            return False
        fns.append(f)
        for key, rec in f.saved.items():
            if rec.version_box[0] != rec.version:
                return False
            first = setdefault(key, rec)
            if first is not rec and first.version != rec.version:
                return False
        for n in f.next_fns:
            if n is None:
                continue
            if type(n) is AccumulateGrad:
                if n not in seen:
                    seen.add(n)
                    leaves.append(n)
            elif n not in seen:
                stack.append(n)
    targets = []  # (leaf, its number in the graph)
    graph = walk_tape([root._value])
    for n in leaves:
        leaf = n.variable
        if leaf is None:
            continue
        if leaf._hooks:
            return False
        k = graph.number(n.param)
        if k is not None:
            targets.append((leaf, k))
    if targets:
        plan = plan_for(graph, [k for _, k in targets])
        arrays = []
        params, body = graph.params, graph.body
        rt = root._type
        for kind, i, _ in plan.sources:
            if kind is COTANGENT:  # the implicit gradient: ones (np.array: 0-d, no np.ones)
                arrays.append(np.ones(rt.shape, rt.dtype.np) if rt.shape else
                              np.array(1, rt.dtype.np))
                continue
            rec = saved.get(id(params[i] if kind is PARAM else body[i]))
            if rec is None:
                return False
            arrays.append(rec.array)
        outs = execute(plan.fn, arrays)
        ids = {id(a) for a in arrays}
        for (leaf, _), a, t in zip(targets, outs, plan.result_types):
            if id(a) in ids:  # never an input array, nor one a leaf took already
                a = np.array(a)
            grad = leaf._grad
            if grad is None:
                # an array that owns its memory is the adjoint's fresh result, held by no
                # one else: it becomes .grad without _detached_copy's copy (views are copied)
                leaf._grad = Tensor._make(a if a.flags.owndata else np.array(a), t)
                ids.add(id(a))
            elif grad._requires_grad:
                leaf._grad = grad + Tensor._make(a, t)
            elif _zeroed_and_private(grad, a):
                grad._data = a  # 0 + a: the fresh result becomes the buffer, no pass over it
                grad._version[0] += 1
                ids.add(id(a))
            else:
                np.add(grad._data, a, out=grad._data, casting="unsafe")
                grad._version[0] += 1
    for f in fns:  # _release
        f.saved.clear()
        f.freed = True
    return True
