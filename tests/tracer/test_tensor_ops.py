"""Every eager operation against numpy, over 0-d, broadcast, size-1 and size-0 shapes."""
import numpy as np
import pytest

import tapegrad as tg

rng = np.random.default_rng(0)

SHAPES = [(), (1,), (3,), (2, 3), (4, 1, 3), (0,), (2, 0)]
BROADCAST_PAIRS = [((), (2, 3)), ((3,), (2, 3)), ((2, 1), (1, 3)), ((4, 1, 3), (2, 1)),
                   ((2, 3), (2, 3)), ((0,), (1,)), ((2, 0), (2, 1))]


def arr(shape, dtype=np.float32, positive=False):
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return np.asarray(a, dtype=dtype)


def check(t, expected, dtype=None):
    assert isinstance(t, tg.Tensor)
    expected = np.asarray(expected)
    assert tuple(t.shape) == expected.shape
    assert t.numpy().dtype == (dtype or expected.dtype)
    np.testing.assert_allclose(t.numpy(), expected, rtol=1e-5, atol=1e-6)


UNARY = {
    "exp": (np.exp, False), "log": (np.log, True), "sqrt": (np.sqrt, True),
    "sin": (np.sin, False), "cos": (np.cos, False), "tanh": (np.tanh, False),
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), False), "relu": (lambda a: np.maximum(a, 0), False),
    "abs": (np.abs, False), "neg": (np.negative, False),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary(name, shape, dtype):
    ref, positive = UNARY[name]
    a = arr(shape, dtype, positive)
    t = tg.tensor(a)
    check(getattr(tg, name)(t), ref(a).astype(dtype))
    check(getattr(t, name)(), ref(a).astype(dtype))


def test_float_functions_promote_integers_to_float32():
    t = tg.tensor([1, 2, 3])
    check(tg.exp(t), np.exp(np.array([1, 2, 3], np.float32)))
    check(t.sqrt(), np.sqrt(np.array([1, 2, 3], np.float32)))
    check(t.abs(), np.array([1, 2, 3]))
    check(-t, np.array([-1, -2, -3]))


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
def test_binary_broadcasting(name, shapes):
    a, b = arr(shapes[0]), arr(shapes[1], positive=True)
    check(getattr(tg, name)(tg.tensor(a), tg.tensor(b)), BINARY[name](a, b))


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
def test_operators(shapes):
    a, b = arr(shapes[0], positive=True), arr(shapes[1], positive=True)
    x, y = tg.tensor(a), tg.tensor(b)
    check(x + y, a + b)
    check(x - y, a - b)
    check(x * y, a * b)
    check(x / y, a / b)
    check(x ** y, a ** b)
    check(-x, -a)


def test_reflected_scalar_operators():
    a = arr((2, 3), positive=True)
    x = tg.tensor(a)
    check(2 + x, 2 + a)
    check(2 - x, 2 - a)
    check(2 * x, 2 * a)
    check(2 / x, (2 / a).astype(np.float32))
    check(2 ** x, (2 ** a).astype(np.float32))
    check(x ** 2, a ** 2)
    check(x + 1.5, a + 1.5)


def test_numpy_operands_defer_to_tensor():
    a, b = arr((3,)), arr((3,))
    check(b + tg.tensor(a), a + b)
    check(np.float32(2) * tg.tensor(a), 2 * a)


def test_add_sub_alpha():
    a, b = arr((3,)), arr((3,))
    check(tg.add(tg.tensor(a), tg.tensor(b), alpha=2), a + 2 * b)
    check(tg.sub(tg.tensor(a), tg.tensor(b), alpha=3), a - 3 * b)


@pytest.mark.parametrize("a_dtype,b,expected", [
    (np.int64, 2, np.int64), (np.int64, 2.5, np.float32), (np.float32, 2, np.float32),
    (np.float64, 2.5, np.float64), (np.bool_, 1, np.int64), (np.bool_, True, np.bool_),
])
def test_promotion_with_scalars(a_dtype, b, expected):
    x = tg.tensor(np.array([1, 0, 1], dtype=a_dtype))
    out = x * b
    assert out.numpy().dtype == expected


def test_promotion_between_tensors():
    f32, f64 = tg.ones(3), tg.ones(3, dtype=tg.float64)
    i64 = tg.tensor([1, 2, 3])
    assert (f32 + f64).dtype is tg.float64
    assert (i64 + f32).dtype is tg.float32
    assert (f32 * tg.tensor(2.0, dtype=tg.float64)).dtype is tg.float32  # 0-d acts as scalar
    assert (i64 / i64).dtype is tg.float32
    check(i64 / tg.tensor([2, 2, 2]), np.array([0.5, 1, 1.5], np.float32))
    check(i64 ** 2, np.array([1, 4, 9]))


def test_comparisons_return_bool_without_grad():
    a, b = arr((2, 3)), arr((3,))
    x, y = tg.tensor(a, requires_grad=True), tg.tensor(b)
    for op, ref in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                    ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]:
        out = getattr(tg, op)(x, y)
        check(out, ref(a, b))
        assert out.grad_fn is None and not out.requires_grad
    check(x > 0, a > 0)
    check(x <= y, a <= b)
    check(x == x, np.ones((2, 3), bool))
    check(x != 0.5, a != 0.5)
    assert (x == None) is False  # noqa: E711  (Python falls back to identity)


