"""Small programs whose printout must be PyTorch's: the known gaps of issue 15 closed on
branch torchgaps (uint8 masks, sort/topk gradients, bitwise operators, rounded
division's graph, hooks returning None, repeat_interleave, the in-place unary methods).

As torch_behaviour_cases.py (recorded_cases.py says how a case runs and where its
printout is recorded: data/torch_gaps.json).  A case prints an exception's type and whether
PyTorch's key phrase is in its message, and a warning's category and key phrase, not
their whole wording.
"""
from __future__ import annotations

from recorded_cases import add_case

CASES: dict[str, str] = {}

PRELUDE = '''
import warnings
def attempt(label, f):
    """Print f()'s result and the warnings it gave, or the exception's type and phrase."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = f()
        except Exception as e:
            result = f"{type(e).__name__} masked_fill_={'only supports boolean masks' in str(e)}"
    kinds = sorted({(w.category.__name__, "uint8 is now deprecated" in str(w.message))
                    for w in caught})
    print(label, result, kinds)
'''


def case(name: str, source: str) -> None:
    add_case(CASES, name, source)


# ---- 1. a uint8 index is a boolean mask (with PyTorch's deprecation UserWarning)
case("uint8_mask_getitem", """
    x = torch.arange(6.).reshape(2, 3)
    m = torch.tensor([[1, 0, 2], [0, 1, 0]], dtype=torch.uint8)
    r = torch.tensor([1, 0], dtype=torch.uint8)
    attempt("2d", lambda: x[m])
    attempt("row", lambda: x[r])
    attempt("row, slice", lambda: x[r, 1:])
    attempt("slice, col", lambda: x[:, torch.tensor([0, 1, 1], dtype=torch.uint8)])
    attempt("with ints", lambda: x[torch.tensor([1, 0], dtype=torch.uint8), torch.tensor([0, 2])])
    attempt("0-d one", lambda: x[torch.tensor(1, dtype=torch.uint8)])
    attempt("wrong shape", lambda: x[torch.tensor([1, 0, 1], dtype=torch.uint8)])
    attempt("int8", lambda: x[torch.tensor([1, 0], dtype=torch.int8)])
    a = torch.tensor([1., 2., 3.], requires_grad=True)
    z = a[torch.tensor([1, 0, 1], dtype=torch.uint8)]
    z.sum().backward()
    print(z, a.grad)
""")
case("uint8_mask_setitem", """
    x = torch.arange(6.).reshape(2, 3)
    m = torch.tensor([[1, 0, 2], [0, 1, 0]], dtype=torch.uint8)
    r = torch.tensor([1, 0], dtype=torch.uint8)
    def put(index, value):
        def f():
            y = x.clone()
            y[index] = value
            return y
        return f
    attempt("2d number", put(m, -1.))
    attempt("2d 0-d", put(m, torch.tensor(-1.)))
    attempt("2d values", put(m, torch.tensor([-1., -2., -3.])))
    attempt("row number", put(r, -1.))
    attempt("row values", put(r, torch.tensor([7., 8., 9.])))
    attempt("slice, col number", put((slice(None), torch.tensor([0, 1, 1], dtype=torch.uint8)), 5.))
    def iadd():
        y = x.clone()
        y[r] += 10
        return y
    attempt("+=", iadd)
    attempt("index_put_", lambda: x.clone().index_put_((r,), torch.tensor(3.)))
    attempt("index_put_ values", lambda: x.clone().index_put_((r,), torch.tensor([1., 2., 3.])))
    attempt("masked_fill", lambda: x.masked_fill(m, 0.))
""")


