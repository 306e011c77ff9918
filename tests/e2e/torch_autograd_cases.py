"""Small programs whose printout must be PyTorch's: the torch.autograd surface of issue 15
closed on branch autogradrest (floor division's node, topk among ties,
register_multi_grad_hook, the profiler's API and table layout).

As torch_behaviour_cases.py (recorded_cases.py says how a case runs and where its
printout is recorded: data/torch_autograd.json).  An exception prints as its type and
whether PyTorch's key phrase is in its message.
"""
from __future__ import annotations

from recorded_cases import add_case

CASES: dict[str, str] = {}

PRELUDE = '''
def attempt(label, f, phrase=""):
    """Print f()'s result, or the exception's type and whether `phrase` is in it."""
    try:
        result = f()
    except Exception as e:
        result = f"{type(e).__name__} {phrase!r} in message: {phrase in str(e)}"
    print(label, result)

def masked(table):
    """The profiler's table with each time and percentage in a column a T of the same
    width, and the total (free width) a T."""
    import re
    table = re.sub(r"(Self CPU time total: )\\S+", r"\\1T", table)
    return re.sub(r"[0-9.]+(?:us|ms|s|%)|NaN", lambda m: " " * (len(m.group()) - 1) + "T", table)
'''


def case(name: str, source: str) -> None:
    add_case(CASES, name, source)


# ---- floor division of a float tensor that requires grad: a node whose backward raises
case("floor_divide_node", """
    x = torch.tensor([3.5, -2.25, 7.0], requires_grad=True)
    y = torch.tensor([2.0, 1.5, -3.0], requires_grad=True)
    for label, r in [("x // y", x // y), ("x // 2", x // 2), ("7 // x", 7 // x),
                     ("floor_divide", torch.floor_divide(x, y)), ("method", x.floor_divide(2.0))]:
        print(label, r, r.grad_fn.name(), r.requires_grad, r.is_leaf)
        print([type(n).__name__ if n is None else n.name() for n, _ in r.grad_fn.next_functions])
        attempt("backward", lambda: r.sum().backward(), "derivative for aten::floor_divide is not implemented")
    print(x.grad, y.grad)
    attempt("grad", lambda: torch.autograd.grad((x // y).sum(), x),
            "derivative for aten::floor_divide is not implemented")
    a = torch.tensor([5, -7]) // torch.tensor([2, 2])
    print(a, a.grad_fn)
    with torch.no_grad():
        print((x // y).grad_fn)
    z = (x * 2) // 3
    print(z.grad_fn.name(), z.grad_fn.next_functions[0][0].name())
    w = x.detach().clone().requires_grad_()
    attempt("in place on a leaf", lambda: w.floor_divide_(2), "a leaf Variable that requires grad")
    v = x * 1
    v //= 2
    print(v, v.grad_fn.name())
""")


# ---- topk among ties: which indices PyTorch's CPU kernel returns
case("topk_ties", """
    rows = [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
        [0.0, 3.0, 3.0, 0.0, 3.0, 0.0, 3.0, 3.0, 0.0],
        [5.0, 4.0, 4.0, 4.0, 3.0, 4.0, 5.0, 4.0],
        [1.0, float('nan'), 2.0, float('nan'), 2.0, 1.0],
        [-0.0, 0.0, -0.0, 0.0, 1.0, -1.0],
    ]
    for row in rows:
        x = torch.tensor(row)
        n = x.numel()
        for k in sorted({1, 2, n // 2, n - 1, n}):
            for largest in (True, False):
                for s in (True, False):
                    v, i = torch.topk(x, k, largest=largest, sorted=s)
                    print(len(row), k, largest, s, v.tolist(), i.tolist())
""")


case("topk_ties_2d_and_grad", """
    torch.manual_seed(0)
    x = torch.randint(0, 3, (4, 12)).double()
    for dim in (0, 1, -1):
        for k in (1, 3):
            for largest in (True, False):
                v, i = x.topk(k, dim=dim, largest=largest)
                print(dim, k, largest, i.tolist())
    big = torch.randint(0, 4, (200,)).float()
    for k in (1, 7, 50, 120, 199):
        for largest in (True, False):
            for s in (True, False):
                print(k, largest, s, torch.topk(big, k, largest=largest, sorted=s).indices.tolist())
    w = torch.tensor([1.0, 3.0, 3.0, 2.0, 3.0, 1.0], requires_grad=True)
    w.topk(2)[0].sum().backward()
    print(w.grad)
""")


