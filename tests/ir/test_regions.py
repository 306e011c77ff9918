"""Regions in the IR: the text form nests them and reads them back exactly, the
verifier checks their signatures, the hash covers them, passes work inside them."""
from __future__ import annotations

import numpy as np
import pytest

from tapegrad.ir import Builder, ParseError, ShapeError, VerifyError, f32, f64, parse, tensor_type, verify
from tapegrad.ir import primitives as P
from tapegrad.ir.autodiff import vjp
from tapegrad.ir.core import Function, Instr
from tapegrad.ir.passes import cse, dce
from tapegrad.runtime import interpret

from helpers.region_programs import cond_sin_or_square, scan_tanh_rnn, while_doubling


def rnn(reverse=False) -> Function:
    b = Builder("rnn")
    w = b.param(tensor_type(f64, (3, 3)), "w")
    h = b.param(tensor_type(f64, (2, 3)), "h")
    xs = b.param(tensor_type(f64, (4, 2, 3)), "xs")
    last, ys = scan_tanh_rnn(b, w, h, xs, reverse)
    return b.build(last, ys)


def programs():
    b = Builder("pick")
    x, y = (b.param(tensor_type(f32, (3,)), n) for n in "xy")
    pick = b.build(cond_sin_or_square(b, x, y))
    b = Builder("grow")
    grow = b.build(while_doubling(b, b.param(tensor_type(f32, (2,)), "x")))
    fn = rnn()
    return [fn, pick, grow, vjp(fn, fn.params), vjp(vjp(fn, fn.params[:1]), fn.params[:1])]


@pytest.mark.parametrize("fn", programs(), ids=lambda f: f.name)
def test_text_round_trips_exactly_and_verifies(fn):
    verify(fn)
    text = str(fn)
    assert "func @" in text.split("\n", 1)[1]  # a nested region
    back = parse(text)
    assert str(back) == text
    verify(back)
    assert back.structural_hash() == fn.structural_hash()


def test_the_hash_covers_the_regions():
    assert rnn().structural_hash() != rnn(reverse=True).structural_hash()
    a, b = rnn(), rnn()
    assert a.structural_hash() == b.structural_hash()
    body = a.body[0].attrs["body"]
    tweaked = str(body).replace("tanh", "sin")
    assert parse(tweaked).structural_hash() != body.structural_hash()


def test_verifier_checks_region_signatures():
    fn = rnn()
    scan = fn.body[0]
    wrong = Builder("body")
    wrong.param(tensor_type(f64, (3, 3)))
    c = wrong.param(tensor_type(f64, (2, 3)))
    wrong.param(tensor_type(f64, (2, 3)))
    bad_body = wrong.build(wrong.convert(c, dtype=f32), wrong.reduce_sum(c, axes=(0, 1)))
    attrs = dict(scan.attrs, body=bad_body)
    bad = Instr(P.scan, scan.operands, attrs, scan.type)
    with pytest.raises(VerifyError, match=r"scan.*carry.*f32\[2,3\].*f64\[2,3\]"):
        verify(Function("f", fn.params, [bad] + fn.body[1:], fn.results))


def test_shape_rules_name_the_mismatch():
    b = Builder()
    x = b.param(tensor_type(f32, (3,)))
    p = b.param(tensor_type(f32, ()))
    t = Builder("t")
    t.param(tensor_type(f32, (3,)))
    with pytest.raises(ShapeError, match="predicate must be bool"):
        b.cond(p, x, true=t.build(t.params[0]), false=t.build(t.params[0]))
    with pytest.raises(ShapeError, match="leading axis"):
        b.scan(x, body=t.build(t.params[0]), num_consts=0, num_carry=0, length=4,
               reverse=False)


def test_parse_rejects_a_region_of_the_wrong_signature():
    text = str(rnn()).replace("length=4", "length=5", 1)
    with pytest.raises(ParseError, match="scan: xs.0. of type f64.4,2,3. has no leading axis"):
        parse(text)


def test_dce_and_cse_work_inside_regions_and_keep_identity():
    fn = rnn()
    assert dce(fn).body[0] is fn.body[0]  # nothing to remove: the same object
    assert cse(fn).body[0] is fn.body[0]
    body = fn.body[0].attrs["body"]
    bb = Builder("body")
    params = [bb.param(p.type, p.hint) for p in body.params]
    env = {id(p): q for p, q in zip(body.params, params)}
    for instr in body.body:
        new = bb.emit(instr.prim, *[env[id(o)] for o in instr.operands], type=instr.type,
                      **instr.attrs)
        env[id(instr)] = new
        if instr.prim is P.tanh:  # a duplicate and a dead instruction
            env[id(instr)] = bb.emit(P.tanh, *[env[id(o)] for o in instr.operands])
            bb.emit(P.exp, params[0])
    messy = bb.build(*[env[id(r)] for r in body.results])
    scan = fn.body[0]
    instr = Instr(P.scan, scan.operands, dict(scan.attrs, body=messy), scan.type)
    outs = [Instr(P.output, (instr,), {"index": k}, t) for k, t in enumerate(scan.type.types)]
    dirty = Function("dirty", fn.params, [instr, *outs], outs)
    clean = cse(dce(dirty))
    inner = clean.body[0].attrs["body"]
    assert [i.prim.name for i in inner.body].count("tanh") == 1
    assert not any(i.prim is P.exp for i in inner.body)
    args = [np.random.default_rng(1).standard_normal(p.shape) for p in fn.params]
    for a, b in zip(interpret(clean, args), interpret(fn, args)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_cse_merges_identical_region_instructions():
    b = Builder("twice")
    w = b.param(tensor_type(f64, (3, 3)))
    h = b.param(tensor_type(f64, (2, 3)))
    xs = b.param(tensor_type(f64, (4, 2, 3)))
    a = scan_tanh_rnn(b, w, h, xs)[0]
    c = scan_tanh_rnn(b, w, h, xs)[0]
    fn = cse(b.build(b.add(a, c)))
    assert sum(i.prim is P.scan for i in fn.body) == 1
