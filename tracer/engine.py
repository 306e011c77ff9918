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
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

from ..ir import primitives as P
from ..ir.autodiff import residuals, vjp
from ..ir.core import Function, Instr, Param, Value, free_params, topo_sort
from ..ir.passes.externalize import externalize
from ..ir.printer import structural_hash
from ..runtime.execute import execute
from .errors import at, user_loc
from .grad_mode import enable_grad, no_grad
from .inline import apply_function
from .custom_function import CustomGradFn, link_tensor
from .tape import AccumulateGrad, GradFn, Saved, bind
from .tensor import Tensor

_SECOND_TIME = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


class _Plan:
    """A cached adjoint for one tape structure, and where each of its inputs comes from."""

    __slots__ = ("fn", "sources", "readers")

    def __init__(self, fn: Function, sources: list[tuple[str, int]], readers: list[list[int]]):
        self.fn = fn
        #: per parameter: ("param", i) forward parameter i, ("ct", k) cotangent of
        #: output k, ("instr", j) the value of forward instruction j
        self.sources = sources
        #: per parameter: the forward instructions whose VJP rules read it (body indices):
        #: their operations' saved copies are the ones that must be intact
        self.readers = readers


_plans: "OrderedDict[tuple, _Plan]" = OrderedDict()
_plans_lock = threading.Lock()
PLAN_CACHE_SIZE = 256


def _plan_for(fwd: Function, wrt_index: list[int]) -> _Plan:
    key = (structural_hash(fwd), tuple(wrt_index))
    with _plans_lock:
        plan = _plans.get(key)
        if plan is not None:
            _plans.move_to_end(key)
            return plan
    wrt = [_value_at(fwd, i) for i in wrt_index]
    adj = vjp(fwd, wrt, name="backward")
    n_fwd = len(fwd.params)
    body_ids = {id(i) for i in fwd.body}
    needed = []
    seen = set()
    for instr in adj.body:
        if id(instr) in body_ids:
            continue
        for op in instr.operands:
            if id(op) in body_ids and id(op) not in seen and op.operands:
                # forward values become inputs; constants (no operands) stay in the adjoint
                seen.add(id(op))
                needed.append(op)
    for r in adj.results:
        if id(r) in body_ids and id(r) not in seen and r.operands:
            seen.add(id(r))
            needed.append(r)
    fn, _ = externalize(adj, needed)
    index_of_instr = {id(i): j for j, i in enumerate(fwd.body)}
    index_of_param = {id(p): j for j, p in enumerate(fwd.params)}
    sources = []
    for k, p in enumerate(fn.params):
        if k < n_fwd:
            sources.append(("param", index_of_param[id(p)]))
        elif k < len(adj.params):
            sources.append(("ct", k - n_fwd))
        else:
            sources.append(("instr", index_of_instr[id(needed[k - len(adj.params)])]))
    reads = residuals(fwd, wrt)
    readers_of: dict[int, list[int]] = {}
    for j, instr in enumerate(fwd.body):
        for v in reads.get(id(instr), ()):
            readers_of.setdefault(id(v), []).append(j)
    readers = [readers_of.get(id(fn.params[k] if kind != "instr" else needed[k - len(adj.params)]), [])
               if kind != "ct" else [] for k, (kind, _) in enumerate(sources)]
    plan = _Plan(fn, sources, readers)
    with _plans_lock:
        _plans[key] = plan
        while len(_plans) > PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    return plan


def _value_at(fwd: Function, index: int) -> Value:
    """wrt values are numbered: parameters first, then body instructions."""
    n = len(fwd.params)
    return fwd.params[index] if index < n else fwd.body[index - n]


# ---------------------------------------------------------------- the graph


def _collect_fns(roots: Sequence[Tensor]) -> list[GradFn]:
    fns, seen = [], set()
    stack = [t._grad_fn for t in roots if t._grad_fn is not None]
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        fns.append(f)
        stack.extend(n for n in f.next_fns if isinstance(n, GradFn))
    return fns


