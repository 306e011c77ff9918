"""Where checkpoints come from and go to, and what a damaged or foreign file says."""
import io
import pathlib
import pickle

import numpy as np
import pytest

import tapegrad as tg

from .helpers_ckpt import archive, data_file, records, with_pickle


class _Stream:
    """A file object that can only read or write forward (a pipe, a socket)."""

    def __init__(self, data=b""):
        self.data, self.pos = bytearray(data), 0

    def read(self, n=-1):
        out = self.data[self.pos:] if n < 0 else self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return bytes(out)

    def write(self, b):
        self.data += b
        return len(b)

    def seekable(self):
        return False


def _state():
    return {"w": tg.arange(6.0).reshape(2, 3), "b": tg.tensor([1, 2], dtype=tg.int16)}


def _check(loaded):
    assert loaded["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert loaded["b"].dtype == tg.int16 and loaded["b"].tolist() == [1, 2]


def test_paths_pathlike_bytesio_and_streams(tmp_path):
    tg.save(_state(), str(tmp_path / "a.pt"))
    _check(tg.load(str(tmp_path / "a.pt")))
    tg.save(_state(), tmp_path / "b.pt")
    _check(tg.load(pathlib.Path(tmp_path / "b.pt")))
    buffer = io.BytesIO()
    tg.save(_state(), buffer)
    buffer.seek(0)
    _check(tg.load(buffer))
    stream = _Stream()
    tg.save(_state(), stream)
    assert bytes(stream.data) == buffer.getvalue()
    _check(tg.load(_Stream(stream.data)))
    with open(tmp_path / "a.pt", "rb") as f:
        _check(tg.load(f))


@pytest.mark.parametrize("map_location", [
    "cpu", tg.device("cpu"), {"cuda:0": "cpu"}, lambda storage, location: storage])
def test_map_location_onto_the_cpu(map_location):
    _check(tg.load(_saved(), map_location=map_location))


def _saved() -> io.BytesIO:
    buffer = io.BytesIO()
    tg.save(_state(), buffer)
    buffer.seek(0)
    return buffer


def _on_cuda() -> io.BytesIO:
    """The same checkpoint with its storages saved on 'cuda:0'."""
    blob = _saved().getvalue()
    pkl = next(v for k, v in records(blob).items() if k.endswith("data.pkl"))
    moved = pkl.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    assert moved != pkl
    return io.BytesIO(with_pickle(blob, moved))


def test_a_cuda_checkpoint_needs_map_location():
    with pytest.raises(RuntimeError, match=r"saved on 'cuda:0'.*map_location='cpu'"):
        tg.load(_on_cuda())
    _check(tg.load(_on_cuda(), map_location="cpu"))
    _check(tg.load(_on_cuda(), map_location={"cuda:0": "cpu"}))
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.load(_on_cuda(), map_location={"cuda:0": "cuda:1"})


def _damaged(tmp_path, blob: bytes) -> str:
    path = tmp_path / "damaged.pt"
    path.write_bytes(blob)
    return str(path)


def test_truncated_zip_names_the_file(tmp_path):
    blob = _saved().getvalue()
    path = _damaged(tmp_path, blob[:len(blob) // 2])
    with pytest.raises(tg.serialization.CheckpointError, match=r"damaged\.pt.*truncated"):
        tg.load(path)


def test_missing_pickle_record(tmp_path):
    entries = {k: v for k, v in records(_saved().getvalue()).items()
               if not k.endswith("data.pkl")}
    with pytest.raises(tg.serialization.CheckpointError, match=r"damaged\.pt.*missing data\.pkl"):
        tg.load(_damaged(tmp_path, archive(entries)))


def test_missing_storage_record(tmp_path):
    entries = {k: v for k, v in records(_saved().getvalue()).items() if k != "archive/data/1"}
    with pytest.raises(tg.serialization.CheckpointError,
                       match=r"damaged\.pt' has no record archive/data/1.*missing storage"):
        tg.load(_damaged(tmp_path, archive(entries)))


def test_wrong_storage_size(tmp_path):
    entries = records(_saved().getvalue())
    entries["archive/data/0"] = entries["archive/data/0"][:-4]
    with pytest.raises(tg.serialization.CheckpointError,
                       match=r"damaged\.pt.*data/0 holds 20 bytes.*6 elements.*wrong storage"):
        tg.load(_damaged(tmp_path, archive(entries)))


def test_corrupted_storage_bytes_fail_the_checksum(tmp_path):
    blob = bytearray(_saved().getvalue())
    at = blob.find(np.arange(6.0, dtype=np.float32).tobytes())
    blob[at + 5] ^= 0xFF
    with pytest.raises(tg.serialization.CheckpointError, match=r"damaged\.pt.*data/0.*CRC"):
        tg.load(_damaged(tmp_path, bytes(blob)))


def test_truncated_pickle(tmp_path):
    blob = _saved().getvalue()
    pkl = next(v for k, v in records(blob).items() if k.endswith("data.pkl"))
    with pytest.raises(pickle.UnpicklingError, match=r"damaged\.pt.*truncated"):
        tg.load(_damaged(tmp_path, with_pickle(blob, pkl[:len(pkl) // 2])))


def test_a_layout_outside_its_storage_is_refused():
    """A size/stride that reaches past the storage would read foreign memory: refused."""
    blob = _saved().getvalue()
    pkl = next(v for k, v in records(blob).items() if k.endswith("data.pkl"))
    bad = pkl.replace(b"K\x02K\x03\x86", b"K\x03K\x03\x86", 1)  # size (2, 3) -> (3, 3)
    assert bad != pkl
    with pytest.raises(tg.serialization.CheckpointError,
                       match=r"size \[3, 3\].*needs 9 elements.*holds 6"):
        tg.load(io.BytesIO(with_pickle(blob, bad)))


def test_legacy_and_torchscript_files_say_what_they_are(tmp_path):
    with pytest.raises(tg.serialization.CheckpointError, match="legacy.*not read"):
        tg.load(data_file("torch", "torch_legacy"))
    with pytest.raises(tg.serialization.CheckpointError, match="TorchScript"):
        tg.load(data_file("torch", "torch_script"))
    with pytest.raises(tg.serialization.CheckpointError, match="not a PyTorch checkpoint"):
        tg.load(_damaged(tmp_path, b"hello, world"))
    with pytest.raises(tg.serialization.CheckpointError, match="is empty"):
        tg.load(_damaged(tmp_path, b""))
    with pytest.raises(FileNotFoundError, match="no such file"):
        tg.load(tmp_path / "absent.pt")


def test_what_save_refuses():
    class Custom:
        pass

    with pytest.raises(TypeError, match=r"Custom at obj\['model'\]\[1\]"):
        tg.save({"model": [1, Custom()]}, io.BytesIO())
    with pytest.raises(TypeError, match="ndarray"):
        tg.save(np.zeros(2), io.BytesIO())
    with pytest.raises(NotImplementedError, match="legacy"):
        tg.save({}, io.BytesIO(), _use_new_zipfile_serialization=False)


def test_save_of_a_traced_tensor_is_refused():
    def f(x):
        tg.save(x, io.BytesIO())
        return x.sum()

    with pytest.raises(TypeError, match="being traced"):
        tg.grad(f)(tg.ones(2))
