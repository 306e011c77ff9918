"""The eager backward engine: tape -> forward IR -> adjoint IR -> run -> `.grad`.

1. Walk the nodes below the roots once (backward_walk.py): their leaves, the
   arrays they saved, and whether a custom Function, a hook, a retained grad or
   a value changed in place asks for more than the short way.
2. Walk the recorded instructions (the IR graph itself) into a forward
   `Function` and its structural key; differentiate it (`ir.autodiff.vjp`) and
   make every forward value the adjoint reads a parameter (`externalize`), so
   nothing is recomputed.  This lives in backward_plan.py, cached by the key:
   a training loop builds it once.
3. Run it on the saved arrays (interpreter or native code) and add the results
   into `.grad`; or, with `create_graph=True`, bind its instructions again
   (backward_replay.py) so they are recorded and can be differentiated once more.

`loss.backward()` on a plain walk (`_plain_backward`) and the general path
(`general_backward`: hooks, custom Functions, `inputs=`, `autograd.grad`) are
the same steps on the same walk; the short way skips the tensors per cotangent
and per result and the sinks that only the general cases need.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..ir import primitives as P
from ..ir.core import Instr, Param, Value, topo_sort
from ..runtime.execute import execute
from . import anomaly, graph_task
from .backward_plan import COTANGENT, AdjointPlan, plan_for, walk_tape
from .backward_native import record_adjoint
from .backward_replay import replay
from .backward_walk import NodeWalk, adjoint_inputs, walk_nodes
from .custom_function import link_tensor
from .dropped_gradients import edges_into, undefined_below
from .errors import at, user_loc
from .grad_mode import enable_grad, no_grad
from .gradient_edge import resolve_edges
from .tape import (AccumulateGrad, NodeHookHandle, NodePostHook, NodePreHook, Saved, bind,
                   grad_node)
from .tensor import Tensor


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
               walk: NodeWalk | None = None) -> list[Tensor | None]:
    """Gradients of sum(outputs * grads) w.r.t. each value (None where unreachable).

    Custom Functions cut the IR graph: their outputs are opaque parameters.  One
    pass reaches them; each custom node (latest first, so its output gradients
    are complete) runs the user's backward and a further pass starts from its
    inputs.  Gradients are linear, so the passes' results add up.  `walk` is the walk
    of the nodes below `outputs`, when the caller has it already.
    """
    if walk is None:
        walk = _walk(outputs)
    if not walk.customs:
        return _one_pass(outputs, grads, wrt_values, retain_graph, create_graph, walk)
    customs = sorted(walk.customs, key=lambda f: -f.order)
    opaque = [p for f in customs for p in f.out_values]
    targets = list(wrt_values) + opaque
    total = _one_pass(outputs, grads, targets, True, create_graph, walk)
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
        walk.release()
    return total[:len(wrt_values)]


def _index_of(values: list[Value], v: Value) -> int:
    return next(i for i, x in enumerate(values) if x is v)


def _walk(roots: list[Tensor]) -> NodeWalk:
    return walk_nodes([t._grad_fn for t in roots if t._grad_fn is not None])


def _one_pass(outputs: list[Tensor], grads: list[Tensor], wrt_values: list[Value],
              retain_graph: bool, create_graph: bool,
              walk: NodeWalk | None = None) -> list[Tensor | None]:
    """One adjoint run over the IR graph below `outputs` (`walk`: its nodes, if known)."""
    if walk is None:
        walk = _walk(outputs)
    graph = walk_tape([t._graph_value() for t in outputs], walk.blocks)
    numbers = [graph.number(v) for v in wrt_values]
    reachable = [k is not None for k in numbers]
    wrt_index = [k for k in numbers if k is not None]
    result: list[Tensor | None] = [None] * len(wrt_values)
    if wrt_index:
        plan = plan_for(graph, wrt_index)
        for t in outputs:
            _record_leaf_root(t, walk)
        traced = any(g._data is None for g in grads)  # vmap(torch.func.vjp's vjp_fn)
        if traced:  # the adjoint, bound on the traced cotangents, joins the trace
            computed = replay(plan, graph, grads, walk)
        elif create_graph:
            if anomaly.enabled:  # detect_anomaly: the NaN check runs on the arrays first
                arrays = adjoint_inputs(plan, graph, [g._data for g in grads], walk)
                anomaly.run_checked(plan, graph, wrt_index, arrays, walk.fns)
                computed = replay(plan, graph, grads, walk)
            else:  # one call, one node (backward_native); the replay where it cannot
                computed = record_adjoint(plan, graph, grads, walk) \
                    or replay(plan, graph, grads, walk)
        else:
            arrays = adjoint_inputs(plan, graph, [g._data for g in grads], walk)
            if anomaly.enabled:  # detect_anomaly: each instruction is checked for NaN
                outs = anomaly.run_checked(plan, graph, wrt_index, arrays, walk.fns)
            else:
                outs = execute(plan.fn, arrays)
            computed = _wrap_results(plan, arrays, outs, grads)
        it = iter(computed)
        result = [next(it) if ok else None for ok in reachable]
    if not retain_graph:
        walk.release()
    return result


def _wrap_results(plan: AdjointPlan, inputs: list[np.ndarray], outs: list[np.ndarray],
                  grads: list[Tensor] = ()) -> list[Tensor]:
    """The adjoint's results as tensors.  One IR value is one tensor, as PyTorch hands one
    gradient tensor to every input an add passes it to (a hook that writes into it reaches
    the others); a cotangent passed through unchanged is the caller's tensor itself, as
    PyTorch's.  Any other input array (a saved value) is copied, never aliased."""
    input_ids = {id(a) for a in inputs}
    position = {id(p): k for k, p in enumerate(plan.fn.params)}
    made: dict[int, Tensor] = {}
    out = []
    for a, t, r in zip(outs, plan.result_types, plan.fn.results):
        tensor = made.get(id(r))
        if tensor is None:
            k = position.get(id(r))
            kind, i, _ = plan.sources[k] if k is not None else (None, None, None)
            if kind is COTANGENT and i < len(grads) and grads[i]._type == t:
                tensor = grads[i]
            else:
                tensor = Tensor._make(np.array(a) if id(a) in input_ids else a, t)
            made[id(r)] = tensor
        out.append(tensor)
    return out