def test_where_clamp():
    a, b = arr((2, 3)), arr((3,))
    x = tg.tensor(a)
    check(tg.where(x > 0, x, tg.tensor(b)), np.where(a > 0, a, b))
    check(tg.where(x > 0, x, 0.0), np.where(a > 0, a, 0))
    check(x.clamp(min=-0.5), np.maximum(a, -0.5))
    check(x.clamp(max=0.5), np.minimum(a, 0.5))
    check(tg.clamp(x, -0.3, 0.3), np.clip(a, -0.3, 0.3))
    check(x.clamp(1.0, 0.0), np.full((2, 3), 0.0, np.float32))  # min > max gives max
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        x.clamp()


def test_nan_propagates_through_max_like_ops():
    x = tg.tensor([float("nan"), 1.0, -1.0])
    for out in [x.relu(), tg.maximum(x, tg.zeros(3)), tg.minimum(x, tg.zeros(3)),
                x.clamp(-0.5, 0.5), x.clamp(min=0)]:
        assert np.isnan(out.numpy()[0])
    assert np.isnan(x.max().item()) and np.isnan(x.min().item())
    assert np.isnan(x.max(0).values.item()) and x.max(0).indices.item() == 0


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (4, 1, 3), (2, 0)])
def test_sum_mean(shape):
    a = arr(shape)
    x = tg.tensor(a)
    check(x.sum(), a.sum(dtype=np.float32))
    if a.size:
        check(x.mean(), a.mean(dtype=np.float32))
    for d in range(-len(shape), len(shape)):
        check(x.sum(d), a.sum(d))
        check(x.sum(d, keepdim=True), a.sum(d, keepdims=True))
        if a.shape[d]:
            check(tg.mean(x, d), a.mean(d))
            check(x.mean(d, keepdim=True), a.mean(d, keepdims=True))
    if len(shape) >= 2:
        check(x.sum((0, -1)), a.sum((0, len(shape) - 1)))


def test_sum_of_integers_and_bools_is_int64():
    assert tg.tensor([1, 2, 3]).sum().item() == 6
    assert tg.tensor([1, 2, 3]).sum().dtype is tg.int64
    assert tg.tensor([True, True, False]).sum().dtype is tg.int64
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        tg.tensor([1, 2]).mean()


def test_mean_of_empty_is_nan():
    assert np.isnan(tg.zeros(0).mean().item())


@pytest.mark.parametrize("shape", [(5,), (2, 3), (3, 1, 4)])
def test_max_min(shape):
    a = arr(shape)
    x = tg.tensor(a)
    check(x.max(), a.max())
    check(tg.min(x), a.min())
    for d in range(len(shape)):
        values, indices = x.max(dim=d)
        check(values, a.max(d))
        check(indices, a.argmax(d))
        m = tg.min(x, d, keepdim=True)
        check(m.values, a.min(d, keepdims=True))
        check(m.indices, a.argmin(d)[..., None].reshape(m.values.shape))
    check(tg.max(x, tg.zeros(shape)), np.maximum(a, 0))
    check(x.argmax(), np.argmax(a))
    check(x.amax(0), a.max(0))


def test_max_of_empty_raises():
    # PyTorch 2 raises RuntimeError here (an empty reduced *dim* is an IndexError)
    with pytest.raises(RuntimeError):
        tg.zeros(0).max()


def test_norm():
    a = arr((2, 3))
    x = tg.tensor(a)
    check(x.norm(), np.linalg.norm(a.ravel()))
    check(x.norm(p=1), np.abs(a).sum())
    check(x.norm(p=float("inf")), np.abs(a).max())
    check(x.norm(p=3), (np.abs(a) ** 3).sum() ** (1 / 3))
    check(x.norm(dim=1), np.linalg.norm(a, axis=1))


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((3,), (5, 3, 4)),
                                   ((2, 1, 2, 3), (4, 3, 2)), ((2, 0), (0, 3))])
def test_matmul(sa, sb):
    a, b = arr(sa), arr(sb)
    check(tg.matmul(tg.tensor(a), tg.tensor(b)), a @ b)
    check(tg.tensor(a) @ tg.tensor(b), a @ b)


def test_mm_bmm_dot_and_errors():
    a, b = arr((2, 3)), arr((3, 4))
    check(tg.mm(tg.tensor(a), tg.tensor(b)), a @ b)
    check(tg.tensor(a).mm(tg.tensor(b)), a @ b)
    check(tg.bmm(tg.tensor(a[None]), tg.tensor(b[None])), (a @ b)[None])
    check(tg.dot(tg.tensor(b[:, 0]), tg.tensor(b[:, 1])), b[:, 0] @ b[:, 1])
    with pytest.raises(RuntimeError, match="self must be a matrix"):
        tg.mm(tg.ones(3), tg.ones(3, 3))
    with pytest.raises(RuntimeError, match="both arguments to matmul need to be at least 1D"):
        tg.matmul(tg.tensor(1.0), tg.ones(3))


