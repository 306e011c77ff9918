"""tg.export.deserialize on damaged, foreign and crafted bytes: a clear error, never code run.

Crafted payloads carry a valid checksum (they are packed again after editing), so they
reach the manifest and the IR parser, which must refuse them on their own."""
import json
import pickle

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.export import ExportFormatError, container


def _blob():
    f = tg.value_and_grad(lambda w, x: ((x @ w).tanh() ** 2).mean())
    w, x = np.ones((3, 2), np.float32), np.ones((4, 3), np.float32)
    return f.export(w, x).serialize(), (w, x)


def _manifest(blob):
    start = blob.index(b"\n", len(container.MAGIC)) + 1
    return json.loads(blob[start:-32])


def test_every_truncation_is_refused():
    blob, _ = _blob()
    for n in list(range(0, 80)) + list(range(80, len(blob), 97)) + [len(blob) - 1]:
        with pytest.raises(ExportFormatError, match="truncated|not tapegrad|damaged"):
            tg.export.deserialize(blob[:n])
    with pytest.raises(ExportFormatError, match="after the end"):
        tg.export.deserialize(blob + b"\0")


def test_every_flipped_bit_is_refused():
    blob, _ = _blob()
    for i in range(0, len(blob), 5):
        for bit in (0, 6):
            damaged = bytearray(blob)
            damaged[i] ^= 1 << bit
            with pytest.raises(ExportFormatError):
                tg.export.deserialize(bytes(damaged))
    damaged = bytearray(blob)
    damaged[len(blob) // 2] ^= 1
    with pytest.raises(ExportFormatError, match="checksum"):
        tg.export.deserialize(bytes(damaged))


def test_another_format_version_names_both_versions():
    blob, _ = _blob()
    other = blob.replace(b"format=1 ", b"format=7 ", 1)
    with pytest.raises(ExportFormatError) as info:
        tg.export.deserialize(other)
    text = str(info.value)
    assert "format version 7" in text and "format version 1" in text
    assert f"tapegrad {tg.__version__}" in text and "damaged" in text
    # intact data of another version (the checksum made by that writer): no 'damaged'
    body = blob[blob.index(b"\n", len(container.MAGIC)) + 1:-32]
    import hashlib
    head = container.MAGIC + f"format=2 tapegrad=9.9.9 length={len(body)}\n".encode()
    future = head + body + hashlib.sha256(head + body).digest()
    with pytest.raises(ExportFormatError) as info:
        tg.export.deserialize(future)
    text = str(info.value)
    assert "format version 2 (written by tapegrad 9.9.9)" in text
    assert "reads format version 1" in text and "damaged" not in text


def test_not_export_data_and_not_bytes():
    with pytest.raises(ExportFormatError, match="not tapegrad export data"):
        tg.export.deserialize(pickle.dumps({"a": 1}))
    with pytest.raises(TypeError, match="bytes"):
        tg.export.deserialize("TAPEGRAD-EXPORT\n")


def _crafted(edit):
    blob, args = _blob()
    manifest = _manifest(blob)
    edit(manifest)
    return container.pack(manifest), args


def _refused(edit, match):
    data, _ = _crafted(edit)
    with pytest.raises(ExportFormatError, match=match):
        tg.export.deserialize(data)


def _program(m, old, new):
    assert old in m["stages"]["program"]
    m["stages"]["program"] = m["stages"]["program"].replace(old, new, 1)


def test_crafted_ir_is_refused_by_the_verified_parser():
    # a slice reaching past its operand's end
    _refused(lambda m: _program(m, "return", "%99: f32[8] = slice %x start=(0,) stop=(8,) "
                                             "step=(1,)\n  return"), "not valid IR")
    # an instruction declaring another type than its shape rule gives
    _refused(lambda m: _program(m, "f32[4,2] = matmul", "f32[4,9] = matmul"), "not valid IR")
    _refused(lambda m: _program(m, "= tanh", "= os_system"), "unknown primitive")
    _refused(lambda m: m["stages"].update(program="import os; os.system('false')"),
             "not valid IR")
    _refused(lambda m: m["stages"].update(adjoint="func @f() -> (f32[]) {\n  return %0\n}"),
             "'adjoint'")
    # a dimension with more digits than Python's int conversion allows
    _refused(lambda m: _program(m, "f32[3,2]", "f32[" + "9" * 5000 + ",2]"), "not valid IR")


def test_program_disagreeing_with_the_signature_is_refused():
    _refused(lambda m: m["signature"][0].__setitem__(1, [3, 3]), "program takes")
    _refused(lambda m: m.update(out_tree={"t": "leaf"}), "result structure")


def test_huge_declared_sizes_are_refused():
    big = 1 << 41
    _refused(lambda m: _program(m, "return", f"%99: f32[{big},4] = broadcast %x "
                                             f"shape=({big},4)\n  return"),
             "not valid IR|more than the limit")
    _refused(lambda m: m["signature"][0].__setitem__(1, [1 << 70, 2]), "signature item")


def test_crafted_pytree_specs_are_refused():
    def node(data):
        return lambda m: m.update(out_tree={"t": "tuple", "c": [{"t": "leaf"}, data]})
    _refused(node({"t": "custom", "type": "os:system", "aux": None, "c": []}),
             "not a class|unknown")
    _refused(node({"t": "custom", "type": "no_such_module_xyz:Thing", "aux": None, "c": []}),
             "not imported")
    _refused(node({"t": "custom", "type": "collections:Counter", "aux": None, "c": []}),
             "not registered")
    _refused(node({"t": "custom", "type": "collections:OrderedDict", "aux": None, "c": []}),
             "not registered")
    _refused(node({"t": "namedtuple", "type": "builtins:tuple", "c": []}), "not a namedtuple")
    _refused(node({"t": "lambda", "c": []}), "unknown pytree node kind")
    _refused(node({"t": "ddict", "f": "os.system", "k": [], "c": []}), "factory")
    _refused(node({"t": "dict", "k": ["b", "a"], "c": [{"t": "leaf"}] * 2}), "sorted")
    deep = {"t": "leaf"}
    for _ in range(200):
        deep = {"t": "tuple", "c": [deep]}
    _refused(node(deep), "nested")


def test_runtime_index_out_of_bounds_raises_instead_of_reading():
    """A crafted gather index past the end verifies (indices are data) but the native code
    checks it: an IndexError, never a read outside the buffer."""
    f = tg.compile(lambda x: x[np.array([0, 1])] * 2)
    x = np.arange(4, dtype=np.float32)
    blob = f.export(x).serialize()
    manifest = _manifest(blob)
    assert "value=[0, 1]" in manifest["stages"]["program"]
    manifest["stages"]["program"] = manifest["stages"]["program"].replace(
        "value=[0, 1]", "value=[0, 1000000]")
    crafted = tg.export.deserialize(container.pack(manifest))
    with pytest.raises(IndexError):
        crafted(x)