def _record_leaf_root(t: Tensor, walk: NodeWalk) -> None:
    """A root that is a parameter of the IR graph (a leaf, a custom Function's output, or
    the input of a custom Function where a further pass starts) may have been saved by
    no operation: it stands for itself.  A custom Function's input stand-in has no data,
    but then the adjoint is the identity on the cotangent and never reads it."""
    v = t._graph_value()
    if t._grad_fn is not None and not isinstance(v, Param):
        return  # an instruction's value: its producer saved it, unless backward freed it
    if id(v) not in walk.saved:
        data = t._data if t._data is not None else np.zeros(t._type.shape, t.dtype.np)
        walk.add_root(v, Saved(v, data, t._version))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(sum(tensors * grad_tensors))/d(leaf) into every leaf's `.grad`."""
    if grad_tensors is None and not retain_graph and not create_graph and inputs is None \
            and type(tensors) is list and len(tensors) == 1 and _plain_backward(tensors[0]):
        return
    general_backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """`Tensor.backward`: accumulate the gradients of this tensor into the leaves' `.grad`
    (or `inputs`': tensors or GradientEdges)."""
    if inputs is not None:
        inputs = resolve_edges(inputs)[0]
    if gradient is None and not retain_graph and not create_graph and inputs is None \
            and _plain_backward(self):  # loss.backward(): the common case
        return
    general_backward([self], None if gradient is None else [gradient], retain_graph,
                     create_graph, inputs)


# late registration: tensor.py sits below this module and cannot import it
Tensor.backward = tensor_backward


