"""Random programs with nested regions (scan, fori_loop, while_loop, cond), for
test_fuzz_regions.py.

`region_program(draw)` writes a random function as Python source over tg.lax, e.g.

    def f(x0, x1):
        v2 = x0.sin()
        def s3(c, x):
            c3_0, = c
            v4 = c3_0 @ x1
            def t5(a0):
                v6 = a0.tanh()
                return (a0 * 0.5 + (v6).tanh(),)
            ...
            return (c3_0 * 0.5 + (v4).tanh(),), (v4,)
        (v7,), (v8,) = tg.lax.scan(s3, (v2,), x0, reverse=True)
        return v8

Bodies nest (up to `depth` levels), close over every value in scope (outer values,
enclosing regions' parameters) and hold elementwise ops, reductions, matmuls and
indexing, constant or by the loop counter.  Carries stay bounded (`c * 0.5 +
tanh(...)`), so long loops neither overflow nor turn the finite differences
meaningless.  One dtype per program (float64 mostly: the gradients are checked
against float64 finite differences).  A `while_loop` runs a data-dependent number
of steps below a static cap; with `faults`, a body may index with its counter past
the end of a buffer, which every mode must report as an IndexError.
"""
from __future__ import annotations

import numpy as np

UNARY = ["{a}.sin()", "{a}.cos()", "{a}.tanh()", "{a}.sigmoid()", "({a} * 0.5).exp()",
         "({a} * {a} + 1.0).log()", "({a} * {a} + 0.25).sqrt()", "{a} * 1.5 - 0.25",
         "-{a}", "{a} * {a}", "1.0 / ({a} * {a} + 1.0)"]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / ({b} * {b} + 1.0)",
          "tg.maximum({a}, {b})", "tg.where({a} > {b}, {a}, {b} * 2.0)"]


def _bcast(s, t):
    try:
        return tuple(np.broadcast_shapes(s, t))
    except ValueError:
        return None


def _fits(small, big) -> bool:
    """`small` broadcasts to exactly `big`."""
    return _bcast(small, big) == tuple(big)


class _Writer:
    """The program being drawn: its inputs, lines, and a counter for fresh names."""

    def __init__(self, draw, dtype: str, faults: bool):
        self.draw, self.dtype, self.faults = draw, dtype, faults
        self.inputs: list = []  # (dtype, shape)
        self.lines: list[str] = []
        self.count = 0
        self.kinds: set[str] = set()  # which regions the program holds

    def fresh(self, prefix: str = "v") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def new_input(self, shape, scope) -> tuple:
        name = f"x{len(self.inputs)}"
        self.inputs.append((self.dtype, tuple(shape)))
        value = (name, tuple(shape))
        scope["roots"].append(value)  # a parameter of f: in every scope
        for s in scope["chain"]:
            s["values"].append(value)
        return value


def _st():
    from hypothesis import strategies as st
    return st


def _scope(values, counters=(), parent=None):
    s = {"values": list(values), "counters": list(counters), "live": []}
    s["roots"] = parent["roots"] if parent else []
    s["chain"] = (parent["chain"] if parent else []) + [s]
    return s


def _fit(w: str, wshape, target, anchor: str) -> str:
    """An expression of shape `target`: `anchor * 0.5 + tanh(w)` (w fits into target),
    else w's sum."""
    inner = w if _fits(wshape, target) else f"{w}.sum()"
    return f"{anchor} * 0.5 + ({inner}).tanh()"