# ---- 2. values with indices: gradients go to the chosen elements (ties: the index's)
case("sort_topk_gradients", """
    x = torch.tensor([[3., 1., 2., 1.], [0., 5., 5., -1.]], requires_grad=True)
    w = torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.]])
    for name, f in [("sort", lambda: x.sort(dim=1)),
                    ("sort desc", lambda: torch.sort(x, dim=1, descending=True)),
                    ("sort dim0", lambda: x.sort(dim=0)),
                    ("topk", lambda: x.topk(2, dim=1)),
                    ("topk smallest", lambda: torch.topk(x, 2, dim=1, largest=False)),
                    ("topk dim0", lambda: x.topk(1, dim=0)),
                    ("kthvalue", lambda: x.kthvalue(2, dim=1)),
                    ("median", lambda: x.median(dim=1)),
                    ("max", lambda: x.max(dim=1)),
                    ("min keepdim", lambda: x.min(dim=0, keepdim=True))]:
        v, i = f()
        x.grad = None
        (v * w[:, :v.shape[1]] if v.ndim == 2 and v.shape[0] == 2 else v * 3).sum().backward()
        print(name, v.grad_fn.name(), v.tolist(), i.tolist(), x.grad.tolist())
    y = torch.tensor([4., -2., 7., 0.5], requires_grad=True)
    s = y.sort().values
    g, = torch.autograd.grad((s * s * torch.arange(4.)).sum(), y, create_graph=True)
    print(g.detach(), g.requires_grad)
    g.sum().backward()
    print(y.grad)
    print(torch.argsort(y, descending=True), torch.median(y))
    d = torch.tensor([1., 2., 3.], dtype=torch.float64, requires_grad=True)
    v, i = d.topk(2)
    v.sum().backward()
    print(v, d.grad)
""")


# ---- 4. bitwise and logical operators on bool and integer tensors
case("bitwise_operators", """
    b = torch.tensor([True, False, True, False])
    c = torch.tensor([True, True, False, False])
    print(b & c, b | c, b ^ c, ~b)
    i = torch.tensor([5, 3, -8, 0])
    j = torch.tensor([3, 6, 7, -1])
    print(i & j, i | j, i ^ j, ~i)
    print(i & 6, 6 | i, i ^ True, b & True, True ^ b)
    u = torch.tensor([5, 250], dtype=torch.uint8)
    print(~u, u & torch.tensor([3, 15], dtype=torch.uint8), u | 1)
    s = torch.tensor([5, -3], dtype=torch.int8)
    print(~s, s ^ torch.tensor([1, 1], dtype=torch.int16), s & torch.tensor([True, False]))
    for fn in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        print(fn, getattr(torch, fn)(i, j), getattr(torch, fn)(b, c), getattr(i, fn)(2))
    print(torch.bitwise_not(i), torch.bitwise_not(b), b.bitwise_not(), i.bitwise_not())
    print(torch.logical_and(i, j), torch.logical_or(b, j), torch.logical_xor(i, c), torch.logical_not(i))
    y = b.clone(); y &= c; print(y)
    y = b.clone(); y |= c; print(y)
    y = b.clone(); y ^= c; print(y)
    y = i.clone(); y &= j; print(y)
    y = i.clone(); y |= 8; print(y)
    y = i.clone(); y ^= j; print(y)
    y = i.clone(); y.bitwise_and_(j); print(y)
    y = i.clone(); y.bitwise_not_(); print(y)
    y = b.clone(); y.bitwise_xor_(c); print(y)
    y = b.clone(); y.logical_and_(c); print(y)
    y = i.clone(); y.logical_or_(j); print(y)
    y = b.clone(); y.logical_not_(); print(y)
    p = torch.tensor([1, 2], dtype=torch.int32)
    print(p & torch.tensor([3, 3]), (p | 1).dtype, b & i)
    for label, f in [("float &", lambda: torch.tensor([1.0]) & torch.tensor([1.0])),
                     ("float ~", lambda: ~torch.tensor([1.0])),
                     ("float |", lambda: torch.tensor([1.0]) | 1),
                     ("float ^ int", lambda: torch.tensor([1.0]) ^ torch.tensor([1])),
                     ("bool &= int", lambda: b.clone().__iand__(i)),
                     ("int & 1.5", lambda: i & 1.5)]:
        try:
            print(label, f())
        except Exception as e:
            print(label, type(e).__name__)
""")


