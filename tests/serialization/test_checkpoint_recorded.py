"""Round trips both ways against PyTorch, from the files and views recorded in data/.

data/torch/*.pt were written by torch.save; data/tapegrad/*.pt by tg.save, and
PyTorch's `torch.load(weights_only=True)` view of both is data/expected.json
(tests/serialization/record_torch_checkpoints.py)."""
import io
import json

import numpy as np
import pytest

import tapegrad as tg

from .cases import MODEL_INPUT, MODEL_SEED, make_model, resume_step, tapegrad_case
from .describe import describe, sharing
from .helpers_ckpt import data_file, expected, storage_key

EXPECTED = expected()


def _described(obj):
    return json.loads(json.dumps(describe(obj, storage_key)))


@pytest.mark.parametrize("name", sorted(EXPECTED["torch_files"]))
def test_torch_written_file_loads_with_torch_values(name):
    obj = tg.load(data_file("torch", name))
    assert _described(obj) == EXPECTED["torch_files"][name]["describe"]
    assert sharing(obj, storage_key) == EXPECTED["torch_files"][name]["sharing"]


@pytest.mark.parametrize("name", sorted(EXPECTED["tapegrad_files"]))
def test_tapegrad_file_is_what_torch_read_and_loads_back_alike(name, tmp_path):
    """tg.save writes today the bytes PyTorch was recorded reading, and tg.load reads in
    them what PyTorch read."""
    path = tmp_path / "again.pt"
    tg.save(tapegrad_case(tg, name), path)
    with open(data_file("tapegrad", name), "rb") as f:
        assert path.read_bytes() == f.read()
    obj = tg.load(path)
    assert _described(obj) == EXPECTED["tapegrad_files"][name]["describe"]
    assert sharing(obj, storage_key) == EXPECTED["tapegrad_files"][name]["sharing"]


def test_views_loaded_from_torch_share_memory_and_keep_layout():
    views = tg.load(data_file("torch", "torch_views"))
    strided = views["strided"]
    assert strided.stride() == (6, 2) and strided.storage_offset() == 6
    assert not strided.is_contiguous()
    views["base"][1, 0] = -1.0  # a write through one is seen through the other, as in torch
    assert strided[0, 0].item() == -1.0 and views["transposed"][0, 1].item() == -1.0
    alone = tg.load(data_file("torch", "torch_view_alone"))
    assert alone["view"].storage_offset() == 7 and alone["view"].stride() == (6, 2)


def test_parameters_and_requires_grad_survive():
    nested = tg.load(data_file("torch", "torch_nested"))
    assert isinstance(nested["param"], tg.nn.Parameter) and nested["param"].requires_grad
    assert isinstance(nested["frozen"], tg.nn.Parameter) and not nested["frozen"].requires_grad
    assert nested["leaf"].requires_grad and nested["leaf"].grad_fn is None
    assert nested["same tensor twice"][0] is nested["same tensor twice"][1]
    loss = (nested["param"] * 2).sum()
    loss.backward()
    assert nested["param"].grad.tolist() == [2.0, 2.0]


def test_torch_state_dict_loads_into_tapegrad_module():
    state = tg.load(data_file("torch", "torch_sequential"))
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model = make_model(tg.nn)
    model.load_state_dict(state)
    out = model(tg.tensor(MODEL_INPUT))
    np.testing.assert_allclose(out.detach().numpy(), EXPECTED["torch_sequential_output"],
                               rtol=1e-6, atol=1e-7)


def test_tapegrad_state_dict_gives_torch_the_same_outputs():
    """PyTorch's module loaded tg_model.pt and printed these outputs; ours agree."""
    tg.manual_seed(MODEL_SEED)
    saved = make_model(tg.nn)
    buffer = io.BytesIO()
    tg.save(saved.state_dict(), buffer)
    buffer.seek(0)
    model = make_model(tg.nn)
    model.load_state_dict(tg.load(buffer))
    out = model(tg.tensor(MODEL_INPUT)).detach().numpy()
    np.testing.assert_allclose(out, EXPECTED["tg_model_output_in_torch"], rtol=1e-6, atol=1e-7)
    for a, b in zip(model.parameters(), saved.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_adam_state_dict_from_torch():
    state = tg.load(data_file("torch", "torch_adam"))
    group = state["param_groups"][0]
    assert group["params"] == [0, 1, 2, 3] and group["betas"] == (0.9, 0.999)
    assert state["state"][0]["exp_avg"].shape == (3, 4)
    assert state["state"][0]["step"].item() == 1.0


def test_protocol_4_pickle_reads_like_protocol_2():
    p2 = tg.load(data_file("torch", "torch_nested"))
    p4 = tg.load(data_file("torch", "torch_protocol4"))
    assert _described(p4) == _described(p2)


def test_training_resumes_from_a_tapegrad_checkpoint_as_in_torch():
    """PyTorch resumed from tg_resume.pt (model and Adam state) and took one more step;
    tapegrad resuming from the same file takes the same step."""
    resume = tg.load(data_file("tapegrad", "tg_resume"))
    model = make_model(tg.nn)
    model.load_state_dict(resume["model"])
    optimizer = tg.optim.Adam(model.parameters(), lr=0.01)
    optimizer.load_state_dict(resume["optimizer"])
    resume_step(tg, model, optimizer)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), EXPECTED["tg_resume_next_step_in_torch"][key],
                                   rtol=1e-6, atol=1e-7)
