"""Module API additions: devices in to(), half(), get_buffer, hook handles, the
state dict's _metadata and its use when loading."""
import pytest

import tapegrad as tg
import tapegrad.nn as nn


def test_to_accepts_the_cpu_only_and_moves_float_tensors():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert m.to("cpu") is m and m.to(tg.device("cpu"), tg.float64) is m
    assert m[0].weight.dtype is tg.float64 and m[1].num_batches_tracked.dtype is tg.int64
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        m.to("cuda")
    with pytest.raises(RuntimeError, match="not available"):
        m.to(device="mps")
    with pytest.raises(TypeError, match="only accepts floating point"):
        m.to(tg.int32)
    m.half()
    assert m[1].running_var.dtype is tg.float16 and isinstance(m[0].weight, nn.Parameter)


def test_get_buffer_and_non_persistent_buffers():
    m = nn.Sequential(nn.BatchNorm1d(3))
    m[0].register_buffer("scratch", tg.ones(1), persistent=False)
    assert m.get_buffer("0.running_var") is m[0].running_var
    assert "0.scratch" not in m.state_dict() and len(list(m.buffers())) == 4
    with pytest.raises(AttributeError, match="has no buffer `nope`"):
        m.get_buffer("0.nope")


def test_removed_kwargs_hook_stops_running():
    lin = nn.Linear(1, 1)
    seen = []
    handle = lin.register_forward_pre_hook(lambda m, a, k: seen.append(1), with_kwargs=True)
    lin(tg.ones(1, 1))
    handle.remove()
    lin(tg.ones(1, 1))
    assert seen == [1]
    bad = lin.register_forward_pre_hook(lambda m, a, k: a, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, "):
        lin(tg.ones(1, 1))
    bad.remove()


def test_state_dict_metadata_gates_the_batch_count_default():
    bn = nn.BatchNorm1d(2)
    state = bn.state_dict()
    assert state._metadata == {"": {"version": 2}}
    assert nn.Sequential(nn.Linear(1, 1)).state_dict()._metadata == {
        "": {"version": 1}, "0": {"version": 1}}
    del state["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key.*"num_batches_tracked"'):
        bn.load_state_dict(state)
    bn.num_batches_tracked.fill_(7)
    assert bn.load_state_dict(dict(state)).missing_keys == []  # no metadata: an old layout
    assert int(bn.num_batches_tracked) == 7
