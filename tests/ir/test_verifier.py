"""The verifier rejects malformed IR (built by hand, since the builder and the parser
refuse to make it) and accepts everything the builder makes."""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.ir import (Builder, Function, Instr, Param, Primitive, TensorType, VerifyError,
                         f32, f64, tensor_type, verify)
from tapegrad.ir import primitives as P

from helpers.ir_build import roundtrip

T3 = tensor_type(f32, (3,))


def good():
    b = Builder("g")
    x = b.param(T3, "x")
    s = b.sin(x)
    return b.build(b.reduce_sum(b.mul(s, x), axes=(0,))), x, s


def test_builder_output_verifies():
    fn, _, _ = good()
    assert verify(fn) is fn
    roundtrip(fn)


def bad_functions():
    fn, x, s = good()
    stranger = Param(T3, "y")
    yield "undefined operand", Function("f", [x], [Instr(P.neg, [stranger], {}, T3)], [x]), \
        "operand 0 is used before it is defined"
    late = Instr(P.neg, [x], {}, T3)
    yield "use before definition", Function("f", [x], [Instr(P.neg, [late], {}, T3), late], [x]), \
        "operand 0 is used before it is defined"
    yield "value defined twice", Function("f", [x], [s, s], [s]), "already defined"
    yield "parameter listed twice", Function("f", [x, x], [], [x]), "listed twice"
    yield "result not defined", Function("f", [x], [s], [Instr(P.neg, [x], {}, T3)]), \
        "result 0 is not defined"
    yield "result is a foreign param", Function("f", [x], [], [stranger]), "result 0"
    yield "type contradicts the rule (shape)", \
        Function("f", [x], [Instr(P.sin, [x], {}, tensor_type(f32, (4,)))], [x]), \
        "declared type f32[4] but the shape rule gives f32[3]"
    yield "type contradicts the rule (dtype)", \
        Function("f", [x], [Instr(P.sin, [x], {}, tensor_type(f64, (3,)))], [x]), \
        "declared type f64[3]"
    z = Param(tensor_type(f64, (3,)), "z")
    yield "operands do not fit", Function("f", [x, z], [Instr(P.add, [x, z], {}, T3)], [x]), \
        "add: operands must have equal types, got f32[3], f64[3]"
    yield "shape rule fails", Function(
        "f", [x], [Instr(P.reduce_sum, [x], {"axes": (1,)}, tensor_type(f32, ()))], [x]), \
        "reduce_sum: invalid axes"
    yield "missing attribute", Function("f", [x], [Instr(P.reshape, [x], {}, T3)], [x]), \
        "reshape: bad operands or attributes"
    yield "wrong operand count", Function("f", [x], [Instr(P.add, [x], {}, T3)], [x]), \
        "add: bad operands"
    yield "bad constant", Function("f", [], [Instr(
        P.constant, [], {"value": np.zeros(3, np.float64)}, T3)], []), "constant: value float64[3]"
    yield "unknown primitive", Function(
        "f", [x], [Instr(Primitive("frobnicate", P.OpGroup.UNARY), [x], {}, T3)], [x]), \
        "unknown primitive"
    yield "impostor primitive", Function(
        "f", [x], [Instr(Primitive("sin", P.OpGroup.UNARY), [x], {}, T3)], [x]), "unknown primitive"
    yield "primitive by name", Function("f", [x], [Instr("sin", [x], {}, T3)], [x]), \
        "unknown primitive"
    yield "param in the body", Function("f", [x], [x], [x]), "is not an instruction"
    yield "untyped param", Function("f", [Param((3,), "z")], [], []), "no tensor type"


BAD = list(bad_functions())


@pytest.mark.parametrize("fn,msg", [(f, m) for _, f, m in BAD], ids=[n for n, _, _ in BAD])
def test_verifier_rejects(fn, msg):
    with pytest.raises(VerifyError) as e:
        verify(fn)
    assert msg in str(e.value), str(e.value)
    assert str(e.value).startswith("@f: "), "the message names the function"


def test_malformed_functions_still_print():
    """Printing is how one debugs a bad pass, so it must not crash on bad IR."""
    fn, x, _ = good()
    text = str(Function("f", [x], [Instr(P.neg, [Param(T3)], {}, T3)], [x]))
    assert "neg %<undefined>" in text