def _statement(wr: _Writer, scope, depth: int, ind: str) -> None:
    st, draw = _st(), wr.draw
    values = scope["values"]
    kinds = ["unary", "unary", "binary", "binary", "reduce", "matmul", "index", "view"]
    if scope["counters"]:
        kinds += ["counter", "counter_index", "counter_index"]
    if depth > 0:
        kinds += ["scan", "fori", "while", "cond"]
    kind = draw(st.sampled_from(kinds))
    name, shape = values[-1] if draw(st.booleans()) else draw(st.sampled_from(values))

    def emit(expr, out_shape):
        v = wr.fresh()
        wr.lines.append(f"{ind}{v} = {expr}")
        values.append((v, tuple(out_shape)))

    if kind == "unary":
        emit(draw(st.sampled_from(UNARY)).format(a=name), shape)
    elif kind == "binary":
        partners = [v for v in values if _bcast(shape, v[1]) is not None]
        b = draw(st.sampled_from(partners))
        emit(draw(st.sampled_from(BINARY)).format(a=name, b=b[0]), _bcast(shape, b[1]))
    elif kind == "reduce" and shape:
        axis = draw(st.integers(0, len(shape) - 1))
        op = draw(st.sampled_from(["sum", "mean", "amax"] if shape[axis] else ["sum"]))
        emit(f"{name}.{op}({axis})", shape[:axis] + shape[axis + 1:])
    elif kind == "reduce":
        emit(f"{name}.sum()", ())
    elif kind == "matmul" and shape:
        m = draw(st.integers(1, 3))
        w = wr.new_input((shape[-1], m) if len(shape) > 1 or draw(st.booleans())
                         else (shape[-1],), scope)
        emit(f"{name} @ {w[0]}", shape[:-1] + w[1][1:])
    elif kind == "index" and shape and shape[0]:
        idx = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=3))
        how = draw(st.sampled_from(["getitem", "select", "index_select"]))
        if how == "getitem":
            emit(f"{name}[{idx}]", (len(idx),) + shape[1:])
        elif how == "select":
            emit(f"{name}[{idx[0]}]", shape[1:])
        else:
            emit(f"{name}.index_select(0, tg.tensor({idx}))", (len(idx),) + shape[1:])
    elif kind == "view" and len(shape) >= 2 and draw(st.booleans()):  # strided views
        emit(f"{name}.transpose(0, {len(shape) - 1})",
             (shape[-1],) + shape[1:-1] + (shape[0],))
    elif kind == "view" and shape and shape[0] >= 2:
        start, step = draw(st.integers(1, shape[0] - 1)), draw(st.integers(1, 2))
        emit(f"{name}[{start}::{step}]", (len(range(start, shape[0], step)),) + shape[1:])
    elif kind == "view":
        emit(f"{name}.reshape(-1)", (int(np.prod(shape)),))
    elif kind == "counter":
        k, _ = draw(st.sampled_from(scope["counters"]))
        cast = "double" if wr.dtype == "f64" else "float"
        emit(f"{name} * ({k}.{cast}() * 0.25 + 0.5)", shape)
    elif kind == "counter_index":
        _counter_index(wr, scope, emit, ind)
    elif kind in ("scan", "fori", "while", "cond"):
        {"scan": _scan, "fori": _fori, "while": _while, "cond": _cond}[kind](
            wr, scope, depth, ind)
    else:
        emit(f"{name} * 0.75", shape)


def _counter_index(wr: _Writer, scope, emit, ind: str) -> None:
    """`a[k]` (a read, or a write) with a loop counter k: in range by the loop's bounds,
    or (faults) not."""
    st, draw = _st(), wr.draw
    k, bound = draw(st.sampled_from(scope["counters"]))  # 0 <= k < bound
    # (no zero sizes: reading no element, native code checks no index, as the eager
    # ops do; an index past an empty axis is an error eagerly only)
    full = [v for v in scope["values"] if v[1] and all(v[1])]
    fits = [v for v in full if v[1][0] >= bound]
    if wr.faults and draw(st.integers(0, 3)) == 0:
        fits = [v for v in full if v[1][0] < bound] or fits
    if not fits:
        if draw(st.booleans()):  # a fresh input long enough
            shape = (bound,) + tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
            fits = [wr.new_input(shape, scope)]
        else:
            return
    name, shape = draw(st.sampled_from(fits))
    how = draw(st.sampled_from(["getitem", "index_select", "reversed", "setitem",
                                "index_add"]))
    if how == "getitem":
        emit(f"{name}[{k}]", shape[1:])
    elif how == "index_select":
        emit(f"{name}.index_select(0, {k}.reshape(1))", (1,) + shape[1:])
    elif how == "reversed":  # counted from the end: in range exactly when k is
        emit(f"{name}[{shape[0] - 1} - {k}]", shape[1:])
    elif how == "setitem":  # a write through the counter
        tmp = wr.fresh("w")
        wr.lines.append(f"{ind}{tmp} = {name} * 1.0")
        wr.lines.append(f"{ind}{tmp}[{k}] = {name}.sum(0) * 0.5 + 0.25")
        emit(tmp, shape)
    else:
        emit(f"{name}.index_add(0, {k}.reshape(1), {name}.sum(0, keepdim=True) * 0.5)",
             shape)
    scope["live"].append(scope["values"][-1][0])


