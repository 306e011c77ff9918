"""torch.autograd behaviours, written once against a `torch` module.

`record_autograd.py` runs every case with PyTorch (from a side venv) and stores
the results in data/autograd_expected.json; the tests run the same cases with
tapegrad bound as `torch` and compare.  Each case returns plain data (lists,
numbers, strings, booleans): values, structure, grad_fn names, messages.
"""
from __future__ import annotations

import importlib
import warnings


def _v(t):
    """A tensor as nested lists of floats (None stays None)."""
    return None if t is None else t.detach().tolist()


def _struct(x):
    """The nesting of tuples and tensors: shapes of tensors, lists for tuples."""
    if isinstance(x, tuple):
        return [_struct(e) for e in x]
    return {"shape": list(x.shape), "value": _v(x),
            "grad_fn": None if x.grad_fn is None else x.grad_fn.name(),
            "requires_grad": bool(x.requires_grad)}


def _version(t) -> int:
    """PyTorch's `_version` is an int; tapegrad keeps it in a shared one-element list."""
    v = t._version
    return v[0] if isinstance(v, list) else v


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class and message are the result
        return {"type": type(e).__name__, "message": str(e).split("\n")[0]}
    return None


# ---------------------------------------------------------------- package layout


def case_package_imports(torch):
    mods = {}
    for name in ("function", "functional", "graph", "grad_mode", "anomaly_mode", "gradcheck"):
        mods[name] = importlib.import_module(torch.__name__ + ".autograd." + name) is not None
    from_function = importlib.import_module(torch.__name__ + ".autograd.function")
    names = ["Function", "FunctionCtx", "once_differentiable"]
    top = ["Variable", "Function", "grad", "backward", "gradcheck", "gradgradcheck",
           "detect_anomaly", "set_detect_anomaly", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "functional", "graph"]
    fn_names = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]
    return {"modules": mods,
            "function": {n: hasattr(from_function, n) for n in names},
            "top": {n: hasattr(torch.autograd, n) for n in top},
            "functional": {n: hasattr(torch.autograd.functional, n) for n in fn_names},
            "graph_saved_tensors_hooks": hasattr(torch.autograd.graph, "saved_tensors_hooks"),
            "gradcheck_error_is_runtime":
                issubclass(importlib.import_module(torch.__name__ + ".autograd.gradcheck")
                           .GradcheckError, RuntimeError)}


# ---------------------------------------------------------------- grad mode


def case_set_grad_enabled_decorator(torch):
    torch.set_grad_enabled(True)
    seen = {}

    @torch.set_grad_enabled(False)
    def inner():
        seen["inside"] = torch.is_grad_enabled()
        return torch.ones(2, requires_grad=True) * 2

    seen["after_decorating"] = torch.is_grad_enabled()
    y = inner()
    seen["after_call"] = torch.is_grad_enabled()
    seen["result_requires_grad"] = y.requires_grad
    x = torch.ones(2, requires_grad=True)
    seen["later_op_requires_grad"] = (x * 3).requires_grad
    torch.set_grad_enabled(False)
    seen["as_call"] = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    with torch.set_grad_enabled(False):
        seen["in_with"] = torch.is_grad_enabled()
    seen["after_with"] = torch.is_grad_enabled()
    return seen