# ---- 5. rounded division records DivBackward2 and gives zero gradients
case("div_rounding_mode_graph", """
    x = torch.tensor([7.0, -7.5, 1.0, -0.0], requires_grad=True)
    w = torch.tensor([2.0, 3.0, 0.1, 2.0], requires_grad=True)
    for name, f in [("floor", lambda: torch.div(x, 2.0, rounding_mode='floor')),
                    ("floor t", lambda: torch.div(x, w, rounding_mode='floor')),
                    ("trunc t", lambda: torch.div(x, w, rounding_mode='trunc')),
                    ("method", lambda: x.div(w, rounding_mode='floor')),
                    ("divide", lambda: torch.divide(x, w, rounding_mode='floor')),
                    ("number first", lambda: torch.div(5.0, w, rounding_mode='floor'))]:
        x.grad = None
        w.grad = None
        y = f()
        print(name, y, y.grad_fn.name())
        y.sum().backward()
        print("  ", x.grad, w.grad)
    y = x.clone()
    y.div_(w, rounding_mode='floor')
    print(y, y.grad_fn.name())
    y = x.clone()
    y.div_(w, rounding_mode='trunc')
    print(y, y.grad_fn.name())
    y = x.clone()
    y.div_(w)
    print(y, y.grad_fn.name())
    y = torch.div(x * x, 2.0, rounding_mode='floor')
    g, = torch.autograd.grad(y.sum(), x, create_graph=True)
    print(g, g.grad_fn is not None, g.requires_grad)
    a = torch.tensor([1.0, 7.0, -7.0, 0.3, 5.0, -0.0, 0.0, 1e30, 3.0, -3.0], dtype=torch.float64)
    b = torch.tensor([0.1, 0.7, 0.7, 0.1, -0.0, 2.0, -2.0, 3.0, float('inf'), float('inf')],
                     dtype=torch.float64)
    print(torch.div(a, b, rounding_mode='floor').tolist())
    print(torch.div(a.float(), b.float(), rounding_mode='floor').tolist())
    print((a // b).tolist())
    print((a.half() // b.half()).tolist())
    print(torch.div(torch.tensor([7, -7]), 2, rounding_mode='floor'), torch.tensor(5.5) // 2)
""")


# ---- 6. a node's post-hook returning None for an input leaves no gradient below it
case("post_hook_none_below_a_non_leaf", """
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([5.0, 7.0], requires_grad=True)
    x = a * 2
    y = x * b
    y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))
    y.sum().backward()
    print(a.grad, b.grad)
    a.grad = None
    b.grad = None
    x = a * 2
    y = x * b + x
    y.grad_fn.next_functions[0][0].register_hook(lambda gi, go: (None, gi[1]))
    y.sum().backward()
    print(a.grad, b.grad)
    a.grad = None
    b.grad = None
    x = a * 2
    y = x * b
    y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))
    print(torch.autograd.grad(y.sum(), [a, b], allow_unused=True))
    x = a.exp()
    y = (x * b).sin()
    y.grad_fn.next_functions[0][0].register_hook(lambda gi, go: (None, None))
    y.sum().backward()
    print(a.grad, b.grad)
    c = torch.tensor([3.0], requires_grad=True)
    x = c * 2
    y = (x * x) * x
    y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))
    y.sum().backward()
    print(c.grad)
    x = a.exp()
    y = x * b
    y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))
    try:
        torch.autograd.grad(y.sum(), [a])
    except RuntimeError as e:
        print("RuntimeError", "not have been used in the graph" in str(e))
""")