def _carries(wr: _Writer, scope, most: int = 2):
    st, draw = _st(), wr.draw
    return draw(st.lists(st.sampled_from(scope["values"]), min_size=1, max_size=most))


def _body(wr: _Writer, scope, depth: int, ind: str) -> None:
    st = _st()
    for _ in range(wr.draw(st.integers(1, 4))):
        _statement(wr, scope, depth, ind)


def _new_carry(wr: _Writer, body_scope, params) -> list[str]:
    """One expression per carry parameter, of its shape, from the body's values."""
    st, draw = _st(), wr.draw
    out = []
    for p, shape in params:
        mine = body_scope["values"][len(body_scope["values"]) - body_scope["new"]:]
        w, wshape = draw(st.sampled_from(mine or body_scope["values"]))
        out.append(_fit(w, wshape, shape, p))
    out[0] += _reading(body_scope["live"])
    return out


def _reading(live: list[str]) -> str:
    """A term that makes an expression read every value in `live` (the results of
    regions and of counter indexing: dead, they would be removed from compiled code,
    and with them the faults the eager program raises)."""
    if not live:
        return ""
    return " + 0.125 * (" + " + ".join(f"{v}.sum()" for v in live) + ").tanh()"


def _open(wr, scope, params, counters=()):
    body = _scope(scope["values"] + list(params), counters, scope)
    body["start"] = len(body["values"])
    return body


def _mark(body):
    body["new"] = len(body["values"]) - body["start"]


def _tuple(names) -> str:
    return "(" + "".join(f"{n}, " for n in names) + ")"


def _scan(wr: _Writer, scope, depth: int, ind: str) -> None:
    st, draw = _st(), wr.draw
    wr.kinds.add("scan")
    fn = wr.fresh("s")
    init = _carries(wr, scope)
    cparams = [(f"c{fn[1:]}_{j}", shape) for j, (_, shape) in enumerate(init)]
    lead = [v for v in scope["values"] if v[1]]
    use_xs = lead and draw(st.integers(0, 3)) > 0
    counters = []
    full = [v for v in scope["values"] if v[1] and all(v[1])]
    if use_xs and full and draw(st.integers(0, 3)) == 0:  # over indices into a value
        n = draw(st.sampled_from(full))[1][0]
        top = n + 2 if wr.faults else n - 1
        idx = draw(st.lists(st.integers(0, top), min_size=0, max_size=5))
        xs, length = (f"tg.tensor({idx}, dtype=tg.int64)", (len(idx),)), len(idx)
        counters = [(f"e{fn[1:]}", n)]
        params = cparams
    elif use_xs:
        xs = draw(st.sampled_from(lead))
        if draw(st.integers(0, 4)) == 0:  # a fresh input to scan over (length 0 sometimes)
            xs = wr.new_input((draw(st.integers(0, 4)),) + xs[1][1:], scope)
        length = xs[1][0]
        params = cparams + [(f"e{fn[1:]}", xs[1][1:])]
    else:
        length = draw(st.integers(0, 5))
        params = cparams
    body = _open(wr, scope, params, counters)
    slice_name = f"e{fn[1:]}" if use_xs else "_"
    wr.lines.append(f"{ind}def {fn}(c, {slice_name}):")
    wr.lines.append(f"{ind}    {', '.join(p for p, _ in cparams)}, = c")
    _body(wr, body, depth - 1, ind + "    ")
    _mark(body)
    new = _new_carry(wr, body, cparams)
    mine = body["values"][body["start"]:] or body["values"]
    ys = draw(st.lists(st.sampled_from(mine), max_size=2))
    y = _tuple(n for n, _ in ys) if ys else "None"
    wr.lines.append(f"{ind}    return {_tuple(new)}, {y}")
    outs = [wr.fresh() for _ in init]
    yvals = [wr.fresh() for _ in ys]
    args = f"{_tuple(n for n, _ in init)}, {xs[0] if use_xs else 'None'}"
    if not use_xs or draw(st.booleans()):
        args += f", length={length}"
    if draw(st.booleans()):
        args += ", reverse=True"
    target = f"{_tuple(outs)}, {_tuple(yvals) if ys else '_'}"
    wr.lines.append(f"{ind}{target} = tg.lax.scan({fn}, {args})")
    scope["values"] += [(o, shape) for o, (_, shape) in zip(outs, init)]
    scope["values"] += [(v, (length,) + shape) for v, (_, shape) in zip(yvals, ys)]
    scope["live"] += outs + yvals


