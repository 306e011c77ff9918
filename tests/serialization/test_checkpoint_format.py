"""What tg.save writes is what PyTorch's reader needs: records, layout, opcodes, globals.

torch is not a test dependency; the recorded files prove PyTorch reads tg.save's
output (test_checkpoint_recorded.py), and these checks pin down why it can: the
zip records and their 64-byte alignment, and a pickle made only of the opcodes
and globals `torch/_weights_only_unpickler.py` accepts."""
import io
import pickle
import pickletools
import struct
import zipfile

import pytest

import tapegrad as tg

from .cases import TAPEGRAD_CASES, tapegrad_case

#: the opcodes PyTorch 2.13's weights-only unpickler implements
TORCH_WEIGHTS_ONLY_OPCODES = {
    "PROTO", "GLOBAL", "REDUCE", "BUILD", "NEWOBJ", "APPEND", "APPENDS", "SETITEM", "SETITEMS",
    "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "NONE", "NEWFALSE", "NEWTRUE",
    "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "BININT", "BININT1", "BININT2",
    "BINFLOAT", "BINUNICODE", "SHORT_BINSTRING", "BINPERSID", "BINGET", "LONG_BINGET",
    "BINPUT", "LONG_BINPUT", "LONG1", "STOP"}
#: globals its default allow-list holds that tg.save may use
TORCH_ALLOWED_GLOBALS = {
    "collections OrderedDict", "torch._utils _rebuild_tensor_v2",
    "torch._utils _rebuild_parameter", "_codecs encode", "builtins set", "builtins complex",
    "builtins bytearray", "torch Size", "torch device"} | {
    f"torch {n}Storage" for n in ("Half", "Float", "Double", "Char", "Short", "Int", "Long",
                                  "Byte", "Bool")} | {
    f"torch {n}" for n in ("float16", "float32", "float64", "int8", "int16", "int32",
                           "int64", "uint8", "bool")}


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    tg.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(TAPEGRAD_CASES))
def test_records_alignment_and_pickle_match_torchs_reader(name):
    blob = _saved(tapegrad_case(tg, name))
    z = zipfile.ZipFile(io.BytesIO(blob))
    names = [i.filename for i in z.infolist()]
    storages = [n for n in names if n.startswith("archive/data/")]
    assert names == (["archive/data.pkl", "archive/.format_version",
                      "archive/.storage_alignment", "archive/byteorder"] + storages
                     + ["archive/version", "archive/.data/serialization_id"])
    assert storages == [f"archive/data/{k}" for k in range(len(storages))]
    assert z.read("archive/version") == b"3\n" and z.read("archive/byteorder") == b"little"
    assert z.read("archive/.storage_alignment") == b"64"
    for info in z.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        name_len, extra_len = struct.unpack("<HH", blob[info.header_offset + 26:
                                                        info.header_offset + 30])
        start = info.header_offset + 30 + name_len + extra_len
        assert start % 64 == 0, info.filename
        assert blob[start:start + info.file_size] == z.read(info)
        if info.file_size:  # a data descriptor follows, as PyTorch's offset arithmetic expects
            assert blob[start + info.file_size:start + info.file_size + 4] == b"PK\x07\x08"

    pkl = z.read("archive/data.pkl")
    ops = list(pickletools.genops(pkl))
    assert ops[0][0].name == "PROTO" and ops[0][1] == 2
    assert {op.name for op, _, _ in ops} <= TORCH_WEIGHTS_ONLY_OPCODES
    assert {arg for op, arg, _ in ops if op.name == "GLOBAL"} <= TORCH_ALLOWED_GLOBALS

    # every persistent id is ('storage', <storage class>, key, 'cpu', numel) for a record
    # of numel elements
    pids = []

    class Probe(pickle.Unpickler):
        def find_class(self, module, name):
            return f"{module}.{name}"

        def persistent_load(self, pid):
            pids.append(pid)
            return pid

    sizes = {"Half": 2, "Float": 4, "Double": 8, "Char": 1, "Short": 2, "Int": 4, "Long": 8,
             "Byte": 1, "Bool": 1}
    try:
        Probe(io.BytesIO(pkl)).load()
    except TypeError:  # the probe's strings are not callable: the pids are all we need
        pass
    for kind, storage_type, key, location, numel in pids:
        assert kind == "storage" and location == "cpu"
        itemsize = sizes[storage_type[len("torch."):-len("Storage")]]
        assert z.getinfo(f"archive/data/{key}").file_size == numel * itemsize


def test_extras_round_trip():
    back = tg.load(io.BytesIO(_saved(tapegrad_case(tg, "tg_extras"))))
    assert back[0] is tg.float16 and str(back[1]) == "cpu" and back[2] == (2, 3)
    assert type(back[2]) is type(tg.ones(1).shape)
    assert back[3] == bytearray(b"xy") and back[4] == list(range(1100))
    assert back[5] == {i: -i for i in range(1001)} and back[6:] == [2 ** 100, -2 ** 31, 2 ** 31]


def test_shared_storage_is_written_once_and_only_its_used_span():
    big = tg.arange(1000.0)
    blob = _saved({"a": big[10:20], "b": big[15:30:5]})
    z = zipfile.ZipFile(io.BytesIO(blob))
    assert [i.file_size for i in z.infolist() if "/data/" in i.filename] == [4 * 16]  # elements 10 to 25
    back = tg.load(io.BytesIO(blob))
    assert back["a"].tolist() == list(map(float, range(10, 20)))
    assert back["b"].tolist() == [15.0, 20.0, 25.0] and back["b"].storage_offset() == 5
    back["a"][5] = -1.0
    assert back["b"][0].item() == -1.0  # still one storage after loading


def test_a_flipped_view_is_saved_as_a_copy():
    t = tg.arange(4.0).flip(0)
    back = tg.load(io.BytesIO(_saved(t)))
    assert back.tolist() == [3.0, 2.0, 1.0, 0.0]


def test_saving_is_deterministic_and_byteorder_record_optional():
    obj = tapegrad_case(tg, "tg_nested")
    assert _saved(obj) == _saved(obj)
    buffer = io.BytesIO()
    tg.save({"w": tg.ones(2)}, buffer, _disable_byteorder_record=True)
    assert "archive/byteorder" not in zipfile.ZipFile(buffer).namelist()
    buffer.seek(0)
    assert tg.load(buffer)["w"].tolist() == [1.0, 1.0]