def test_shape_ops():
    a = arr((2, 3, 4))
    x = tg.tensor(a)
    check(x.reshape(6, 4), a.reshape(6, 4))
    check(x.reshape(-1), a.reshape(-1))
    check(x.view(4, -1), a.reshape(4, -1))
    check(x.reshape((3, 8)), a.reshape(3, 8))
    check(x.flatten(), a.ravel())
    check(x.flatten(1), a.reshape(2, 12))
    check(x.transpose(0, 2), a.transpose(2, 1, 0))
    check(x.permute(2, 0, 1), a.transpose(2, 0, 1))
    check(x.permute((1, 0, 2)), a.transpose(1, 0, 2))
    check(x.unsqueeze(1), a[:, None])
    check(x.unsqueeze(-1), a[..., None])
    check(x[:, :1].squeeze(), a[:, 0])
    check(x[:1].squeeze(0), a[0])
    check(x[:1].squeeze(1), a[:1])  # a dim that is not 1 stays
    check(x[:, :1].expand(2, 5, 4), np.broadcast_to(a[:, :1], (2, 5, 4)))
    check(x[:, :1].expand(-1, 5, -1), np.broadcast_to(a[:, :1], (2, 5, 4)))
    check(x[0].t(), a[0].T)
    check(x[0].T, a[0].T)
    check(x.T, a.transpose(2, 1, 0))
    check(tg.tensor(1.0).reshape(1, 1), np.ones((1, 1), np.float32))
    with pytest.raises(RuntimeError, match="shape '\\[5, -1\\]' is invalid for input of size 24"):
        x.reshape(5, -1)
    with pytest.raises(RuntimeError, match="The expanded size of the tensor"):
        x.expand(3, 3, 4)


def test_cat_stack():
    a, b = arr((2, 3)), arr((1, 3))
    check(tg.cat([tg.tensor(a), tg.tensor(b)]), np.concatenate([a, b]))
    check(tg.cat((tg.tensor(a), tg.tensor(a)), dim=-1), np.concatenate([a, a], -1))
    check(tg.stack([tg.tensor(a), tg.tensor(a)]), np.stack([a, a]))
    check(tg.stack([tg.tensor(a), tg.tensor(a)], dim=2), np.stack([a, a], 2))
    check(tg.cat([tg.tensor([1, 2]), tg.tensor([1.5])]), np.array([1, 2, 1.5], np.float32))
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        tg.cat([tg.tensor(a), tg.ones(2, 4)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        tg.stack([tg.tensor(a), tg.tensor(b)])
    with pytest.raises(RuntimeError, match="expected a non-empty list"):
        tg.cat([])


INDEXES = [0, -1, (1,), (0, 1), (slice(None), 1), (Ellipsis, 0), (None,), (0, None, slice(1, None)),
           slice(1, 3), slice(None, None, 2), slice(-2, None), (slice(None), slice(None, -1, 2)),
           (Ellipsis, None), (1, Ellipsis, slice(0, 5, 3)), slice(5, 10), slice(3, 1),
           (np.int64(1), slice(None)), slice(None), Ellipsis]


@pytest.mark.parametrize("index", INDEXES, ids=str)
def test_getitem(index):
    a = arr((3, 4, 5))
    check(tg.tensor(a)[index], a[index])


def test_getitem_with_0d_integer_tensor():
    a = arr((3, 4))
    check(tg.tensor(a)[tg.tensor(2)], a[2])


def test_index_errors():
    x = tg.ones(2, 3)
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x[2]
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 1 with size 3"):
        x[0, -4]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        tg.tensor(1.0)[0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x[[0, 2]]  # advanced indexing: tests/tracer/test_advanced_indexing.py
    with pytest.raises(IndexError, match="only integers, slices"):
        x[1.5]


@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.sum(-3), lambda x: x.mean(5), lambda x: x.max(2),
    lambda x: x.transpose(0, 2), lambda x: x.unsqueeze(3), lambda x: x.unsqueeze(-4),
    lambda x: x.squeeze(2), lambda x: x.size(2), lambda x: tg.cat([x, x], 2),
    lambda x: x.flatten(0, 2), lambda x: x.softmax(2) if hasattr(x, "softmax") else x.sum(9),
])
def test_dim_out_of_range_is_index_error(call):
    with pytest.raises(IndexError, match="Dimension out of range"):
        call(tg.ones(2, 3))


def test_setitem():
    a = arr((3, 4))
    x = tg.tensor(a)
    x[0] = 5.0
    a[0] = 5.0
    x[1:, ::2] = tg.tensor([[1.0, 2.0]])
    a[1:, ::2] = [[1.0, 2.0]]
    x[-1, -1] = tg.tensor(7)
    a[-1, -1] = 7
    x[..., 1] = tg.tensor([1.0, 2.0, 3.0])
    a[..., 1] = [1.0, 2.0, 3.0]
    check(x, a)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        x[0] = tg.ones(3)
