import numpy as np

import tapegrad as tg
from tapegrad.ir import Builder, f32, parse, tensor_type, verify
from tapegrad.runtime import interpret


def test_build_print_parse_interpret():
    b = Builder("f")
    x = b.param(tensor_type(f32, (3,)), "x")
    s = b.reduce_sum(b.mul(b.sin(x), x), axes=(0,))
    fn = b.build(s)
    text = str(fn)
    assert text == (
        "func @f(%x: f32[3]) -> (f32[]) {\n"
        "  %0: f32[3] = sin %x\n"
        "  %1: f32[3] = mul %0, %x\n"
        "  %2: f32[] = reduce_sum %1 axes=(0,)\n"
        "  return %2\n"
        "}")
    assert str(verify(parse(text))) == text
    a = np.array([0.5, 1.0, 2.0], np.float32)
    (out,) = interpret(fn, [a])
    np.testing.assert_allclose(out, np.sum(np.sin(a) * a), rtol=1e-6)
    assert tg.ir.parse is parse
