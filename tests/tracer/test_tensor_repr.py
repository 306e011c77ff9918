"""repr(tensor) as PyTorch prints it: the seeds' tutorial outputs, then the formatting rules."""
import numpy as np
import pytest

import tapegrad as tg

SEED_TENSORS = [  # (tensor built from the printed values, flags, what the tutorials print)
    ([[-0.2003, 1.4794, -1.1173, -1.0750], [1.0410, 0.2565, 1.0045, -1.1332],
      [0.4874, -1.6257, 0.3305, 0.3567]], dict(requires_grad=True),
     "tensor([[-0.2003,  1.4794, -1.1173, -1.0750],\n"
     "        [ 1.0410,  0.2565,  1.0045, -1.1332],\n"
     "        [ 0.4874, -1.6257,  0.3305,  0.3567]], requires_grad=True)"),
    ([[0.0] * 4] * 3, dict(requires_grad=True),
     "tensor([[0., 0., 0., 0.],\n        [0., 0., 0., 0.],\n        [0., 0., 0., 0.]], "
     "requires_grad=True)"),
    ([[1.0] * 4] * 3, {}, "tensor([[1., 1., 1., 1.],\n        [1., 1., 1., 1.],\n"
                          "        [1., 1., 1., 1.]])"),
    ([[1.0, 1.0], [1.0, 1.0]], dict(requires_grad=True),
     "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"),
    ([[4.5, 4.5], [4.5, 4.5]], {}, "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"),
    ([2.0, 0.2, 0.02, 0.002], {}, "tensor([2.0000, 0.2000, 0.0200, 0.0020])"),
    ([1.0240e+02, 1.0240e+03, 1.0240e-01], {}, "tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"),
    ([0.0227, 0.0738, 0.0327], {}, "tensor([0.0227, 0.0738, 0.0327])"),
    ([100.0], dict(requires_grad=True), "tensor([100.], requires_grad=True)"),
    ([1.0], {}, "tensor([1.])"),
    ([5.0], {}, "tensor([5.])"),
    (2.0, {}, "tensor(2.)"),
    (1.0, {}, "tensor(1.)"),
    ([[0.4179, 0.2548, 0.2601, 0.5463, 0.5750], [0.5537, 0.4285, 0.6197, 0.4930, 0.2800],
      [0.6038, 0.6700, 0.0126, 0.6806, 0.8002], [0.1011, 0.8438, 0.2780, 0.7889, 0.6524],
      [0.4778, 0.8054, 0.7468, 0.1591, 0.2123]], dict(requires_grad=True),
     "tensor([[0.4179, 0.2548, 0.2601, 0.5463, 0.5750],\n"
     "        [0.5537, 0.4285, 0.6197, 0.4930, 0.2800],\n"
     "        [0.6038, 0.6700, 0.0126, 0.6806, 0.8002],\n"
     "        [0.1011, 0.8438, 0.2780, 0.7889, 0.6524],\n"
     "        [0.4778, 0.8054, 0.7468, 0.1591, 0.2123]], requires_grad=True)"),
]


@pytest.mark.parametrize("data,flags,text", SEED_TENSORS)
def test_seed_outputs(data, flags, text):
    t = tg.tensor(data, **flags)
    assert repr(t) == text
    assert str(t) == text


