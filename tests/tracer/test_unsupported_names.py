"""PyTorch names tapegrad lacks raise AttributeError naming the torch API and the coverage doc."""
import copy

import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.tracer.unsupported import unsupported_argument

MISSING = "certainly_not_a_torch_name"


@pytest.mark.parametrize("owner,torch_name,get", [
    ("tapegrad", "torch", lambda: tg),
    ("tapegrad.nn", "torch.nn", lambda: tg.nn),
    ("tapegrad.nn.functional", "torch.nn.functional", lambda: F),
    ("tapegrad.utils", "torch.utils", lambda: tg.utils),
    ("Tensor", "torch.Tensor", lambda: tg.ones(2)),
])
def test_missing_name_names_the_torch_api(owner, torch_name, get):
    obj = get()
    with pytest.raises(AttributeError) as info:
        getattr(obj, MISSING)
    msg = str(info.value)
    assert f"{owner} has no attribute '{MISSING}'" in msg
    assert f"{torch_name}.{MISSING} is not supported yet" in msg
    assert "docs/torch-coverage.md" in msg
    assert not hasattr(obj, MISSING)  # hasattr relies on AttributeError
    assert getattr(obj, MISSING, 17) == 17


def test_existing_names_are_untouched():
    t = tg.ones(2, requires_grad=True)
    assert tg.ones is not None and F.relu is not None and t.grad is None
    assert hasattr(tg, "Tensor") and hasattr(t, "backward")


def test_from_import_of_a_missing_name_is_an_import_error():
    with pytest.raises(ImportError):
        exec(f"from tapegrad import {MISSING}")


def test_protocol_probes_stay_plain():
    """copy/pickle probe dunder names; those misses say nothing about torch."""
    with pytest.raises(AttributeError) as info:
        tg.ones(2).__certainly_not_a_protocol__
    assert "torch" not in str(info.value)
    assert copy.deepcopy(tg.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]


def test_unsupported_argument_is_not_implemented_and_names_the_api():
    err = unsupported_argument("torch.add", "out=", "results are always new tensors")
    assert isinstance(err, NotImplementedError)
    assert str(err).startswith("torch.add: the argument out= is not supported")
    assert "docs/torch-coverage.md" in str(err)
