"""torch.autograd.forward_ad: dual tensors on the eager tape.

A dual tensor's tangent must be the Jacobian-vector product: checked per operation
against central differences in float64 and against tg.jvp (the IR pass, traced), and
the API's behaviour (levels, identity of tangents, in-place, printing, custom
Functions, gradcheck) against what PyTorch 2.13 does (its outputs written down here).
"""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.autograd.forward_ad as fwAD

rng = np.random.default_rng(0)


def _t(*shape, positive=False):
    a = rng.standard_normal(shape)
    return tg.tensor(np.abs(a) + 0.5 if positive else a)


OPS = {
    "exp": (lambda x: x.exp(), [(3, 4)]),
    "log": (lambda x: x.log(), [(3, 4, "+")]),
    "tanh_sigmoid": (lambda x: x.tanh() * x.sigmoid(), [(5,)]),
    "sin_cos": (lambda x: x.sin() + x.cos() ** 2, [(2, 3)]),
    "pow_sqrt": (lambda x: x.pow(3) + x.sqrt(), [(4, "+")]),
    "div_broadcast": (lambda x, y: x / y, [(3, 4), (4, "+")]),
    "mul_sub": (lambda x, y: x * y - y, [(3, 1), (1, 4)]),
    "matmul": (lambda x, y: x @ y, [(3, 4), (4, 2)]),
    "sum_mean": (lambda x: x.sum(dim=1) + x.mean(), [(3, 4)]),
    "max_dim": (lambda x: x.max(dim=0).values, [(4, 3)]),
    "softmax": (lambda x: tg.softmax(x, dim=-1), [(2, 5)]),
    "log_softmax": (lambda x: tg.log_softmax(x, dim=0), [(4, 3)]),
    "index_gather": (lambda x: x[tg.tensor([2, 0, 2])] * 2, [(4, 3)]),
    "transpose_reshape": (lambda x: x.t().reshape(-1)[1:5], [(3, 4)]),
    "where_relu": (lambda x: tg.where(x > 0, x, x * 0.1).relu(), [(6,)]),
    "cat_stack": (lambda x, y: tg.cat([x, y]).sum(0) + tg.stack([x, y]).prod(0).sum(0),
                  [(2, 3), (2, 3)]),
    "clamp_abs": (lambda x: x.clamp(-0.5, 0.5) + x.abs(), [(7,)]),
    "cumsum_norm": (lambda x: x.cumsum(0) * x.norm(), [(5,)]),
    "linear": (lambda x, w, b: tg.nn.functional.linear(x, w, b), [(4, 3), (2, 3), (2,)]),
    "mse": (lambda x, y: tg.nn.functional.mse_loss(x, y), [(3, 2), (3, 2)]),
}


def _inputs(specs):
    return [_t(*[d for d in s if d != "+"], positive="+" in s) for s in specs]


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_tangent_is_the_jvp(name):
    f, specs = OPS[name]
    xs = _inputs(specs)
    vs = _inputs([[d for d in s if d != "+"] for s in specs])
    with fwAD.dual_level():
        out = f(*[fwAD.make_dual(x, v) for x, v in zip(xs, vs)])
        tangent = fwAD.unpack_dual(out).tangent.numpy()
    eps = 1e-6
    plus = f(*[x + eps * v for x, v in zip(xs, vs)]).numpy()
    minus = f(*[x - eps * v for x, v in zip(xs, vs)]).numpy()
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-7)
    _, traced = tg.jvp(f, tuple(xs), tuple(vs))
    np.testing.assert_allclose(tangent, traced.numpy(), rtol=1e-12, atol=1e-12)


def test_only_some_inputs_dual_and_second_tangents_untouched():
    x, y = _t(3), _t(3)
    v = _t(3)
    with fwAD.dual_level():
        out = fwAD.make_dual(x, v) * y + y.exp()
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), v.numpy() * y.numpy())
        assert fwAD.unpack_dual(y).tangent is None
        assert fwAD.unpack_dual(x).tangent is None  # the primal itself is not dual


def test_levels_tangent_identity_and_exit():
    primal, tangent = tg.randn(4, 4), tg.randn(4, 4)
    with fwAD.dual_level() as level:
        assert level == 0
        dual = fwAD.make_dual(primal, tangent)
        assert fwAD.unpack_dual(dual).tangent is tangent  # same layout: kept as it is
        alt = fwAD.make_dual(primal, tangent.T)           # another layout: copied
        assert fwAD.unpack_dual(alt).tangent is not tangent
        assert np.array_equal(fwAD.unpack_dual(alt).tangent.numpy(), tangent.T.numpy())
        assert dual._base is primal and dual.grad_fn is None
        out = dual * 2
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            fwAD.enter_dual_level()
    assert fwAD.unpack_dual(out).tangent is None
    unpacked = fwAD.unpack_dual(out)
    assert unpacked.primal is out and unpacked == (out, None)
    with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level"):
        fwAD.make_dual(primal, tangent)


def test_bad_duals_raise_pytorchs_errors():
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match=r"different size .* Tensor is of size \[2\] "
                                               r"while the given forward gradient is of size \[3\]"):
            fwAD.make_dual(tg.ones(2), tg.ones(3))
        with pytest.raises(ValueError, match="Expected primal to be floating point or "
                                             "complex, but got: torch.int64"):
            fwAD.make_dual(tg.tensor([1, 2]), tg.ones(2))
        with pytest.raises(ValueError, match="Expected tangent to be floating point"):
            fwAD.make_dual(tg.ones(2), tg.tensor([1, 2]))