def test_seed_computations_print_their_grad_fn():
    x = tg.ones(2, 2, requires_grad=True)
    y = x + 2
    assert repr(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    z = y * y * 3
    assert repr(z) == "tensor([[27., 27.],\n        [27., 27.]], grad_fn=<MulBackward0>)"
    assert repr(z.mean()) == "tensor(27., grad_fn=<MeanBackward0>)"
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    assert repr((2 * x).view(2, 2)) == \
        "tensor([[2., 4.],\n        [6., 8.]], grad_fn=<ViewBackward0>)"
    x = tg.tensor(1.0, requires_grad=True)
    assert repr(x ** 2) == "tensor(1., grad_fn=<PowBackward0>)"
    with tg.no_grad():
        assert repr(x ** 3) == "tensor(1.)"
    y = tg.tensor([-364.1600, 1261.9630, 141.4888], requires_grad=True)
    assert repr(y * 1) == "tensor([-364.1600, 1261.9630,  141.4888], grad_fn=<MulBackward0>)"
    s = tg.tensor([-0.2003, 0.0049], requires_grad=True).sum()
    assert repr(s) == "tensor(-0.1954, grad_fn=<SumBackward0>)"


@pytest.mark.parametrize("make,text", [
    (lambda: tg.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: tg.tensor([-1, 20]), "tensor([-1, 20])"),
    (lambda: tg.tensor([-1, 2]), "tensor([-1,  2])"),
    (lambda: tg.tensor([True, False]), "tensor([ True, False])"),
    (lambda: tg.tensor(3), "tensor(3)"),
    (lambda: tg.tensor([]), "tensor([])"),
    (lambda: tg.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: tg.tensor([], dtype=tg.int64), "tensor([], dtype=torch.int64)"),
    (lambda: tg.tensor([1.0, 2.0], dtype=tg.float64), "tensor([1., 2.], dtype=torch.float64)"),
    (lambda: tg.tensor([1.5, 2.0], dtype=tg.float64, requires_grad=True),
     "tensor([1.5000, 2.0000], dtype=torch.float64, requires_grad=True)"),
    (lambda: tg.tensor([0.0, 1.5]), "tensor([0.0000, 1.5000])"),
    (lambda: tg.tensor([float("nan"), 1.5]), "tensor([   nan, 1.5000])"),
    (lambda: tg.tensor([float("inf"), 1.0]), "tensor([inf, 1.])"),
    (lambda: tg.tensor([0.0, float("-inf")]), "tensor([0., -inf])"),
    (lambda: tg.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: tg.tensor([1e9, 1.0]), "tensor([1.0000e+09, 1.0000e+00])"),
    (lambda: tg.tensor([1.0, 1000.0]), "tensor([   1., 1000.])"),
    (lambda: tg.tensor([1.0, 1001.0]), "tensor([1.0000e+00, 1.0010e+03])"),
    (lambda: tg.tensor(0.1), "tensor(0.1000)"),
    (lambda: tg.tensor(-0.0), "tensor(-0.)"),
    (lambda: tg.tensor(123456.0), "tensor(123456.)"),
])
def test_formatting_rules(make, text):
    assert repr(make()) == text


def test_long_rows_wrap_at_80_columns():
    t = tg.arange(20.0) / 3
    assert repr(t) == (
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
        "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
        "        6.0000, 6.3333])")


def test_large_tensors_are_summarised():
    assert repr(tg.arange(2000)) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"
    t = tg.arange(1200.0).reshape(40, 30) + 100
    lines = repr(t).split("\n")
    assert lines[0] == "tensor([[ 100.,  101.,  102.,  ...,  127.,  128.,  129.],"
    assert lines[3] == "        ...,"
    assert lines[-1] == "        [1270., 1271., 1272.,  ..., 1297., 1298., 1299.]])"
    wide = tg.arange(1200.0).reshape(40, 30)  # 1 to 1199 spans more than 1000x
    assert repr(wide).startswith("tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., "
                                 "2.7000e+01, 2.8000e+01,\n         2.9000e+01],")
    assert len(lines) == 7


def test_3d_tensors_separate_blocks_with_blank_lines():
    t = tg.arange(8).reshape(2, 2, 2)
    assert repr(t) == ("tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n"
                       "         [6, 7]]])")


def test_suffix_moves_to_a_new_line_when_too_long():
    t = tg.tensor([[0.1234] * 9], requires_grad=True) * 1
    assert repr(t).endswith("0.1234]],\n       grad_fn=<MulBackward0>)")


def test_format_of_scalar_tensors():
    assert f"{tg.tensor(2.5):.2f}" == "2.50"
    assert np.asarray(tg.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]


def test_max_with_dim_prints_like_return_types():
    r = tg.tensor([[1.0, 3.0], [4.0, 2.0]]).max(dim=1)
    assert repr(r) == ("torch.return_types.max(\nvalues=tensor([3., 4.]),\n"
                       "indices=tensor([1, 0]))")
    assert r.values is r[0] and r.indices is r[1]


def test_size_repr():
    assert repr(tg.ones(2, 3).shape) == "torch.Size([2, 3])"
    assert tg.ones(2, 3).shape == (2, 3)