def case_modes_as_decorators(torch):
    out = {}
    for name, make in (("no_grad", lambda: torch.no_grad()),
                       ("no_grad_bare", None),
                       ("enable_grad", lambda: torch.enable_grad()),
                       ("inference_mode", lambda: torch.inference_mode()),
                       ("inference_mode_bare", None),
                       ("inference_mode_false", lambda: torch.inference_mode(False)),
                       ("set_grad_enabled_false", lambda: torch.set_grad_enabled(False))):
        def fn():
            return torch.is_grad_enabled()

        def gen():
            a = torch.is_grad_enabled()
            got = yield a
            yield (got, torch.is_grad_enabled())

        if name == "no_grad_bare":
            deco = torch.no_grad
        elif name == "inference_mode_bare":
            deco = torch.inference_mode
        else:
            deco = make()
        for outer in (True, False):
            torch.set_grad_enabled(outer)
            f, g = deco(fn), deco(gen)
            inside = f()
            it = g()
            first = next(it)
            between = torch.is_grad_enabled()
            second = it.send("sent")
            out[f"{name}/{outer}"] = [inside, first, between, list(second),
                                      torch.is_grad_enabled()]
        torch.set_grad_enabled(True)
    with torch.inference_mode():
        x = torch.ones(2, requires_grad=True) * 2
        out["inference_result_requires_grad"] = x.requires_grad
        out["inference_is_grad_enabled"] = torch.is_grad_enabled()
        out["is_inference_mode_enabled"] = torch.is_inference_mode_enabled()
    out["is_inference_mode_enabled_after"] = torch.is_inference_mode_enabled()
    return out


# ---------------------------------------------------------------- Function and ctx