# ---- 7. repeat_interleave, and the in-place forms of the unary maths
case("repeat_interleave", """
    x = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    print(torch.repeat_interleave(x, 2))
    print(x.repeat_interleave(3, dim=0))
    print(torch.repeat_interleave(x, torch.tensor([1, 2]), dim=1))
    print(x.repeat_interleave(torch.tensor([0, 3]), dim=0))
    print(torch.repeat_interleave(x, torch.tensor(2), dim=-1))
    print(torch.repeat_interleave(torch.tensor([2, 0, 3])))
    print(torch.repeat_interleave(torch.tensor([1, 2, 3]), 2), torch.tensor(7.).repeat_interleave(3))
    print(x.repeat_interleave(2, dim=1, output_size=4))
    y = x.repeat_interleave(torch.tensor([1, 3]), dim=0)
    print(y.grad_fn.name())
    (y * torch.arange(8.).reshape(4, 2)).sum().backward()
    print(x.grad)
    x.grad = None
    y = torch.repeat_interleave(x, 2)
    (y * torch.arange(8.)).sum().backward()
    print(y.grad_fn.name(), x.grad)
    for label, f in [("bad repeats", lambda: x.repeat_interleave(torch.tensor([1, 2, 3]), dim=0)),
                     ("negative", lambda: x.repeat_interleave(-1)),
                     ("float repeats", lambda: x.repeat_interleave(torch.tensor([1., 2.]), dim=0))]:
        try:
            print(label, f())
        except Exception as e:
            print(label, type(e).__name__)
""")
case("inplace_unary_methods", """
    x = torch.tensor([0.25, 0.5, 1.5])
    for name in ["abs_", "cos_", "exp_", "log1p_", "log_", "neg_", "negative_", "sigmoid_",
                 "sin_", "sqrt_", "tanh_"]:
        y = x.clone()
        r = getattr(y, name)()
        print(name, y, r is y)
    a = torch.tensor([0.25, 0.5, 1.5], requires_grad=True)
    for name in ["abs_", "cos_", "exp_", "log1p_", "log_", "neg_", "sigmoid_", "sin_", "sqrt_",
                 "tanh_"]:
        y = a * 1
        getattr(y, name)()
        y.sum().backward()
        print(name, y.grad_fn.name(), a.grad)
        a.grad = None
    try:
        a.exp_()
    except RuntimeError as e:
        print("RuntimeError", "leaf Variable that requires grad" in str(e))
    i = torch.tensor([1, -2])
    print(i.abs_(), i.neg_(), i)
    for label, f in [("int exp_", lambda: torch.tensor([1, 2]).exp_()),
                     ("int sqrt_", lambda: torch.tensor([4]).sqrt_())]:
        try:
            print(label, f())
        except Exception as e:
            print(label, type(e).__name__)
    m = torch.tensor([[1., 2.], [3., 4.]])
    n = m.clone(); n.t_(); print(n)
    n = m.clone(); n.transpose_(0, 1); print(n)
    n = m.clone(); n.unsqueeze_(0); print(n.shape)
    n = m.clone().reshape(1, 2, 2); n.squeeze_(); print(n.shape)
    n = m.clone(); n.tril_(); print(n)
    n = m.clone(); n.triu_(1); print(n)
    n = m.clone(); n.eq_(torch.tensor([[1., 0.], [3., 0.]])); print(n)
    n = m.clone(); n.gt_(2); print(n)
    n = m.clone(); n.floor_divide_(3); print(n)
    n = m.clone(); n.subtract_(1); n.multiply_(2); n.divide_(4); print(n)
    e = a * 1
    e.eq_(torch.tensor([0.25, 0.0, 1.5]))
    e.sum().backward()
    print(e, e.grad_fn.name(), a.grad)
    e = a * 1
    e.gt_(0.3)
    print(e, e.grad_fn.name())
""")


# ---- 3. erfinv (and erf/erfc), with gradients to the second order
case("erfinv_gradients", """
    y = torch.tensor([0.5, -0.9, 0.0, 0.999, -0.25], requires_grad=True)
    x = torch.erfinv(y)
    print(x, x.grad_fn.name())
    g, = torch.autograd.grad(x.sum(), y, create_graph=True)
    print(g.detach())
    g.sum().backward()
    print(y.grad)
    print(torch.erfinv(torch.tensor([1.0, -1.0, 1.5, float('nan'), -0.0])))
    print(torch.erfinv(torch.tensor([0, 1])), torch.erfinv(torch.tensor([0.5], dtype=torch.float64)))
    z = torch.tensor([0.1, 0.2]).double()
    z.erfinv_()
    print(z, y.erf().erfinv())
    w = torch.tensor([0.5, -2.0], requires_grad=True)
    (w.erf() * w.erfc()).sum().backward()
    print(w.grad)
""")