# ---- torch.autograd.graph.register_multi_grad_hook
case("multi_grad_hook_all", """
    register_multi_grad_hook = torch.autograd.graph.register_multi_grad_hook
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    c = a * b
    d = a * b
    calls = []
    def fn(grads):
        calls.append([None if g is None else g.tolist() for g in grads])
        print("all:", [g is not None for g in grads], calls[-1])
    h = register_multi_grad_hook((a, b, c, d), fn)
    c.sum().backward(retain_graph=True)
    c.sum().backward(inputs=(a,), retain_graph=True)
    (c * d).sum().backward(retain_graph=True)
    attempt("grad", lambda: torch.autograd.grad((c + 2 * d).sum(), (a, b), retain_graph=True),
            "A leaf node was passed to _will_engine_execute_node")
    print(a.grad, b.grad, len(calls))
    h.remove()
    c.sum().backward(retain_graph=True)
    print(len(calls), type(h).__name__)
    inner = register_multi_grad_hook((c, d), lambda gs: print("inner:", gs))
    print(torch.autograd.grad((c + 2 * d).sum(), (a, b), retain_graph=True))
    print(torch.autograd.grad(c.sum(), b, retain_graph=True))
    inner.remove()
    e = a.exp()
    register_multi_grad_hook([e], lambda gs: print("one:", gs))
    (e * 2).sum().backward()
    attempt("no grad", lambda: register_multi_grad_hook([a, torch.ones(2)], print),
            "Expected gradient function to be set")
    attempt("mode", lambda: register_multi_grad_hook([a], print, mode="some"),
            "Expects mode to be one of")
""")


case("multi_grad_hook_any", """
    register_multi_grad_hook = torch.autograd.graph.register_multi_grad_hook
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = torch.tensor([3.0, 0.5], requires_grad=True)
    h1 = x * 2
    h2 = (h1 * y).sin()
    seen = []
    handle = register_multi_grad_hook((x, h1, h2, torch.ones(2)),
                                      lambda g: seen.append(g.tolist()), mode="any")
    out = (h2 * 3).sum()
    out.backward(retain_graph=True)
    print(seen)
    out.backward(retain_graph=True)
    print(seen)
    torch.autograd.grad(out, x, retain_graph=True)
    print(len(seen))
    handle.remove()
    out.backward()
    print(len(seen), x.grad, y.grad)
""")


# ---- the profiler: API, event names of tapegrad's operations, the table's layout
case("profiler_table_layout", """
    P = torch.autograd.profiler
    @P.record_function("decorated_step")
    def step():
        with P.record_function("inner"):
            pass
    with P.profile(record_shapes=True) as prof:
        with P.record_function("outer_block_with_a_longer_name"):
            step()
            step()
        with P.record_function("inner"):
            pass
    averages = prof.key_averages()
    print(type(averages).__name__, type(averages[0]).__name__, len(averages))
    print([(e.key, e.count) for e in averages])
    print(masked(averages.table(sort_by="count", row_limit=10)))
    print(masked(prof.key_averages(group_by_input_shape=True).table(sort_by="count", row_limit=2)))
    print(masked(averages.table(sort_by="count", row_limit=3, header="HEADER", max_name_column_width=20)))
    total = averages.table().splitlines()[-1]
    print(total.split(":")[0])
    outer = next(e for e in averages if e.key == "outer_block_with_a_longer_name")
    print(outer.cpu_time_total >= outer.self_cpu_time_total >= 0, outer.count)
    events = prof.function_events
    print([e.name for e in events])
    print([[c.name for c in e.cpu_children] for e in events])
    print([e.cpu_parent.name if e.cpu_parent is not None else None for e in events])
    print(len(P.profile().key_averages()))
    with P.profile(use_cuda=False, use_device=None, enabled=False) as off:
        (torch.ones(2) * 2).sum()
    print(type(off).__name__)
""")


case("profiler_operation_events", """
    P = torch.autograd.profiler
    x = torch.ones(3, 4, requires_grad=True)
    w = torch.ones(4, 2)
    with P.profile(record_shapes=True) as prof:
        y = x * 2
        z = torch.mul(y, y) + 1
        s = z.sum()
        t = torch.matmul(x, w).relu()
        u = torch.exp(t)
    counts = {e.key: e.count for e in prof.key_averages()}
    want = ["aten::mul", "aten::add", "aten::sum", "aten::matmul", "aten::relu", "aten::exp"]
    print([counts.get(k) for k in want])
    shaped = {(e.key, str(e.input_shapes)) for e in prof.key_averages(group_by_input_shape=True)}
    print(sorted(s for s in shaped if s[0] in ("aten::mul", "aten::matmul", "aten::exp")))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as p2:
        with torch.profiler.record_function("block"):
            (x * 3).sum()
    print(sorted(k for k in {e.key for e in p2.key_averages()} if k in ("block", "aten::mul", "aten::sum")))
    print(torch.profiler.ProfilerActivity.CPU.name, torch.profiler.ProfilerActivity.CUDA.name)
    sched = torch.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    print([sched(i).name for i in range(6)])
    traces = []
    with torch.profiler.profile(schedule=sched, on_trace_ready=lambda p: traces.append(
            (p.step_num, sorted({(e.key, e.count) for e in p.key_averages()
                                 if e.key in ("aten::mul", "ProfilerStep*")})))) as p3:
        for i in range(5):
            (x * float(i)).sum()
            p3.step()
    print(traces)
""")
