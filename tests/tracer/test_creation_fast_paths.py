"""ones/zeros/randn on plain int sizes skip the general steps but make the same tensors."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import dtypes
from tapegrad.tracer.ops_core import filled_tensor


@pytest.mark.parametrize("make, value", [(tg.ones, 1), (tg.zeros, 0)])
@pytest.mark.parametrize("size", [(), (5,), (2, 3), ((2, 3),), ([4],), (0, 3)])
@pytest.mark.parametrize("dtype", [None, tg.float64, tg.float16])
def test_ones_and_zeros_match_the_full_instruction(make, value, size, dtype):
    t = make(*size, dtype=dtype)
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    want = filled_tensor(value, dtype or dtypes.f32, shape)
    assert t._type is want._type or t._type == want._type
    assert t._data.dtype == want._data.dtype and t._data.shape == want._data.shape
    assert t._data.tobytes() == want._data.tobytes() and t._data.flags.writeable
    assert t.grad_fn is None and not t.requires_grad


def test_requires_grad_makes_a_leaf_and_integer_dtypes_still_work():
    t = tg.zeros(3, requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None
    (t * 2).sum().backward()
    assert np.array_equal(t.grad.numpy(), [2, 2, 2])
    assert tg.ones(2, dtype=tg.int64).dtype == tg.int64


@pytest.mark.parametrize("size, err", [((-1,), RuntimeError), ((2.0,), TypeError),
                                       ((True,), TypeError), ((np.int64(2), -3), RuntimeError)])
def test_bad_sizes_raise_as_before(size, err):
    for make in (tg.ones, tg.zeros, tg.randn):
        with pytest.raises(err):
            make(*size)


def test_numpy_integer_sizes_take_the_general_path():
    assert tg.ones(np.int64(2), 3).shape == (2, 3)
    assert tg.randn(np.int32(4)).shape == (4,)


def test_randn_draws_the_same_numbers_for_every_spelling_of_its_size():
    tg.manual_seed(3)
    a = tg.randn(2, 3)
    tg.manual_seed(3)
    b = tg.randn((2, 3))
    tg.manual_seed(3)
    c = tg.randn(size=(np.int64(2), 3))
    assert a.numpy().tobytes() == b.numpy().tobytes() == c.numpy().tobytes()
