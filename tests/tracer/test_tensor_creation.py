"""Creation functions, dtypes, devices, conversions, and tg.nn.functional against numpy."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F


@pytest.mark.parametrize("data,dtype,shape", [
    (1.5, tg.float32, ()), (3, tg.int64, ()), (True, tg.bool, ()), ([1.0, 2.0], tg.float32, (2,)),
    ([1, 2.5], tg.float32, (2,)), ([[1, 2], [3, 4]], tg.int64, (2, 2)), ([], tg.float32, (0,)),
    (np.ones(3), tg.float64, (3,)), (np.ones(3, np.float32), tg.float32, (3,)),
    (np.arange(3, dtype=np.int32), tg.int64, (3,)), (np.float64(2.0), tg.float64, ()),
    ([tg.tensor(1.0), tg.tensor(2.0)], tg.float32, (2,)), ([True, 1], tg.int64, (2,)),
])
def test_tensor_infers_dtype(data, dtype, shape):
    t = tg.tensor(data)
    assert t.dtype is dtype and t.shape == shape


def test_tensor_copies_and_takes_dtype():
    a = np.ones(2, np.float32)
    t = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    a[0] = 5
    assert t.tolist() == [1.0, 1.0] and t.dtype is tg.float64 and t.requires_grad
    assert tg.tensor([1, 2], dtype=float).dtype is tg.float64
    assert tg.tensor([1.7], dtype=tg.long).tolist() == [1]
    with pytest.raises(TypeError):
        tg.tensor("abc")


@pytest.mark.parametrize("make", [tg.ones, tg.zeros, tg.empty, tg.randn, tg.rand])
def test_size_arguments(make):
    assert make(2, 3).shape == (2, 3)
    assert make((2, 3)).shape == (2, 3)
    assert make([4]).shape == (4,)
    assert make().shape == ()
    assert make(2, dtype=tg.float64).dtype is tg.float64
    assert make(2, requires_grad=True, device="cpu").requires_grad
    with pytest.raises(RuntimeError, match="negative dimension"):
        make(-1)


def test_constants():
    assert tg.ones(2).tolist() == [1, 1] and tg.zeros(2).tolist() == [0, 0]
    assert tg.full((2,), 7).dtype is tg.int64 and tg.full((2,), 7.5).tolist() == [7.5, 7.5]
    assert tg.full((1,), True).dtype is tg.bool
    assert tg.eye(2).tolist() == [[1, 0], [0, 1]]
    assert tg.eye(2, 3).shape == (2, 3)
    assert tg.ones(2, dtype=tg.int64).dtype is tg.int64


def test_arange():
    assert tg.arange(5).tolist() == [0, 1, 2, 3, 4] and tg.arange(5).dtype is tg.int64
    assert tg.arange(1, 4).tolist() == [1, 2, 3]
    assert tg.arange(0, 1, 0.25).tolist() == [0, 0.25, 0.5, 0.75]
    assert tg.arange(0, 1, 0.25).dtype is tg.float32
    assert tg.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert tg.arange(3.0).dtype is tg.float32
    assert tg.arange(3, dtype=tg.float64).dtype is tg.float64


def test_likes():
    x = tg.ones(2, 3, dtype=tg.float64)
    for make in (tg.ones_like, tg.zeros_like, tg.randn_like, tg.rand_like, tg.empty_like):
        y = make(x)
        assert y.shape == (2, 3) and y.dtype is tg.float64 and not y.requires_grad
    assert tg.ones_like(x, requires_grad=True).requires_grad
    assert tg.zeros_like(x, dtype=tg.float32).dtype is tg.float32
    assert tg.full_like(x, 3.0).tolist() == [[3.0] * 3] * 2


def test_manual_seed_reproduces():
    tg.manual_seed(7)
    a = tg.randn(5)
    tg.manual_seed(7)
    assert tg.randn(5).tolist() == a.tolist()
    r = tg.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1


def test_devices():
    assert str(tg.device("cpu")) == "cpu" and repr(tg.device("cpu")) == "device(type='cpu')"
    assert tg.cuda.is_available() is False
    dev = tg.device("cuda" if tg.cuda.is_available() else "cpu")
    assert tg.randn(2, device=dev).device == dev
    assert tg.ones(2).to(dev).to("cpu").cpu().shape == (2,)
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.device("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.ones(2, device="cuda:0")
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.ones(2).cuda()


def test_conversions():
    x = tg.tensor([1.5, -2.5], requires_grad=True)
    assert x.float() is x
    assert x.double().dtype is tg.float64 and x.double().grad_fn.name() == "ToCopyBackward0"
    assert x.long().tolist() == [1, -2] and x.long().grad_fn is None
    assert x.to(tg.float64).dtype is tg.float64 and x.to("cpu", tg.float64).dtype is tg.float64
    assert x.to(dtype=tg.int64).dtype is tg.int64
    assert x.type_as(tg.tensor([1])).dtype is tg.int64
    c = x.clone()
    assert c._data is not x._data and c.tolist() == x.tolist()
    assert x.new_zeros(2, 2).dtype is tg.float32 and x.new_ones((3,)).tolist() == [1, 1, 1]
    assert tg.tensor([1, 0]).bool().tolist() == [True, False]
    assert tg.__version__


def test_tensor_methods_from_the_contract():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3 and x.dim() == 2
    assert x.ndim == 2 and x.numel() == 6 and len(x) == 2
    assert [r.tolist() for r in x] == [[0, 1, 2], [3, 4, 5]]
    assert float(x[1, 2]) == 5.0 and int(x[0, 1]) == 1 and x[1, 1].item() == 4.0
    assert np.asarray(x).shape == (2, 3)


# ---------------------------------------------------------------- nn.functional


def np_log_softmax(a, axis):
    z = a - a.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


def test_softmax_log_softmax_stable():
    a = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]], np.float32)
    x = tg.tensor(a)
    np.testing.assert_allclose(F.softmax(x, dim=1).numpy(), np.exp(np_log_softmax(a, 1)),
                               rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x, 1).numpy(), np_log_softmax(a, 1), rtol=1e-6)
    np.testing.assert_allclose(F.softmax(x, 0).numpy(), np.exp(np_log_softmax(a, 0)), rtol=1e-6)
    assert np.isfinite(F.log_softmax(x, 1).numpy()).all()


def test_linear_and_mse():
    a, w, b = np.ones((4, 3), np.float32), np.arange(6, dtype=np.float32).reshape(2, 3), \
        np.array([1.0, -1.0], np.float32)
    out = F.linear(tg.tensor(a), tg.tensor(w, requires_grad=True), tg.tensor(b))
    np.testing.assert_allclose(out.detach().numpy(), a @ w.T + b)
    assert out.grad_fn.name() == "AddmmBackward0"
    assert F.linear(tg.tensor(a), tg.tensor(w)).shape == (4, 2)
    p, t = np.array([1.0, 2.0, 4.0], np.float32), np.array([0.0, 2.0, 1.0], np.float32)
    assert F.mse_loss(tg.tensor(p), tg.tensor(t)).item() == pytest.approx(10 / 3)
    assert F.mse_loss(tg.tensor(p), tg.tensor(t), reduction="sum").item() == pytest.approx(10)
    assert F.mse_loss(tg.tensor(p), tg.tensor(t), reduction="none").tolist() == [1, 0, 9]


def test_binary_cross_entropy_forms_agree_and_are_stable():
    z = np.array([-3.0, 0.5, 2.0], np.float32)
    t = np.array([0.0, 1.0, 1.0], np.float32)
    p = 1 / (1 + np.exp(-z))
    ref = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    assert F.binary_cross_entropy(tg.tensor(p), tg.tensor(t)).item() == pytest.approx(ref, 1e-5)
    assert F.binary_cross_entropy_with_logits(tg.tensor(z), tg.tensor(t)).item() == \
        pytest.approx(ref, 1e-5)
    big = F.binary_cross_entropy_with_logits(tg.tensor([1000.0, -1000.0]), tg.tensor([0.0, 1.0]),
                                             reduction="none")
    assert big.tolist() == [1000.0, 1000.0]
    pw = F.binary_cross_entropy_with_logits(tg.tensor(z), tg.tensor(t), pos_weight=tg.tensor(2.0))
    ref_pw = -(2 * t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    assert pw.item() == pytest.approx(ref_pw, 1e-5)
    assert F.binary_cross_entropy(tg.tensor([0.0]), tg.tensor([1.0])).item() == 100.0


def test_cross_entropy():
    a = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1e4, 0.0, -1e4]], np.float32)
    t = np.array([0, 2, 0])
    logp = np_log_softmax(a.astype(np.float64), 1)
    ref = -logp[np.arange(3), t]
    out = F.cross_entropy(tg.tensor(a), tg.tensor(t))
    assert out.item() == pytest.approx(ref.mean(), rel=1e-5)
    none = F.cross_entropy(tg.tensor(a), tg.tensor(t), reduction="none")
    np.testing.assert_allclose(none.numpy(), ref, rtol=1e-5, atol=1e-6)
    ignored = F.cross_entropy(tg.tensor(a), tg.tensor([0, -100, 0]))
    assert ignored.item() == pytest.approx(ref[[0, 2]].mean(), rel=1e-5)
    w = np.array([1.0, 2.0, 3.0], np.float32)
    weighted = F.cross_entropy(tg.tensor(a), tg.tensor(t), weight=tg.tensor(w))
    assert weighted.item() == pytest.approx((ref * w[t]).sum() / w[t].sum(), rel=1e-5)
    probs = np.eye(3, dtype=np.float32)[t]
    soft = F.cross_entropy(tg.tensor(a), tg.tensor(probs))
    assert soft.item() == pytest.approx(ref.mean(), rel=1e-5)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(tg.tensor(a), tg.tensor([0, 3, 1]))