def test_in_place_operations_carry_the_tangent():
    # PyTorch 2.13: mul_(3) -> tangent [1.5, 0.75]; ones.add_(dual) -> [1.5, 0.75];
    # zero_() keeps the tensor dual with a zero tangent
    with fwAD.dual_level():
        dp = fwAD.make_dual(tg.tensor([1., 2.]), tg.tensor([.5, .25]))
        dp.mul_(3)
        assert fwAD.unpack_dual(dp).tangent.tolist() == [1.5, 0.75]
        q = tg.ones(2)
        q.add_(dp)
        assert q.tolist() == [4., 7.] and fwAD.unpack_dual(q).tangent.tolist() == [1.5, 0.75]
        q.zero_()
        assert fwAD.unpack_dual(q).tangent.tolist() == [0., 0.]


def test_reverse_over_forward():
    # PyTorch 2.13: d = make_dual(x, [.5, .25]); backward of the tangent of sum(d * d)
    # gives x.grad = [1.0, 0.5]
    x = tg.tensor([1., 2.], requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, tg.tensor([.5, .25]))
        tangent = fwAD.unpack_dual((d * d).sum()).tangent
        assert tangent.item() == 2.0
        tangent.backward()
    assert x.grad.tolist() == [1.0, 0.5]


def test_printing_shows_the_tangent_as_pytorch_does():
    with fwAD.dual_level():
        a = fwAD.make_dual(tg.tensor(2.), tg.tensor(0.5))
        assert repr(a) == "tensor(2., tangent=0.5)"
        assert repr(a * 2) == "tensor(4., tangent=1.0)"
        b = fwAD.make_dual(tg.arange(12.).reshape(3, 4) / 7, tg.ones(3, 4) / 3)
        assert repr(b * 2) == (
            "tensor([[0.0000, 0.2857, 0.5714, 0.8571],\n"
            "        [1.1429, 1.4286, 1.7143, 2.0000],\n"
            "        [2.2857, 2.5714, 2.8571, 3.1429]],\n"
            "       tangent=tensor([[0.6667, 0.6667, 0.6667, 0.6667],\n"
            "        [0.6667, 0.6667, 0.6667, 0.6667],\n"
            "        [0.6667, 0.6667, 0.6667, 0.6667]]))")
        c = fwAD.make_dual(tg.tensor([1., 2.], dtype=tg.double, requires_grad=True), tg.ones(2))
        assert repr(c.sum()) == ("tensor(3., dtype=torch.float64, grad_fn=<SumBackward0>, "
                                 "tangent=2.0)")


def test_custom_function_jvp_and_save_for_forward():
    seen = {}

    class F(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_forward(a)
            return a * b

        @staticmethod
        def jvp(ctx, ta, tb):
            seen["tb"] = tb.tolist()
            seen["saved"] = [t.tolist() for t in ctx.saved_tensors]
            return ta * 2

    class NoJvp(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    with fwAD.dual_level():
        dx = fwAD.make_dual(tg.tensor([1., 2.]), tg.tensor([1., 1.]))
        out = F.apply(dx, tg.tensor([3., 4.]))
        # PyTorch 2.13 prints tensor([3., 8.], tangent=tensor([2., 2.])), and hands jvp a
        # zero tangent for the plain input
        assert repr(out) == "tensor([3., 8.], tangent=tensor([2., 2.]))"
        assert seen == {"tb": [0., 0.], "saved": [[1., 2.]]}
        with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
            NoJvp.apply(dx)


def test_gradcheck_checks_forward_mode():
    class Exp(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.result = x.exp()
            return ctx.result

        @staticmethod
        def jvp(ctx, t):
            return t * ctx.result

    class WrongJvp(Exp):
        @staticmethod
        def jvp(ctx, t):
            return t * 2

    x = tg.randn(3, dtype=tg.double, requires_grad=True)
    kwargs = dict(check_forward_ad=True, check_backward_ad=False, check_undefined_grad=False,
                  check_batched_grad=False)
    assert tg.autograd.gradcheck(Exp.apply, (x,), **kwargs)
    with pytest.raises(tg.autograd.GradcheckError,
                       match="Jacobian computed with forward mode mismatch for output 0"):
        tg.autograd.gradcheck(WrongJvp.apply, (x,), **kwargs)
    assert tg.autograd.gradcheck(lambda a: (a.sin() * a).sum(), (x,), check_forward_ad=True)


def test_modules_with_dual_parameters():
    model = tg.nn.Linear(5, 3)
    x = tg.randn(4, 5)
    params = dict(model.named_parameters())
    tangents = {k: tg.rand_like(p) for k, p in params.items()}
    with fwAD.dual_level():
        dual_params = {k: fwAD.make_dual(p, tangents[k]) for k, p in params.items()}
        via_call = fwAD.unpack_dual(tg.func.functional_call(model, dual_params, x)).tangent
        for k in params:
            delattr(model, k)
            setattr(model, k, dual_params[k])
        via_attrs = fwAD.unpack_dual(model(x)).tangent
    want = x.numpy() @ tangents["weight"].numpy().T + tangents["bias"].numpy()
    np.testing.assert_allclose(via_call.detach().numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(via_attrs.detach().numpy(), want, rtol=1e-6, atol=1e-6)