def _functions(torch):
    from importlib import import_module
    fmod = import_module(torch.__name__ + ".autograd.function")
    Function, FunctionCtx, once_differentiable = (fmod.Function, fmod.FunctionCtx,
                                                  fmod.once_differentiable)
    log = {}

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k, y):
            log["needs_input_grad"] = list(ctx.needs_input_grad)
            log["ctx_is_FunctionCtx"] = isinstance(ctx, FunctionCtx)
            ctx.k = k
            return x * k + y

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None, g

    class MulInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class SortLike(Function):
        @staticmethod
        def forward(ctx, x):
            idx = (x * 0 + 1).to(torch.int64)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            log["nondiff_grad"] = None if g_idx is None else _v(g_idx)
            return g * 2

    class TwoOut(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            log["unmaterialized"] = [g1 is None, g2 is None]
            r = x_zeros = None  # noqa: F841
            r = g1 if g1 is not None else 0
            if g2 is not None:
                r = r + g2 * 2
            return r

    class TwoOutMaterialized(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            log["materialized"] = [_v(g1), _v(g2)]
            return g1 + g2 * 2

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            log["once_backward_grad_enabled"] = torch.is_grad_enabled()
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    class Square(Function):  # PyTorch 2's style: forward without ctx, then setup_context
        @staticmethod
        def forward(x, power=2):
            return x ** power

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, power = inputs
            ctx.save_for_backward(x)
            ctx.power = power

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.power * x ** (ctx.power - 1), None

    return locals()


def case_function_ctx(torch):
    fs = _functions(torch)
    log = fs["log"]
    out = {}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([3.0, 4.0])
    z = fs["Scale"].apply(x, 3.0, y)
    z.sum().backward()
    out["scale"] = {"value": _v(z), "grad": _v(x.grad), "grad_fn": z.grad_fn.name(),
                    "needs_input_grad": log["needs_input_grad"],
                    "ctx_is_FunctionCtx": log["ctx_is_FunctionCtx"]}

    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    v0 = _version(b)
    c = fs["MulInplace"].apply(b)
    (c * c).sum().backward()
    out["mark_dirty"] = {"same_object": c is b, "value": _v(c), "b_value": _v(b),
                         "grad": _v(a.grad), "grad_fn": c.grad_fn.name(),
                         "b_grad_fn": b.grad_fn.name(), "version_bumped": _version(b) > v0}
    leaf = torch.tensor([1.0], requires_grad=True)
    out["mark_dirty_leaf_error"] = _error(lambda: fs["MulInplace"].apply(leaf))

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    r, idx = fs["SortLike"].apply(x)
    r.sum().backward()
    out["mark_non_differentiable"] = {"idx_requires_grad": idx.requires_grad,
                                      "r_requires_grad": r.requires_grad,
                                      "nondiff_grad": log["nondiff_grad"], "grad": _v(x.grad)}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    r = fs["SortLike"].apply(x)[0]
    out["mark_non_differentiable_float"] = None

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    p, q = fs["TwoOut"].apply(x)
    p.sum().backward()
    out["set_materialize_grads_false"] = {"none": log["unmaterialized"], "grad": _v(x.grad)}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    p, q = fs["TwoOutMaterialized"].apply(x)
    q.sum().backward()
    out["materialized"] = {"grads": log["materialized"], "grad": _v(x.grad)}

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = fs["Cube"].apply(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    out["once_differentiable"] = {
        "grad": _v(g), "grad_requires_grad": g.requires_grad,
        "backward_grad_enabled": log["once_backward_grad_enabled"],
        "double_error": _error(lambda: g.sum().backward())}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad(fs["Cube"].apply(x).sum(), x)
    out["once_differentiable_plain"] = {"grad": _v(g), "requires_grad": g.requires_grad}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    v = torch.tensor([1.0, 1.0], requires_grad=True)
    (g,) = torch.autograd.grad(fs["Cube"].apply(x), x, v, create_graph=True)
    out["once_differentiable_graph"] = {
        "grad": _v(g), "grad_fn": g.grad_fn.name(),
        "double_error": _error(lambda: g.sum().backward())}

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    s = fs["Square"].apply(x, 3)
    s.sum().backward()
    out["setup_context"] = {"value": _v(s), "grad": _v(x.grad), "grad_fn": s.grad_fn.name()}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    s = fs["Square"].apply(x)
    s.sum().backward()
    out["setup_context_default"] = {"value": _v(s), "grad": _v(x.grad)}
    out["instantiate_call_error"] = _error(lambda: fs["Square"]()(x))
    return out


# ---------------------------------------------------------------- autograd.grad


def case_grad_keywords(torch):
    out = {}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    unused = torch.tensor([5.0, 6.0, 7.0], requires_grad=True)
    y = (x * x).sum()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        g = torch.autograd.grad(y, [x], retain_graph=True, only_inputs=False)
    out["only_inputs_false"] = {"grad": _v(g[0]),
                                "warnings": [(c.category.__name__, str(c.message)) for c in w]}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        torch.autograd.grad(y, [x], retain_graph=True, only_inputs=True)
    out["only_inputs_true_warnings"] = len(w)
    g = torch.autograd.grad(y, [x, unused], retain_graph=True, materialize_grads=True)
    out["materialize_grads"] = [_v(t) for t in g]
    g = torch.autograd.grad(y, [x, unused], retain_graph=True, allow_unused=True)
    out["allow_unused"] = [_v(t) for t in g]
    out["materialize_without_allow_unused"] = _error(lambda: torch.autograd.grad(
        y, [x, unused], retain_graph=True, allow_unused=False, materialize_grads=True))
    out["unused_error"] = _error(lambda: torch.autograd.grad(y, [x, unused], retain_graph=True))
    return out


def case_register_hook_handle(torch):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    first = _v(x.grad)
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    y = torch.tensor([1.0, 2.0], requires_grad=True)
    mid = y * 3
    h2 = mid.register_hook(lambda g: g * 100)
    h2.remove()
    mid.sum().backward()
    out = {"with_hook": first, "after_remove": _v(x.grad), "nonleaf_removed": _v(y.grad),
           "has_remove": hasattr(h, "remove")}
    out["no_grad_error"] = _error(lambda: torch.ones(2).register_hook(lambda g: g))
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    h1 = a.register_hook(lambda g: g * 2)
    a.register_hook(lambda g: g + 1)
    (a * 3).sum().backward()
    out["chained"] = _v(a.grad)
    h1.remove()
    h1.remove()  # a second remove is harmless
    a.grad = None
    (a * 3).sum().backward()
    out["chained_after_remove"] = _v(a.grad)
    m = a * 2
    m.retain_grad()
    m.register_hook(lambda g: g * 10)
    (m * m).sum().backward()
    out["retained_with_hook"] = [_v(m.grad), _v(a.grad)]
    return out


# ---------------------------------------------------------------- functional


def _f_square_sum(x):
    return (x ** 3).sum()


def case_functional(torch):
    F = torch.autograd.functional
    out = {}
    x = torch.tensor([1.0, 2.0, 3.0])
    y = torch.tensor([0.5, -1.0])
    v3 = torch.tensor([1.0, 0.5, 2.0])
    v2 = torch.tensor([2.0, 1.0])

    def f(a):
        return a * a * 2

    def g(a, b):
        return (a[:2] * b).exp(), (a.sum() * b)

    def s(a):
        return (a ** 3).sum()

    def s2(a, b):
        return (a ** 2).sum() * (b ** 3).sum()

    out["vjp_single"] = _struct(F.vjp(f, x, v3))
    out["vjp_tuple"] = _struct(F.vjp(g, (x, y), (v2, v2)))
    out["vjp_scalar_default_v"] = _struct(F.vjp(s, x))
    out["vjp_v_none_error"] = _error(lambda: F.vjp(f, x))
    out["jvp_single"] = _struct(F.jvp(f, x, v3))
    out["jvp_tuple"] = _struct(F.jvp(g, (x, y), (v3, v2)))
    out["jvp_scalar_input"] = _struct(F.jvp(f, torch.tensor(2.0)))
    xr = x.clone().requires_grad_()
    out["jvp_create_graph"] = _struct(F.jvp(f, xr, v3, create_graph=True))
    out["vjp_create_graph"] = _struct(F.vjp(f, xr, v3, create_graph=True))
    out["jacobian_single"] = _struct(F.jacobian(f, x))
    out["jacobian_tuple"] = _struct(F.jacobian(g, (x, y)))
    out["jacobian_vectorize"] = _struct(F.jacobian(g, (x, y), vectorize=True))
    out["jacobian_forward_mode"] = _struct(F.jacobian(f, x, vectorize=True,
                                                      strategy="forward-mode"))
    out["jacobian_create_graph"] = _struct(F.jacobian(f, xr, create_graph=True))
    out["hessian_single"] = _struct(F.hessian(s, x))
    out["hessian_tuple"] = _struct(F.hessian(s2, (x, y)))
    out["hessian_vectorize"] = _struct(F.hessian(s2, (x, y), vectorize=True))
    out["hvp_single"] = _struct(F.hvp(s, x, v3))
    out["hvp_tuple"] = _struct(F.hvp(s2, (x, y), (v3, v2)))
    out["vhp_single"] = _struct(F.vhp(s, x, v3))
    out["vhp_tuple"] = _struct(F.vhp(s2, (x, y), (v3, v2)))
    out["vhp_create_graph"] = _struct(F.vhp(s, xr, v3, create_graph=True))
    out["hvp_create_graph"] = _struct(F.hvp(s, xr, v3, create_graph=True))
    out["hvp_not_scalar_error"] = _error(lambda: F.hvp(f, x, v3))
    out["vhp_not_scalar_error"] = _error(lambda: F.vhp(f, x, v3))

    def const(a):
        return torch.ones(3)

    def linear(a):
        return a * 3

    out["vjp_independent"] = _struct(F.vjp(const, x, v3))
    out["vjp_strict_error"] = _error(lambda: F.vjp(const, x, v3, strict=True))
    out["jacobian_independent"] = _struct(F.jacobian(const, x))
    out["jacobian_strict_error"] = _error(lambda: F.jacobian(const, x, strict=True))
    out["hessian_linear"] = _struct(F.hessian(lambda a: (a * 3).sum(), x))
    out["hessian_strict_error"] = _error(lambda: F.hessian(lambda a: (a * 3).sum(), x,
                                                           strict=True))
    out["jvp_strict_error"] = _error(lambda: F.jvp(const, x, v3, strict=True))
    out["strict_vectorize_error"] = _error(lambda: F.jacobian(f, x, strict=True,
                                                              vectorize=True))
    out["jacobian_linear"] = _struct(F.jacobian(linear, x))
    out["not_tensor_output_error"] = _error(lambda: F.vjp(lambda a: 3.0, x, v3))
    out["v_shape_error"] = _error(lambda: F.vjp(f, x, v2))
    return out


# ---------------------------------------------------------------- gradcheck


def case_gradcheck(torch):
    gc = torch.autograd.gradcheck
    out = {}
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[1.5, 0.5], [0.2, -0.7]], dtype=torch.float64, requires_grad=True)
    out["sin"] = gc(torch.sin, (x,))
    out["two_inputs"] = gc(lambda a, b: (a[:2] * b).sum(0) * a[2], (x, y))
    out["grad_dtypes"] = gc(torch.exp, (x,), check_grad_dtypes=True)
    out["keywords"] = gc(torch.exp, (x,), eps=1e-6, atol=1e-5, rtol=1e-3,
                         raise_exception=True, nondet_tol=0.0, check_undefined_grad=True,
                         check_grad_dtypes=False, check_batched_grad=False,
                         fast_mode=False)
    out["gradgradcheck"] = torch.autograd.gradgradcheck(lambda a: (a ** 3).sin(), (x,))
    out["gradgradcheck_two"] = torch.autograd.gradgradcheck(lambda a, b: a[:2] * b[0] * b[1],
                                                            (x, y))

    fs = _wrong_functions(torch)
    out["wrong_no_raise"] = gc(fs["Wrong"].apply, (x,), raise_exception=False)
    err = _error(lambda: gc(fs["Wrong"].apply, (x,)))
    out["wrong_error_type"] = err["type"]
    out["wrong_error_first_line"] = err["message"]
    err = _error(lambda: torch.autograd.gradgradcheck(fs["WrongSecond"].apply, (x,)))
    out["gradgrad_wrong_error_type"] = err and err["type"]
    out["gradgrad_wrong_no_raise"] = torch.autograd.gradgradcheck(
        fs["WrongSecond"].apply, (x,), raise_exception=False)
    return out


def _wrong_functions(torch):
    Function = torch.autograd.Function

    class Wrong(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a * 3  # should be 2a

    class WrongSecond(Function):
        """Right first derivative; its backward is a constant, so the second is wrong."""

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 3 * a.detach() ** 2

    return {"Wrong": Wrong, "WrongSecond": WrongSecond}


# ---------------------------------------------------------------- anomaly detection


def case_anomaly(torch):
    out = {"enabled_default": torch.is_anomaly_enabled()}

    def run():
        x = torch.tensor([0.0, 1.0], requires_grad=True)
        y = torch.sqrt(x)
        (y * 0).sum().backward()
        return _v(x.grad)

    out["off_result_has_nan"] = [v != v for v in run()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            out["enabled_inside"] = torch.is_anomaly_enabled()
            out["error"] = _error(run)
    out["enabled_after"] = torch.is_anomaly_enabled()
    torch.autograd.set_detect_anomaly(True)
    out["set_enabled"] = torch.is_anomaly_enabled()
    out["set_error"] = _error(run)
    torch.autograd.set_detect_anomaly(False)
    out["set_disabled"] = torch.is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly(check_nan=False):
            out["check_nan_false"] = [v != v for v in run()]
    def run_div():
        a = torch.tensor([0.0, 1.0], requires_grad=True)
        b = torch.tensor([0.0, 2.0], requires_grad=True)
        (a / b).sum().backward()

    def run_pow():  # a NaN pow's rule makes and masks again is no anomaly
        a = torch.tensor([1.0, 2.0], requires_grad=True)
        b = torch.tensor([0.0, 1.0], requires_grad=True)
        (torch.pow(b, a) * 0).sum().backward()
        return [_v(a.grad), _v(b.grad)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            out["second_input_error"] = _error(run_div)
            out["masked_nan"] = _error(run_pow) or run_pow()
    fs = _nan_function(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            x = torch.tensor([1.0, 2.0], requires_grad=True)
            out["custom_error"] = _error(lambda: fs.apply(x).sum().backward())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with torch.autograd.detect_anomaly():
            pass
    out["warning"] = [str(c.message) for c in w]
    return out


def _nan_function(torch):
    class MakesNan(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    return MakesNan




# ---------------------------------------------------------------- more Function behaviour


def case_function_edges(torch):
    Function = torch.autograd.Function
    log = {}

    class WithNumber(Function):
        @staticmethod
        def forward(ctx, x, n):
            return x * n, n + 1

        @staticmethod
        def backward(ctx, g, g_n):
            log["g_n"] = g_n if g_n is None else "tensor"
            log["needs_in_backward"] = list(ctx.needs_input_grad)
            return g * 2, None

    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    class FloatNonDiff(Function):
        @staticmethod
        def forward(ctx, x):
            a, b = x * 2, x * 3
            ctx.mark_non_differentiable(b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            log["float_nondiff_gb"] = _v(gb)
            return ga * 2

    class TooMany(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, g

    class TooFew(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return (g,)

    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return torch.ones(3)

    class GradForNumber(Function):
        @staticmethod
        def forward(ctx, x, n):
            return x * n

        @staticmethod
        def backward(ctx, g):
            return g * 2, torch.ones(1)

    class Saves(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2

    out = {}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y, m = WithNumber.apply(x, 3)
    out["number_output"] = {"m": m, "y_grad_fn": y.grad_fn.name()}
    y.sum().backward()
    out["number_output"].update(g_n=log["g_n"], needs=log["needs_in_backward"],
                                grad=_v(x.grad))
    with torch.no_grad():
        z = WithNumber.apply(x, 3)[0]
    out["under_no_grad"] = {"requires_grad": z.requires_grad, "grad_fn": z.grad_fn is None}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    i = Identity.apply(x)
    i.sum().backward()
    out["identity"] = {"is_input": i is x, "grad_fn": i.grad_fn.name(), "grad": _v(x.grad)}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a, b = FloatNonDiff.apply(x)
    a.sum().backward()
    out["float_non_diff"] = {"b_requires_grad": b.requires_grad, "b_grad_fn": b.grad_fn is None,
                             "gb": log["float_nondiff_gb"], "grad": _v(x.grad)}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([3.0, 4.0], requires_grad=True)
    out["too_many"] = _error(lambda: TooMany.apply(x).sum().backward())
    out["too_few"] = _error(lambda: TooFew.apply(x, y).sum().backward())
    out["bad_shape"] = _error(lambda: BadShape.apply(x).backward())
    out["grad_for_number"] = _error(lambda: GradForNumber.apply(x, 2.0).sum().backward())
    s = Saves.apply(x).sum()
    s.backward()
    out["saved_twice"] = _error(lambda: s.backward())
    return out


def case_backward_api(torch):
    out = {}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    torch.autograd.backward([y], [torch.tensor([1.0, 10.0])], inputs=[x])
    out["inputs_only"] = {"x": _v(x.grad), "w": _v(w.grad)}
    x.grad = None
    y = (x * w).sum()
    torch.autograd.backward(y, retain_graph=True)
    torch.autograd.backward(y)
    out["accumulates"] = {"x": _v(x.grad), "w": _v(w.grad)}
    out["non_scalar"] = _error(lambda: torch.autograd.backward(x * w))
    out["grad_non_scalar"] = _error(lambda: torch.autograd.grad(x * w, x))
    out["grad_no_grad_input"] = _error(lambda: torch.autograd.grad(
        (x * 2).sum(), torch.ones(2)))
    out["grad_empty_inputs"] = _error(lambda: torch.autograd.grad((x * 2).sum(), []))
    out["backward_empty_inputs"] = _error(lambda: torch.autograd.backward((x * 2).sum(),
                                                                         inputs=[]))
    x.grad = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.autograd.backward([x * 2], grad_variables=[torch.tensor([1.0, 3.0])])
    out["grad_variables"] = {"grad": _v(x.grad),
                             "warnings": [(c.category.__name__, str(c.message))
                                          for c in caught]}
    out["grad_variables_and_tensors"] = _error(lambda: torch.autograd.backward(
        [x * 2], [torch.ones(2)], grad_variables=[torch.ones(2)]))
    x.grad = None
    torch.autograd.backward((x * w).sum(), inputs={"x": x})
    out["inputs_dict"] = _v(x.grad)
    return out


def case_graph_and_threads(torch):
    import importlib
    graph = importlib.import_module(torch.__name__ + ".autograd.graph")
    out = {}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = (y * y).sum()
    graph.increment_version(y)
    err = _error(lambda: z.backward())
    out["increment_version_error"] = err and {"type": err["type"],
                                              "message": err["message"][:85]}
    seen = []
    with torch.autograd.set_multithreading_enabled(False):
        seen.append(torch.is_grad_enabled())

    @torch.autograd.set_multithreading_enabled(False)
    def f():
        return 1

    out["multithreading"] = [seen, f()]
    return out


def case_functional_more(torch):
    F = torch.autograd.functional
    out = {}
    x = torch.tensor([0.5, -1.5], dtype=torch.float64)
    y = torch.tensor([2.0], dtype=torch.float64)

    def two(a, b):
        return (a * b).sin(), a.sum() * 0 + b.exp()

    def partial(a, b):
        return a.exp()

    out["jacobian_unused_input"] = _struct(F.jacobian(partial, (x, y)))
    out["jacobian_unused_strict"] = _error(lambda: F.jacobian(partial, (x, y), strict=True))
    out["vjp_tuple_len_error"] = _error(lambda: F.vjp(two, (x, y), (torch.ones(2),)))
    out["vjp_entry_size_error"] = _error(lambda: F.vjp(two, (x, y),
                                                       (torch.ones(2), torch.ones(3))))
    out["jvp_v_none"] = _struct(F.jvp(lambda a: a.exp(), torch.tensor(1.0)))
    out["jvp_v_none_error"] = _error(lambda: F.jvp(lambda a: a.exp(), x))
    out["hvp_v_none_error"] = _error(lambda: F.hvp(lambda a: a.sum(), x))
    out["hvp_strict_linear"] = _error(lambda: F.hvp(lambda a: (a * 2).sum(), x, x,
                                                    strict=True))
    out["vhp_strict_linear"] = _error(lambda: F.vhp(lambda a: (a * 2).sum(), x, x,
                                                    strict=True))
    out["hessian_tuple_output_error"] = _error(lambda: F.hessian(lambda a: (a.sum(), a), x))
    out["hessian_not_scalar_error"] = _error(lambda: F.hessian(lambda a: a * 2, x))
    out["hessian_create_graph"] = _struct(F.hessian(lambda a: (a ** 3).sum(),
                                                    x.clone().requires_grad_(),
                                                    create_graph=True))
    out["jacobian_scalar_in_out"] = _struct(F.jacobian(lambda a: a * a, torch.tensor(3.0)))
    out["jacobian_strategy_error"] = _error(lambda: F.jacobian(lambda a: a, x,
                                                               strategy="forward-mode"))
    out["jvp_tuple_out_single_in"] = _struct(F.jvp(lambda a: (a * 2, a.sum()), x,
                                                   torch.ones(2, dtype=torch.float64)))
    out["input_not_tensor"] = _error(lambda: F.jacobian(lambda a: a, 3.0))
    out["tuple_input_not_tensor"] = _error(lambda: F.jacobian(lambda a, b: a, (x, 3.0)))
    return out


def case_signatures(torch):
    """Parameter names, kinds and defaults of the package's functions (not annotations)."""
    import inspect
    F = torch.autograd.functional
    fns = {"grad": torch.autograd.grad, "backward": torch.autograd.backward,
           "gradcheck": torch.autograd.gradcheck, "gradgradcheck": torch.autograd.gradgradcheck,
           "vjp": F.vjp, "jvp": F.jvp, "jacobian": F.jacobian, "hessian": F.hessian,
           "hvp": F.hvp, "vhp": F.vhp, "detect_anomaly": torch.autograd.detect_anomaly,
           "set_detect_anomaly": torch.autograd.set_detect_anomaly,
           "set_grad_enabled": torch.set_grad_enabled, "inference_mode": torch.inference_mode}
    out = {}
    for name, fn in fns.items():
        params = inspect.signature(fn).parameters.values()
        out[name] = [[p.name, p.kind.name,
                      None if p.default is inspect.Parameter.empty else repr(p.default)]
                     for p in params]
    return out


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}