def _fori(wr: _Writer, scope, depth: int, ind: str) -> None:
    st, draw = _st(), wr.draw
    fn = wr.fresh("l")
    lo = draw(st.integers(0, 2))
    hi = lo + draw(st.integers(0, 4))
    dynamic = draw(st.integers(0, 3)) == 0  # tensor bounds: a while_loop
    wr.kinds.add("while" if dynamic else "scan")
    init = _carries(wr, scope)
    cparams = [(f"c{fn[1:]}_{j}", shape) for j, (_, shape) in enumerate(init)]
    counter = f"i{fn[1:]}"
    body = _open(wr, scope, cparams, [(counter, hi)])
    wr.lines.append(f"{ind}def {fn}({counter}, c):")
    wr.lines.append(f"{ind}    {', '.join(p for p, _ in cparams)}, = c")
    _body(wr, body, depth - 1, ind + "    ")
    _mark(body)
    wr.lines.append(f"{ind}    return {_tuple(_new_carry(wr, body, cparams))}")
    outs = [wr.fresh() for _ in init]
    bounds = f"tg.tensor({lo}), tg.tensor({hi})" if dynamic else f"{lo}, {hi}"
    wr.lines.append(f"{ind}{_tuple(outs)} = tg.lax.fori_loop({bounds}, {fn}, "
                    f"{_tuple(n for n, _ in init)})")
    scope["values"] += [(o, shape) for o, (_, shape) in zip(outs, init)]
    scope["live"] += outs


def _while(wr: _Writer, scope, depth: int, ind: str) -> None:
    """A loop whose trip count depends on the data, below a static cap."""
    st, draw = _st(), wr.draw
    wr.kinds.add("while")
    fn = wr.fresh("w")
    cap = draw(st.integers(0, 5))
    limit = draw(st.sampled_from([0.5, 2.0, 8.0, 1e9]))
    init = _carries(wr, scope)
    cparams = [(f"c{fn[1:]}_{j}", shape) for j, (_, shape) in enumerate(init)]
    counter = f"k{fn[1:]}"
    names = ", ".join([counter] + [p for p, _ in cparams])
    wr.lines.append(f"{ind}def {fn}_cond(s):")
    wr.lines.append(f"{ind}    {names} = s")
    wr.lines.append(f"{ind}    return tg.logical_and({counter} < {cap}, "
                    f"{cparams[0][0]}.abs().sum() < {limit})")
    body = _open(wr, scope, cparams, [(counter, cap)])
    wr.lines.append(f"{ind}def {fn}(s):")
    wr.lines.append(f"{ind}    {names} = s")
    _body(wr, body, depth - 1, ind + "    ")
    _mark(body)
    new = _new_carry(wr, body, cparams)
    wr.lines.append(f"{ind}    return ({counter} + 1, {', '.join(new)})")
    outs = [wr.fresh() for _ in init]
    wr.lines.append(f"{ind}_, {', '.join(outs)} = tg.lax.while_loop({fn}_cond, {fn}, "
                    f"(tg.tensor(0), {', '.join(n for n, _ in init)}))")
    scope["values"] += [(o, shape) for o, (_, shape) in zip(outs, init)]
    scope["live"] += outs