def _plain_backward(root) -> bool:
    """`root.backward()` for a scalar root made by an operation.  False, with nothing
    done, for any other root.

    One walk of its nodes; a plain graph (no custom Function, hook, retained grad or
    stale value) then takes the general path's steps (walk the tape, run the cached
    adjoint on the saved arrays, accumulate into `.grad`, release) without the
    tensors per cotangent and per result, the sinks and the copies that only hooks,
    custom Functions or create_graph need.  Any other graph, or a leaf with a hook,
    goes the general way with the same walk, which gives the results and the errors."""
    fn = root._grad_fn if type(root) is Tensor else None
    if fn is None or fn.custom or root._data is None or root._data.size != 1:
        return False
    walk = walk_nodes([fn])
    if walk.plain and not anomaly.enabled:  # detect_anomaly checks each instruction
        targets, numbers = [], []  # the leaves, their numbers in the graph
        graph = walk_tape([root._value], walk.blocks)
        for n in walk.leaves:
            leaf = n._variable()  # (the weak reference itself: no property call)
            if leaf is None:
                continue
            if leaf._hooks:
                break  # the general path runs it
            k = graph.number(n.param)
            if k is not None:
                targets.append(leaf)
                numbers.append(k)
        else:
            if targets:
                plan = plan_for(graph, numbers)
                rt = root._type  # the implicit gradient: ones (np.array: 0-d, no np.ones)
                ones = np.ones(rt.shape, rt.dtype.np) if rt.shape else np.array(1, rt.dtype.np)
                arrays = adjoint_inputs(plan, graph, [ones], walk)
                outs = execute(plan.fn, arrays)
                ids = set(map(id, arrays))
                for leaf, a, t in zip(targets, outs, plan.result_types):
                    if id(a) in ids:  # never an input array, nor one a leaf took already
                        a = np.array(a)
                    # an array that owns its memory is the adjoint's fresh result, held by
                    # no one else (a view of one is not: it is copied)
                    if accumulate(leaf, a, t, a.flags.owndata):
                        ids.add(id(a))
            walk.release()
            return True
    general_backward([root], None, None, False, None, walk)
    return True


def general_backward(tensors, grad_tensors, retain_graph, create_graph, inputs,
                     walk: NodeWalk | None = None) -> None:
    """backward in general (`walk`: the nodes below `tensors`, if the caller walked them),
    as one graph task (the backward call hooks see)."""
    graph_task.run(_general_backward, tensors, grad_tensors, retain_graph, create_graph,
                   inputs, walk)


