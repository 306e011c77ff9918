"""codegen/kernels._flat_inner: a reduction over trailing axes that lie contiguously in
memory loops over them as blocks of REDUCE_BLOCK elements and a tail, not one loop per
axis.  Every element is read once, in whole blocks, tails, several kept outer axes,
for sums (float and integer) and max (NaN anywhere wins); views that are not
contiguous keep the nested loops."""
import numpy as np
import pytest

from tapegrad.codegen.kernels import REDUCE_BLOCK
from tapegrad.ir.parser import parse
from tapegrad.runtime.compiler import compile_function


def _reduction(prim: str, dtype: str, shape, axes, transpose=False):
    dims = ",".join(map(str, shape))
    kept = [d for i, d in enumerate(shape) if i not in axes]
    out = f"{dtype}[{','.join(map(str, kept))}]"
    axes_text = ", ".join(map(str, axes)) + ("," if len(axes) == 1 else "")
    if transpose:  # reduce a transposed view of the parameter: not contiguous
        src = f"%x: {dtype}[{','.join(map(str, reversed(shape)))}]"
        perm = ", ".join(str(i) for i in reversed(range(len(shape))))
        body = f"  %t: {dtype}[{dims}] = transpose %x perm=({perm})\n  %0: {out} = {prim} %t axes=({axes_text})"
    else:
        src = f"%x: {dtype}[{dims}]"
        body = f"  %0: {out} = {prim} %x axes=({axes_text})"
    return compile_function(parse(f"func @r({src}) -> ({out}) {{\n{body}\n  return %0\n}}\n"))


CASES = [
    ((1000, 100), (0, 1)),                  # 97 blocks and a tail
    ((3, 40, 70), (1, 2)),                  # a kept axis before the run: 2 blocks + tail each
    ((2, 2, REDUCE_BLOCK // 2), (1, 2)),    # exactly one block, no tail
    ((4, 7, 3, 5), (1, 2, 3)),              # shorter than a block: the tail alone
]


@pytest.mark.parametrize("shape,axes", CASES)
def test_sums_read_every_element_once(shape, axes):
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) + 0.25).astype(np.float32)
    (got,) = _reduction("reduce_sum", "f32", shape, axes)(x)
    exact = x.astype(np.float64).sum(axis=axes)
    bound = np.abs(x.astype(np.float64)).sum(axis=axes) * 2.0 ** -24 * 64
    assert np.all(np.abs(got - exact) <= bound)
    ints = rng.integers(-1000, 1000, shape).astype(np.int32)
    (got,) = _reduction("reduce_sum", "i32", shape, axes)(ints)
    np.testing.assert_array_equal(got, ints.sum(axis=axes, dtype=np.int32))


@pytest.mark.parametrize("shape,axes", CASES)
def test_max_sees_every_element_and_every_nan(shape, axes):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size)] = 50.0      # one maximum somewhere
    (got,) = _reduction("reduce_max", "f64", shape, axes)(x)
    np.testing.assert_array_equal(got, x.max(axis=axes))
    flat[-1] = np.nan                            # in the last block's tail
    flat[min(REDUCE_BLOCK + 3, flat.size - 2)] = np.nan  # inside a block
    (got,) = _reduction("reduce_max", "f64", shape, axes)(x)
    np.testing.assert_array_equal(got, x.max(axis=axes))  # numpy's max propagates NaN


def test_a_transposed_view_keeps_the_nested_loops_and_its_values():
    x = np.random.default_rng(3).standard_normal((100, 30)).astype(np.float32)
    (got,) = _reduction("reduce_sum", "f32", (30, 100), (0, 1), transpose=True)(x)
    np.testing.assert_allclose(got, x.astype(np.float64).sum(), rtol=1e-5)
