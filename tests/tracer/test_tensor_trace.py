"""make_ir / trace: exact IR text, constants, static arguments, and errors naming the user's line."""
import inspect

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tracer.errors import TracerError
from tapegrad.tracer.trace import trace, unflatten


def line_of(marker: str) -> int:
    """The line of this file that contains `marker` (so expected texts survive edits)."""
    src = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    return next(i for i, s in enumerate(src, 1) if marker in s and "line_of" not in s)


def f32(*shape):
    return np.ones(shape, np.float32)


def test_make_ir_matmul_tanh_sum():
    fn = tg.make_ir(lambda x, w: (x @ w).tanh().sum())(f32(2, 3), f32(3, 4))  # MARK-A
    n = line_of("MARK-A")
    assert str(fn) == (
        "func @lambda(%x: f32[2,3], %w: f32[3,4]) -> (f32[]) {\n"
        f"  %0: f32[2,4] = matmul %x, %w  # test_tensor_trace.py:{n}\n"
        f"  %1: f32[2,4] = tanh %0  # test_tensor_trace.py:{n}\n"
        f"  %2: f32[] = reduce_sum %1 axes=(0, 1)  # test_tensor_trace.py:{n}\n"
        "  return %2\n"
        "}")
    assert str(tg.ir.verify(tg.ir.parse(str(fn)))) == str(fn)


def test_make_ir_scalars_broadcast_and_mean():
    def f(x, s):
        return (x * s + 1.0).mean(0)  # MARK-B
    fn = tg.make_ir(f)(f32(2, 3), 2.0)
    n = line_of("MARK-B")
    assert str(fn) == (
        "func @f(%x: f32[2,3], %s: f32[]) -> (f32[3]) {\n"
        f"  %0: f32[2,3] = broadcast %s shape=(2, 3)  # test_tensor_trace.py:{n}\n"
        f"  %1: f32[2,3] = mul %x, %0  # test_tensor_trace.py:{n}\n"
        f"  %2: f32[2,3] = full value=1.0  # test_tensor_trace.py:{n}\n"
        f"  %3: f32[2,3] = add %1, %2  # test_tensor_trace.py:{n}\n"
        f"  %4: f32[3] = reduce_sum %3 axes=(0,)  # test_tensor_trace.py:{n}\n"
        f"  %5: f32[3] = full value=2.0  # test_tensor_trace.py:{n}\n"
        f"  %6: f32[3] = div %4, %5  # test_tensor_trace.py:{n}\n"
        "  return %6\n"
        "}")


def test_captured_tensors_become_constants_and_tuples_flatten():
    c = tg.tensor([1.0, 2.0])

    def g(x, *rest):
        return (x * c, x.exp()), rest[0].relu()
    fn, tree = trace(g, (tg.ones(2), np.zeros((2, 2), np.float64)))
    text = str(fn)
    assert text.startswith("func @g(%x: f32[2], %rest0: f64[2,2]) -> (f32[2], f32[2], f64[2,2])")
    assert "= constant value=[1.0, 2.0]" in text
    assert repr(tree) == "PyTreeDef(((*, *), *))"
    assert unflatten(tree, [1, 2, 3]) == ((1, 2), 3)
    assert str(tg.ir.parse(text)) == text


def test_static_arguments_specialise():
    fn = tg.make_ir(lambda x, n: x ** n, static_argnums=(1,))(f32(3), 3)
    assert [p.hint for p in fn.params] == ["x"]
    assert "full value=3" in str(fn)


def test_every_operation_traces_and_verifies():
    import tapegrad.nn.functional as F

    def everything(x, w, t):
        y = (x @ w).relu().clamp(max=3.0) - x.sum(1, keepdim=True)
        z = tg.where(y > 0, y.sigmoid(), y.tanh()) * 2 / (1 + y.abs())
        parts = [z[0], z[1:, ::2].flatten(), z.max(dim=1).values, z.norm(dim=0)]
        a = tg.cat(parts).unsqueeze(0).expand(2, -1)
        b = tg.stack([F.softmax(z, 1), F.log_softmax(z, 1)]).permute(1, 0, 2).mean()
        loss = F.cross_entropy(z, t) + F.mse_loss(z, tg.zeros(3, 4)) + \
            F.binary_cross_entropy_with_logits(z, tg.ones(3, 4))
        return a.sum() + b + loss + z.t().reshape(-1).exp().log().sqrt().sin().cos()[0]
    fn = tg.make_ir(everything)(f32(3, 5), f32(5, 4), np.array([0, 3, 1]))
    tg.ir.verify(fn)
    assert str(tg.ir.parse(str(fn))) == str(fn)
    (out,) = tg.runtime.interpret(fn, [f32(3, 5), f32(5, 4), np.array([0, 3, 1])])
    eager = everything(tg.ones(3, 5), tg.ones(5, 4), tg.tensor([0, 3, 1]))
    np.testing.assert_allclose(out, eager.item(), rtol=1e-5)


@pytest.mark.parametrize("body,what", [
    (lambda x: x if x > 0 else -x, "bool(tensor)"),
    (lambda x: float(x.sum()), "float(tensor)"),
    (lambda x: x.sum().item(), "Tensor.item()"),
    (lambda x: int(x[0]), "int(tensor)"),
    (lambda x: x.numpy(), "Tensor.numpy()"),
])
def test_control_flow_on_traced_values_names_the_line(body, what):
    with pytest.raises(TracerError) as info:
        tg.make_ir(body)(f32(3))
    msg = str(info.value)
    assert what in msg
    assert "test_tensor_trace.py:" in msg


def test_if_statement_error_points_at_the_if():
    def f(x):
        if x.sum() > 0:  # MARK-IF
            return x
        return -x
    with pytest.raises(TracerError, match=f"test_tensor_trace.py:{line_of('MARK-IF')}"):
        tg.make_ir(f)(f32(3))


def test_shape_errors_name_op_shapes_file_and_line():
    with pytest.raises(RuntimeError) as info:
        tg.ones(2, 3) + tg.ones(4)  # MARK-SHAPE
    msg = str(info.value)
    assert "add" in msg and "[2, 3]" in msg and "[4]" in msg
    assert f"test_tensor_trace.py:{line_of('MARK-SHAPE')}" in msg
    with pytest.raises(RuntimeError) as info:
        tg.make_ir(lambda a, b: a @ b)(f32(2, 3), f32(4, 5))  # MARK-MM
    msg = str(info.value)
    assert "matmul" in msg and "2x3" in msg and "4x5" in msg
    assert f"test_tensor_trace.py:{line_of('MARK-MM')}" in msg


def test_traced_tensors_print_their_type():
    seen = []
    tg.make_ir(lambda x: seen.append(repr(x)) or x)(f32(2))
    assert seen == ["tensor(<traced f32[2]>)"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="cannot trace an argument of type str"):
        tg.make_ir(lambda x: x)("hello")