def _saved_value(value: Value, fns: list[GradFn], records: dict[int, list[Saved]],
                 readers: list[GradFn]) -> np.ndarray:
    """The array `value` had when the operations whose gradients read it ran.

    Only the records of those operations matter (PyTorch's saved tensors): each
    must still hold the state it saw (or a copy of it), and all must agree.
    Otherwise the value was changed in place: PyTorch's error, naming the operation.
    """
    recs = records.get(id(value))
    if not recs:
        raise RuntimeError(_SECOND_TIME + _where(fns))
    reader_ids = {id(f) for f in readers}
    relevant = [rec for rec in recs if id(rec.fn) in reader_ids] or recs
    for rec in relevant:
        if rec.version_box[0] != rec.version or rec.version != relevant[0].version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: [{value.type}] is at version {rec.version_box[0]}; "
                f"expected version {rec.version} instead. The value was saved by "
                f"{rec.fn.name()}{at(rec.fn.loc)}.")
    return relevant[0].array


def _where(fns: list[GradFn]) -> str:
    loc = fns[0].loc if fns else None
    return f" (the graph was recorded at {loc.full()})" if loc is not None else ""


# ---------------------------------------------------------------- entry points


def _as_grad(g, out: Tensor, i: int) -> Tensor:
    if g is None:
        if out.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs"
                               + at(user_loc()))
        return Tensor._from_array(np.ones(out._type.shape, out.dtype.np))
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
               retain_graph: bool, create_graph: bool) -> list[Tensor | None]:
    """Gradients of sum(outputs * grads) w.r.t. each value (None where unreachable).

    Custom Functions cut the IR graph: their outputs are opaque parameters.  One
    pass reaches them; each custom node (latest first, so its output gradients
    are complete) runs the user's backward and a further pass starts from its
    inputs.  Gradients are linear, so the passes' results add up.
    """
    all_fns = _collect_fns(outputs)
    customs = sorted((f for f in all_fns if isinstance(f, CustomGradFn)), key=lambda f: -f.order)
    if not customs:
        return _one_pass(outputs, grads, wrt_values, retain_graph, create_graph)
    opaque = [p for f in customs for p in f.out_values]
    targets = list(wrt_values) + opaque
    total = _one_pass(outputs, grads, targets, True, create_graph)
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
              retain_graph: bool, create_graph: bool) -> list[Tensor | None]:
    """One adjoint run over the IR graph below `outputs`."""
    roots = [t._graph_value() for t in outputs]
    body = topo_sort(roots)
    params = free_params(roots)
    fwd = Function("forward", params, body, roots)
    index = {id(p): i for i, p in enumerate(params)}
    index.update({id(x): len(params) + j for j, x in enumerate(body)})
    reachable = [id(v) in index for v in wrt_values]
    wrt_index = [index[id(v)] for v, ok in zip(wrt_values, reachable) if ok]
    fns = _collect_fns(outputs)
    result: list[Tensor | None] = [None] * len(wrt_values)
    if wrt_index:
        plan = _plan_for(fwd, wrt_index)
        records: dict[int, list[Saved]] = {}
        for f in fns:
            for key, rec in f.saved.items():
                records.setdefault(key, []).append(rec)
        for t in outputs:
            _record_leaf_root(t, records)
        if create_graph:
            values = _bind_tensors(plan, fwd, grads, fns, records)
            with enable_grad():
                computed = _keep_dependence(plan, values, apply_function(plan.fn, values))
        else:
            arrays = _bind_arrays(plan, fwd, grads, fns, records)
            inputs = {id(a) for a in arrays}
            computed = [Tensor._from_array(np.array(a) if id(a) in inputs else a)
                        for a in execute(plan.fn, arrays)]
        it = iter(computed)
        result = [next(it) if ok else None for ok in reachable]
    if not retain_graph:
        _release(fns)
    return result


def _record_leaf_root(t: Tensor, records: dict[int, list[Saved]]) -> None:
    """A root that is a parameter of the IR graph (a leaf, a custom Function's output, or
    the input of a custom Function where a further pass starts) may have been saved by
    no operation: it stands for itself.  A custom Function's input stand-in has no data,
    but then the adjoint is the identity on the cotangent and never reads it."""
    v = t._graph_value()
    if t._grad_fn is not None and not isinstance(v, Param):
        return  # an instruction's value: its producer saved it, unless backward freed it
    if id(v) not in records:
        data = t._data if t._data is not None else np.zeros(t._type.shape, t.dtype.np)
        records[id(v)] = [Saved(v, data, t._version, None)]


