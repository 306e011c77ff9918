"""tg.utils.data against PyTorch's recorded orders (data/record_layers.py runs
layer_cases.DATA_CASES with PyTorch): shuffled orders for several seeds, the global
stream after each epoch, generators, samplers, random_split, default collation.
Kept in tests/nn because the tutorials' nn chapters are what use it."""
import json

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset,
                                 default_collate, random_split)
from tests.nn import layer_cases
from tests.nn.reference_compare import REF, assert_matches


@pytest.mark.parametrize("case", layer_cases.DATA_CASES, ids=lambda c: c.__name__)
def test_case_matches_pytorch_exactly(case):
    got = json.loads(json.dumps(case(tg)))
    assert_matches(got, REF[case.__name__], rtol=0, atol=0, where=case.__name__)


def test_importable_as_torch_utils_data():
    import tapegrad.utils.data as data
    assert tg.utils.data is data and data.DataLoader is DataLoader


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": tg.tensor([float(i)]), "y": i * i}


def test_map_dataset_of_dicts_and_len():
    loader = DataLoader(Squares(), batch_size=2)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert batches[0]["x"].shape == (2, 1) and batches[2]["y"].tolist() == [16]
    assert batches[1]["y"].dtype is tg.int64


def test_shuffle_without_seed_is_a_permutation_each_epoch():
    loader = DataLoader(range(20), batch_size=6, shuffle=True)
    for _ in range(2):
        seen = [i for b in loader for i in b.tolist()]
        assert sorted(seen) == list(range(20))


def test_num_workers_run_in_process_with_the_same_batches():
    tg.manual_seed(1)
    serial = [b.tolist() for b in DataLoader(range(9), batch_size=4, shuffle=True)]
    tg.manual_seed(1)
    workers = [b.tolist() for b in DataLoader(range(9), batch_size=4, shuffle=True,
                                              num_workers=3)]
    assert serial == workers


def test_bad_arguments_are_refused_with_pytorchs_messages():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(range(3), sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(range(3), batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(range(3), batch_size=0)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(range(3), num_workers=-1)
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(IterableDataset(), shuffle=True)
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(5), [2, 2])
    with pytest.raises(ValueError, match="Fraction at index 0"):
        random_split(range(5), [1.5, -0.5])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(tg.zeros(3), tg.zeros(4))


def test_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_collated_tensors_keep_their_history():
    w = tg.ones(2, requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])


def test_tensor_dataset_batches_fast_path_and_history_path_agree():
    """Batches of a TensorDataset are gathered at once unless a tensor has history;
    both give the same values and dtypes, and the history path keeps gradients."""
    w = tg.arange(12.0).reshape(6, 2).requires_grad_()
    labels = tg.tensor([3, 1, 4, 1, 5, 9], dtype=tg.int32)
    fast = list(DataLoader(TensorDataset(w.detach(), labels), batch_size=4, shuffle=True,
                           generator=tg.Generator().manual_seed(0)))
    slow = list(DataLoader(TensorDataset(w * 1, labels), batch_size=4, shuffle=True,
                           generator=tg.Generator().manual_seed(0)))
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert tg.equal(fx, sx.detach()) and tg.equal(fy, sy) and fy.dtype is tg.int32
        assert not fx.requires_grad and sx.requires_grad
    sum(x.sum() for x, _ in slow).backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((6, 2)))