def _general_backward(tensors, grad_tensors, retain_graph, create_graph, inputs, walk):
    outputs, grads = _prepare(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if walk is None:
        walk = _walk(outputs)
    targets = _targets(outputs, inputs, walk)
    values = [v for v, _ in targets]
    results = _with_hooks(outputs, grads, values, walk, retain_graph, create_graph)
    for (v, sink), g in zip(targets, results):
        if g is not None:
            sink(g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False):
    """The gradients of `outputs` w.r.t. `inputs`, returned (not accumulated), as one
    graph task."""
    return graph_task.run(_grad, outputs, inputs, grad_outputs, retain_graph, create_graph,
                          allow_unused, materialize_grads, is_grad=True)


def _grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
          materialize_grads):
    outputs, grads = _prepare(outputs, grad_outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    values = [t._graph_value() for t in inputs]
    results = _with_hooks(outputs, grads, values, _walk(outputs), retain_graph, create_graph)
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


def _targets(outputs: list[Tensor], inputs, walk: NodeWalk) -> list[tuple[Value, callable]]:
    """(value, sink) pairs: where gradients go (leaf .grad, retained non-leaf .grad)."""
    targets = []
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for t in inputs:
            targets.append((t._graph_value(), _grad_sink(t)))
        return targets
    seen = set()
    for f in walk.fns:  # in the walk's order, each node's leaves, then its retained grads
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
        if create_graph or t._grad is not None and t._grad._requires_grad:
            t._grad = _copied_on_tape(g) if t._grad is None else t._grad + g
        else:  # g may be a hook's or a custom backward's tensor: never taken as the buffer
            accumulate(t, g._data, g._type, False)
        for hook in list(t._hooks or ()):
            if type(hook) is NodePostHook:  # AccumulateGrad's post-hooks: after the add
                hook.hook((), (g,))
            elif type(hook) is PostAccumulateGradHook:
                hook.hook(t)
    return sink


class PostAccumulateGradHook:
    """`hook(tensor)` once the leaf's `.grad` holds this backward's gradient (an optimizer
    stepping each parameter as soon as its gradient is ready)."""

    __slots__ = ("hook",)

    def __init__(self, hook):
        self.hook = hook


_AFTER_ACCUMULATION = (NodePostHook, PostAccumulateGradHook)


def register_post_accumulate_grad_hook(self: Tensor, hook):
    """Tensor.register_post_accumulate_grad_hook: leaves only, as in PyTorch."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self._grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                           "tensors")
    if self._hooks is None:
        self._hooks = []
    entry = PostAccumulateGradHook(hook)
    self._hooks.append(entry)
    return NodeHookHandle(self._hooks, entry)


Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook


def _copied_on_tape(g: Tensor) -> Tensor:
    """A first gradient kept on the graph goes into `.grad` as a copy recorded as
    PyTorch's AccumulateGrad records it (a strided copy: grad_fn CopyBackwards), so a
    later in-place change to either tensor does not reach the other."""
    if not g._requires_grad:
        return g
    with grad_node("CopyBackwards", g):
        return bind(P.convert, g, dtype=g.dtype)


def _run_hooks(hooks: list, g: Tensor) -> Tensor:
    """Each hook sees the previous one's result; returning None keeps the gradient.
    Tensor hooks run first, then the node's pre-hooks, whatever the order they were
    registered in (PyTorch's order)."""
    for pre in (False, True):
        for hook in list(hooks):
            if type(hook) in _AFTER_ACCUMULATION or (type(hook) is NodePreHook) != pre:
                continue  # a node post-hook: _with_hooks calls it with the input gradients
            new = hook(g)
            if new is not None:
                g = new
    return g


def _with_hooks(outputs, grads, values, walk: NodeWalk, retain_graph, create_graph):
    """Gradients for `values`, applying hooks registered on non-leaf tensors (of the
    nodes the walk found below `outputs`).

    Gradients are linear in the output cotangents, so a hook that changes the
    gradient g of a value h to g' is honoured by adding the gradient of
    <h, g' - g> to everything below h.  Hooked values are handled outputs-first.
    """
    hooked = []
    for f in walk.hooked:
        for key, hooks in f.hooks.items():
            if hooks:
                v = next((i for i in f.instrs if id(i) == key), None)
                if v is not None:
                    hooked.append((v, hooks))
    if not hooked:
        return _gradients(outputs, grads, values, retain_graph, create_graph, walk)
    order = {id(x): k for k, x in enumerate(topo_sort([t._graph_value() for t in outputs]))}
    hooked = [(v, h) for v, h in hooked if id(v) in order]
    hooked.sort(key=lambda vh: -order[id(vh[0])])
    hvals = [v for v, _ in hooked]
    allv = values + hvals
    res = _gradients(outputs, grads, allv, True, create_graph, walk)
    dropped: set = set()  # (id(node), k): a post-hook's None for the node's k-th input
    for k, (h, hooks) in enumerate(hooked):
        g = res[len(values) + k]
        if g is None:
            continue
        # the hooks get a tensor of their own: one that writes into it and returns it (or
        # None) changed the gradient too, which the comparison with g finds
        mine = Tensor._make(np.array(g._data), g._type, g._requires_grad)
        new = _run_hooks(hooks, mine)
        if not (new is mine and np.array_equal(mine._data, g._data, equal_nan=True)):
            res[len(values) + k] = new
            delta = new - g
            below = _gradients_from(h, walk, delta=delta, values=allv,
                                    create_graph=create_graph)
            _add_into(res, below, skip=len(values) + k)
        post = [p for p in hooks if type(p) is NodePostHook]
        if post:
            _run_post_hooks(post, h, new, walk, allv, res, create_graph, dropped)
    if dropped:
        undefined_below(outputs, walk, dropped, allv, res)
    if not retain_graph:
        walk.release()
    return res[:len(values)]


def _add_into(res: list, more: list, skip: int = -1) -> None:
    for j, d in enumerate(more):
        if d is not None and j != skip:
            res[j] = d if res[j] is None else res[j] + d


def _run_post_hooks(post: list, h: Instr, g_out: Tensor, walk: NodeWalk, allv: list,
                    res: list, create_graph: bool, dropped: set) -> None:
    """Node post-hooks of h's node: hook(grad_inputs, grad_outputs) may give new input
    gradients; the difference flows on below each input, as for a tensor hook.  A None
    is noted in `dropped`: what only that edge reached gets no gradient at all."""
    node = walk.producer[id(h)]
    operands = [op for i in node.instrs for op in i.operands]
    inputs = []  # the value of each input (next_functions' order; None: needs no grad)
    for n in node.next_fns:
        if n is None:
            inputs.append(None)
        elif isinstance(n, AccumulateGrad):
            inputs.append(n.param)
        else:
            made = {id(i) for i in n.instrs}
            inputs.append(next((op for op in operands if id(op) in made), None))
    root = Tensor._make(np.zeros(h.type.shape, h.type.dtype.np), h.type, requires_grad=True,
                        grad_fn=node, value=h)
    known = [v for v in inputs if v is not None]
    it = iter(_gradients([root], [g_out], known, True, create_graph))
    old = [None if v is None else next(it) for v in inputs]
    for hook in post:
        new = hook.hook(tuple(old), (g_out,))
        if new is None:
            continue
        if len(new) != len(inputs):
            raise RuntimeError(f"hook '{getattr(hook.hook, '__name__', hook.hook)}' has "
                               f"returned an incorrect number of values (got {len(new)}, but "
                               f"expected {len(inputs)})")
        for k, (v, before, after) in enumerate(zip(inputs, old, new)):
            if after is None:
                dropped.add((id(node), k))
            else:
                dropped.discard((id(node), k))
            if v is None or after is before or after is None and before is None:
                continue
            # None drops the input's gradient (undefined_below: None where nothing else
            # reaches, as PyTorch's undefined gradients)
            delta = -before if after is None else after if before is None else after - before
            if isinstance(v, Instr) and id(v) in walk.producer:
                _add_into(res, _gradients_from(v, walk, delta=delta, values=allv,
                                               create_graph=create_graph))
            elif after is None and edges_into(walk, v) == 1:
                # the hook dropped the only gradient this leaf gets: it has none (None)
                res[:] = [None if w is v else r for w, r in zip(allv, res)]
            else:  # a leaf: the difference is its gradient's
                _add_into(res, [delta if w is v else None for w in allv])
        old = list(new)


def _gradients_from(h: Instr, walk: NodeWalk, delta: Tensor, values, create_graph):
    """Gradients of <h, delta> w.r.t. `values` (None where h does not depend on them)."""
    producer = walk.producer[id(h)]
    root = Tensor._make(np.zeros(h.type.shape, h.type.dtype.np), h.type, requires_grad=True,
                        grad_fn=producer, value=h)
    return _gradients([root], [delta], values, True, create_graph)


# ---------------------------------------------------------------- into .grad


def accumulate(leaf: Tensor, a: np.ndarray, type_, fresh: bool) -> bool:
    """Add the gradient `a` (of type `type_`) into `leaf.grad`.  `fresh`: no one else holds
    `a`, so `.grad` may take it as its buffer.  Whether it did."""
    grad = leaf._grad
    if grad is None:
        leaf._grad = Tensor._make(a if fresh else np.array(a, copy=True), type_)
        return fresh
    if grad._requires_grad:
        leaf._grad = grad + Tensor._make(a, type_)
    elif fresh and _replace_zeroed(grad, a):
        return True
    else:
        np.add(grad._data, a, out=grad._data, casting="unsafe")
        grad._version[0] += 1
    return False


def _replace_zeroed(grad: Tensor, a: np.ndarray) -> bool:
    """0 + a: make the fresh `a` the buffer of a `.grad` that zero_() cleared (the tutorial's
    `w.grad.zero_()`), when no one else can see the old buffer.  Saves a read-add-write
    pass over the gradient, whose fresh half from the other BLAS thread is the expensive
    part.

    Ownership is decided by the old buffer's lifetime, not by counting references: the
    tensor lets go of it, and if a weak reference then finds it gone, nothing else held
    it or a view of it (a view holds its base; a `.numpy()`, a saved record or a `.data`
    tensor holds the array).  If it is still alive, the tensor takes it back and the
    gradient is added into it, where those holders see it."""
    if getattr(grad, "_zeroed", None) != grad._version[0] or grad._base is not None:
        return False  # written since zero_(), or a view of another tensor's buffer
    old = grad._data
    # a buffer that does not own its memory shares it with something (a user's array)
    if not (old.flags.owndata and a.dtype == old.dtype and a.shape == old.shape
            and a.flags.c_contiguous):
        return False
    alive = weakref.ref(old)
    grad._data = a
    del old
    old = alive()
    if old is None:
        grad._version[0] += 1
        return True
    grad._data = old  # someone holds it: add into it instead
    return False