def _keep_dependence(plan: _Plan, values: list[Tensor], computed: list[Tensor]) -> list[Tensor]:
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
    """A tensor requiring grad among the inputs `result` is computed from (any dtype path)."""
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
            stack.extend(v.operands)
    return None


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


def _producers(fns: list[GradFn]) -> dict[int, GradFn]:
    return {id(instr): f for f in fns for instr in f.instrs}


def _forward_values(plan: _Plan, fwd: Function, fns, records):
    """(kind, value, array) per adjoint parameter; cotangents give (kind, index, None)."""
    producer = _producers(fns)
    for (kind, i), readers in zip(plan.sources, plan.readers):
        if kind == "ct":
            yield kind, i, None
            continue
        v = fwd.params[i] if kind == "param" else fwd.body[i]
        reader_fns = [producer[id(fwd.body[j])] for j in readers if id(fwd.body[j]) in producer]
        yield kind, v, _saved_value(v, fns, records, reader_fns)


def _bind_arrays(plan, fwd, grads, fns, records) -> list[np.ndarray]:
    return [grads[v]._data if kind == "ct" else data
            for kind, v, data in _forward_values(plan, fwd, fns, records)]


def _bind_tensors(plan, fwd, grads, fns, records) -> list[Tensor]:
    """Tensors standing for the forward values, linked to their place on the tape."""
    producer = _producers(fns)
    out = []
    for kind, v, data in _forward_values(plan, fwd, fns, records):
        if kind == "ct":
            t = grads[v]
        elif isinstance(v, Instr):
            t = Tensor._make(data, v.type, requires_grad=True, grad_fn=producer[id(v)], value=v)
            t._version = records[id(v)][0].version_box
        else:
            accum = _leaf_accumulator(v, fns)
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
    outputs, grads = _prepare(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    targets = _targets(outputs, inputs)
    values = [v for v, _ in targets]
    results = _with_hooks(outputs, grads, values, targets, retain_graph, create_graph)
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
    results = _with_hooks(outputs, grads, values, None, retain_graph, create_graph)
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


def _targets(outputs: list[Tensor], inputs) -> list[tuple[Value, callable]]:
    """(value, sink) pairs: where gradients go (leaf .grad, retained non-leaf .grad)."""
    targets = []
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for t in inputs:
            targets.append((t._graph_value(), _grad_sink(t)))
        return targets
    seen = set()
    for f in _collect_fns(outputs):
        for n in f.next_fns:
            if isinstance(n, AccumulateGrad) and id(n) not in seen:
                seen.add(id(n))
                leaf = n.variable
                if leaf is not None:
                    targets.append((n.param, _grad_sink(leaf)))
        for key, ref in f.retained.items():
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


def _with_hooks(outputs, grads, values, targets, retain_graph, create_graph):
    """Gradients for `values`, applying hooks registered on non-leaf tensors.

    Gradients are linear in the output cotangents, so a hook that changes the
    gradient g of a value h to g' is honoured by adding the gradient of
    <h, g' - g> to everything below h.  Hooked values are handled outputs-first.
    """
    hooked = []
    for f in _collect_fns(outputs):
        for key, hooks in f.hooks.items():
            if hooks:
                v = next((i for i in f.instrs if id(i) == key), None)
                if v is not None:
                    hooked.append((v, hooks))
    if not hooked:
        return _gradients(outputs, grads, values, retain_graph, create_graph)
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
        _release(_collect_fns(outputs))
    return res[:len(values)]


def _gradients_from(h: Instr, fns_roots, delta: Tensor, values, create_graph):
    """Gradients of <h, delta> w.r.t. `values` (None where h does not depend on them)."""
    producer = next(f for f in _collect_fns(fns_roots) if any(i is h for i in f.instrs))
    root = Tensor._make(np.zeros(h.type.shape, h.type.dtype.np), h.type, requires_grad=True,
                        grad_fn=producer, value=h)
    return _gradients([root], [delta], values, True, create_graph)
