"""A view into a constant at an offset (found by the region fuzzer, in the second
derivative of a scan that indexes a captured array): the compile-time bounds check
measured the view against its own size instead of the constant's, and refused to
compile a correct program."""
import numpy as np

from tapegrad.ir import Builder, f64, tensor_type
from tapegrad.ir import primitives as P
from tapegrad.runtime import interpret
from tapegrad.runtime.compiler import compile_function

from helpers.ir_build import roundtrip


def test_an_element_of_a_constant_past_its_first_is_read_in_place():
    b = Builder("f")
    x = b.param(tensor_type(f64, (3,)), "x")
    c = b.emit(P.constant, value=np.array([1.0, 2.0, 4.0]), type=tensor_type(f64, (3,)))
    last = b.emit(P.reshape, b.emit(P.slice, c, start=(2,), stop=(3,), step=(1,)), shape=())
    middle = b.emit(P.slice, c, start=(1,), stop=(3,), step=(1,))
    fn = roundtrip(b.build(b.mul(x, b.broadcast(last, shape=(3,))),
                           b.add(middle, middle)))
    args = [np.array([1.0, -1.0, 0.5])]
    got, want = compile_function(fn)(*args), interpret(fn, args)
    np.testing.assert_array_equal(got[0], [4.0, -4.0, 2.0])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
