"""No code from a checkpoint runs: crafted pickles are refused by name, nothing executes."""
import builtins
import io
import os
import pickle

import pytest

import tapegrad as tg

from .helpers_ckpt import archive, with_pickle


def _base_archive() -> bytes:
    buffer = io.BytesIO()
    tg.save({"w": tg.ones(2)}, buffer)
    return buffer.getvalue()


def _load(pickle_bytes: bytes, **kwargs):
    return tg.load(io.BytesIO(with_pickle(_base_archive(), pickle_bytes)), **kwargs)


class _Shell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


def test_os_system_reduce_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os)\.system") as info:
        _load(pickle.dumps({"w": _Shell(marker)}, protocol=2))
    assert "allow-list" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("weights_only", [True, False, None])
def test_builtins_eval_is_refused_whatever_weights_only_says(tmp_path, weights_only):
    marker = tmp_path / "ran"
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval") as info:
        _load(pickle.dumps([_Eval(marker)], protocol=2), weights_only=weights_only)
    assert not marker.exists()
    assert ("weights_only=False" in str(info.value)) == (weights_only is False)


def test_a_global_not_on_the_list_is_named():
    crafted = b"\x80\x02ctapegrad.nn\nLinear\nq\x00K\x02K\x02\x86R."
    with pytest.raises(pickle.UnpicklingError, match=r"tapegrad\.nn\.Linear"):
        _load(crafted)
    with pytest.raises(pickle.UnpicklingError, match=r"collections\.Counter"):
        _load(b"\x80\x02ccollections\nCounter\n)R.")


def test_a_whole_pickled_module_is_refused_with_a_hint():
    from .helpers_ckpt import data_file

    with pytest.raises(pickle.UnpicklingError,
                       match=r"torch\.nn\.modules\.linear\.Linear.*state_dict\(\) instead"):
        tg.load(data_file("torch", "torch_whole_module"))


def test_protocol_4_stack_global_goes_through_the_same_list():
    with pytest.raises(pickle.UnpicklingError, match=r"subprocess\.run"):
        _load(pickle.dumps(_Proc(), protocol=4))


class _Proc:
    def __reduce__(self):
        import subprocess
        return (subprocess.run, (["true"],))


def test_persistent_id_of_an_unknown_kind_is_refused():
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "os") if obj == "x" else None

    buffer = io.BytesIO()
    P(buffer, protocol=2).dump(["x"])
    with pytest.raises(pickle.UnpicklingError, match="persistent id of kind 'module'"):
        _load(buffer.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="not a tuple"):
        _load(b"\x80\x02X\x01\x00\x00\x00xQ.")


@pytest.mark.parametrize("crafted, named", [
    (b"\x80\x02(cos\nsystem\nX\x04\x00\x00\x00trueo.", r"os\.system"),  # OBJ: find_class first
    (b"\x80\x02(X\x04\x00\x00\x00trueios\nsystem\n.", "INST"),
    (b"\x80\x02\x82\x01.", "EXT1"),
    (b"\x80\x02Pfoo\n.", "PERSID"),
    (b"\x80\x02X\x01\x00\x00\x00a)R.", "REDUCE of a str"),
    (b"\x80\x02ccollections\nOrderedDict\n)R}X\x09\x00\x00\x00__class__Nsb.", "BUILD"),
    (b"\x80\x02]}b.", "BUILD"),
    (b"\x80\x02ccollections\nOrderedDict\n)R}X\x04\x00\x00\x00keysK\x01sb.", "BUILD"),
    (b"\x80\x02X\x01\x00\x00\x00a(K\x01e.", "APPENDS on a str"),
    (b"\x80\x02](K\x01K\x02u.", "SETITEMS on a list"),
])
def test_crafted_opcodes_are_refused(crafted, named):
    with pytest.raises(pickle.UnpicklingError, match=named):
        _load(crafted)


def test_allowed_functions_cannot_be_misused():
    # _codecs.encode is allowed only for protocol 2's latin1 bytes
    with pytest.raises(RuntimeError, match="_codecs.encode"):
        _load(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.")
    # the rebuild function needs a storage from the archive, not a string
    with pytest.raises(RuntimeError, match="not a storage"):
        _load(b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(X\x01\x00\x00\x00sK\x00)"
              b")\x89NtR.")


def test_a_plain_data_pickle_loads():
    obj = {"a": [1, 2.5, "x", None, True, (3, 4)], "b": {1, 2}, "c": b"\x00\x01"}
    assert _load(pickle.dumps(obj, protocol=2)) == obj
    assert _load(pickle.dumps(obj, protocol=5)) == obj