def _cond(wr: _Writer, scope, depth: int, ind: str) -> None:
    st, draw = _st(), wr.draw
    wr.kinds.add("cond")
    fn = wr.fresh("b")
    p, pshape = draw(st.sampled_from(scope["values"]))
    pred = draw(st.sampled_from([f"{p}.sum() > 0", f"{p}.mean() < 0.25"]))
    guard = None  # (counter, a value): the predicate keeps `value[counter]` in range
    short = [v for v in scope["values"] if v[1] and all(v[1])]
    if scope["counters"] and short and draw(st.integers(0, 3)):
        k, _ = draw(st.sampled_from(scope["counters"]))
        guard = (k, draw(st.sampled_from(short)))
        pred = f"{k} < {guard[1][1][0]}"
    ops = _carries(wr, scope, 3)
    params = [(f"a{fn[1:]}_{j}", shape) for j, (_, shape) in enumerate(ops)]
    results = draw(st.lists(st.sampled_from(params), min_size=1, max_size=2))
    for branch in ("t", "f"):
        body = _open(wr, scope, params)
        wr.lines.append(f"{ind}def {fn}{branch}({', '.join(n for n, _ in params)}):")
        if guard and branch == "t":  # an index only the predicate keeps in range
            v = wr.fresh()
            wr.lines.append(f"{ind}    {v} = {guard[1][0]}[{guard[0]}]")
            body["values"].append((v, guard[1][1][1:]))
            body["live"].append(v)
        _body(wr, body, depth - 1, ind + "    ")
        _mark(body)
        wr.lines.append(f"{ind}    return {_tuple(_new_carry(wr, body, results))}")
    outs = [wr.fresh() for _ in results]
    operands = [n for n, _ in ops]
    call = (f"tg.cond({pred}, {fn}t, {fn}f, {_tuple(operands)})" if draw(st.booleans())
            else f"tg.lax.cond({pred}, {fn}t, {fn}f, {', '.join(operands)})")
    wr.lines.append(f"{ind}{_tuple(outs)} = {call}")
    scope["values"] += [(o, shape) for o, (_, shape) in zip(outs, results)]
    scope["live"] += outs


def region_program(draw, depth: int = 2, faults: bool = False):
    """(source, inputs, data seed, kinds): a random program with at least one region."""
    st = _st()
    wr = _Writer(draw, draw(st.sampled_from(["f64", "f64", "f64", "f32"])), faults)
    dims = st.integers(1, 4) if draw(st.integers(0, 9)) else st.integers(0, 3)
    top = _scope([])
    wr.new_input(tuple(draw(st.lists(dims, min_size=0, max_size=3))), top)
    for _ in range(draw(st.integers(0, 1))):
        wr.new_input(tuple(draw(st.lists(dims, min_size=1, max_size=2))), top)
    for _ in range(draw(st.integers(0, 2))):
        _statement(wr, top, 0, "    ")
    draw(st.sampled_from([_scan, _fori, _while, _cond]))(wr, top, depth, "    ")
    for _ in range(draw(st.integers(0, 2))):
        _statement(wr, top, depth, "    ")
    last = top["values"][-1][0]
    if top["live"]:
        wr.lines.append(f"    {wr.fresh()} = {last}{_reading(top['live'])}")
        last = f"v{wr.count}"
    params = ", ".join(f"x{i}" for i in range(len(wr.inputs)))
    source = f"def f({params}):\n" + "\n".join(wr.lines) + f"\n    return {last}\n"
    return source, wr.inputs, draw(st.integers(0, 2**31 - 1)), sorted(wr.kinds)
