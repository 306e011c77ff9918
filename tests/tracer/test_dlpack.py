"""DLPack: tensors cross to numpy (always) and to PyTorch / JAX (where installed) without a copy."""
import numpy as np
import pytest

import tapegrad as tg

from . import dlpack_interop


def test_numpy_reads_a_tensor_without_copy():
    t = tg.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    assert np.shares_memory(a, t.numpy()) and a.shape == (2, 3) and a.dtype == np.float32
    a[0, 0] = 7.0  # the consumer's write is the tensor's
    assert t.tolist()[0][0] == 7.0
    assert t.__dlpack_device__() == (1, 0)  # kDLCPU, device 0


@pytest.mark.parametrize("array", [
    np.arange(6.0).reshape(2, 3),                      # float64
    np.arange(6, dtype=np.float32)[::2],               # strided view
    np.arange(12.0).reshape(3, 4).T,                   # transposed
    np.array(3.5),                                     # 0-d
    np.zeros((0, 3)),                                  # empty
    np.array([True, False]),
    np.arange(4, dtype=np.int64),
])
def test_a_tensor_wraps_numpy_memory(array):
    t = tg.from_dlpack(array)
    assert t.shape == array.shape and t.tolist() == array.tolist()
    assert np.shares_memory(t.numpy(), array) or array.size == 0
    back = np.from_dlpack(t)
    assert back.tolist() == array.tolist()


def test_writes_go_both_ways():
    a = np.zeros(3)
    t = tg.from_dlpack(a)
    a[1] = 5.0
    t.add_(1.0)
    assert t.tolist() == [1.0, 6.0, 1.0] and a.tolist() == [1.0, 6.0, 1.0]


def test_legacy_capsules_round_trip():
    t = tg.tensor([1.0, 2.0, 3.0])
    capsule = tg.utils.dlpack.to_dlpack(t)
    assert type(capsule).__name__ == "PyCapsule"
    back = tg.utils.dlpack.from_dlpack(capsule)
    assert np.shares_memory(back.numpy(), t.numpy())
    assert tg.from_dlpack(t) is t


def test_read_only_producer_gives_a_read_only_tensor():
    a = np.arange(3.0)
    a.flags.writeable = False
    t = tg.from_dlpack(a)
    assert not t.numpy().flags.writeable and np.shares_memory(t.numpy(), a)
    with pytest.raises(RuntimeError, match="read-only"):
        t.mul_(2.0)
    assert (t * 2).tolist() == [0.0, 2.0, 4.0]


def test_export_refuses_what_pytorch_refuses():
    with pytest.raises(BufferError, match="require gradient"):
        tg.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError, match="stream"):
        tg.ones(2).__dlpack__(stream=1)
    # to_dlpack exports the data of a tensor that requires grad, as PyTorch's does
    x = tg.ones(2, requires_grad=True)
    shared = tg.utils.dlpack.from_dlpack(tg.utils.dlpack.to_dlpack(x))
    assert shared.tolist() == [1.0, 1.0] and not shared.requires_grad


def test_copy_and_device_arguments():
    a = np.arange(3.0)
    own = tg.from_dlpack(a, copy=True)
    assert not np.shares_memory(own.numpy(), a) and own.tolist() == a.tolist()
    assert np.shares_memory(tg.from_dlpack(a, device="cpu").numpy(), a)
    t = tg.ones(2)
    assert tg.from_dlpack(t) is t and tg.from_dlpack(t, copy=True) is not t
    with pytest.raises(NotImplementedError, match="torch.from_dlpack.*device='cuda'.*coverage"):
        tg.from_dlpack(a, device="cuda")


def test_unsupported_dtype_says_so():
    # sharing memory needs tapegrad's own dtype; converting would be a silent copy
    with pytest.raises(NotImplementedError, match="complex64.*torch-coverage.md"):
        tg.from_dlpack(np.zeros(2, np.complex64))


@pytest.mark.parametrize("name", list(dlpack_interop.CHECKS))
def test_with_torch_and_jax_where_installed(name):
    lib, check = dlpack_interop.CHECKS[name]
    mod = pytest.importorskip(lib)
    pytest.importorskip("jax.dlpack" if lib == "jax" else "torch.utils.dlpack")
    check(tg, mod)


def test_recorded_interop_run_passed():
    """The side venv's run (dlpack_interop.py) as last recorded: every direction zero-copy."""
    from pathlib import Path
    lines = (Path(__file__).parent / "data" / "dlpack_interop.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == list(dlpack_interop.CHECKS)
    assert all("zero-copy ok" in line for line in lines)
