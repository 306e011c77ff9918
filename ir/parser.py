"""Reads the IR text form back: `str(parse(str(fn))) == str(fn)`.

Errors are `ParseError`s carrying the line and column of the offending token.
"""
from __future__ import annotations

import re

import numpy as np

from . import dtypes
from .core import Function, Instr, Param, SourceLoc, TensorType, Value
from .primitives import PRIMITIVES, ShapeError, infer_type


class ParseError(ValueError):
    def __init__(self, message: str, line: int, col: int):
        super().__init__(f"line {line}, column {col}: {message}")
        self.line, self.col = line, col


_TOKEN = re.compile(r"""
    (?P<ws>[ \t]+)
  | (?P<comment>\#[^\n]*)
  | (?P<nl>\n)
  | (?P<value>%[A-Za-z0-9_]+)
  | (?P<fname>@[A-Za-z0-9_.]+)
  | (?P<number>-?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+|inf\b)|nan\b)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<arrow>->)
  | (?P<punct>[()\[\]{},:=])
""", re.VERBOSE)


class _Tokens:
    def __init__(self, text: str):
        self.toks: list[tuple[str, str, int, int]] = []
        line, start = 1, 0
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise ParseError(f"unexpected character {text[pos]!r}", line, pos - start + 1)
            kind = m.lastgroup
            if kind == "nl":
                self.toks.append(("nl", "\n", line, pos - start + 1))
                line, start = line + 1, m.end()
            elif kind != "ws":
                self.toks.append((kind, m.group(), line, pos - start + 1))
            pos = m.end()
        self.toks.append(("eof", "", line, pos - start + 1))
        self.i = 0

    def peek(self):
        return self.toks[self.i]

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, message: str, tok=None):
        tok = tok or self.peek()
        return ParseError(message, tok[2], tok[3])

    def expect(self, text: str):
        t = self.next()
        if t[1] != text:
            raise self.error(f"expected {text!r}, found {t[1] or 'end of input'!r}", t)
        return t

    def expect_kind(self, kind: str, what: str):
        t = self.next()
        if t[0] != kind:
            raise self.error(f"expected {what}, found {t[1] or 'end of input'!r}", t)
        return t

    def skip_newlines(self):
        while self.peek()[0] in ("nl", "comment"):
            self.next()


def parse(text: str) -> Function:
    """Parse one function in the IR text form."""
    ts = _Tokens(text)
    ts.skip_newlines()
    ts.expect("func")
    name = ts.expect_kind("fname", "a function name like @f")[1][1:]
    env: dict[str, Value] = {}
    params: list[Param] = []
    ts.expect("(")
    while ts.peek()[1] != ")":
        tok = ts.expect_kind("value", "a parameter like %x")
        ts.expect(":")
        p = Param(_parse_type(ts), tok[1][1:])
        if tok[1] in env:
            raise ts.error(f"{tok[1]} is defined twice", tok)
        env[tok[1]] = p
        params.append(p)
        if ts.peek()[1] == ",":
            ts.next()
    ts.expect(")")
    ts.expect("->")
    ts.expect("(")
    result_types = []
    while ts.peek()[1] != ")":
        result_types.append(_parse_type(ts))
        if ts.peek()[1] == ",":
            ts.next()
    ts.expect(")")
    ts.expect("{")
    body: list[Instr] = []
    while True:
        ts.skip_newlines()
        tok = ts.peek()
        if tok[1] == "return":
            ts.next()
            results = []
            while ts.peek()[0] == "value":
                results.append(_lookup(ts, env))
                if ts.peek()[1] == ",":
                    ts.next()
            break
        body.append(_parse_instr(ts, env))
    ts.skip_newlines()
    ts.expect("}")
    ts.skip_newlines()
    if ts.peek()[0] != "eof":
        raise ts.error(f"unexpected {ts.peek()[1]!r} after the function")
    if [r.type for r in results] != result_types:
        raise ts.error("returned values do not match the declared result types", tok)
    return Function(name, params, body, results)


def _lookup(ts: _Tokens, env: dict[str, Value]) -> Value:
    tok = ts.expect_kind("value", "a value like %0")
    if tok[1] not in env:
        raise ts.error(f"{tok[1]} is not defined", tok)
    return env[tok[1]]


def _parse_type(ts: _Tokens) -> TensorType:
    tok = ts.next()
    if tok[0] != "ident" or tok[1] not in ("f32", "f64", "i64", "bool"):
        raise ts.error(f"expected a type like f32[2,3], found {tok[1]!r}", tok)
    ts.expect("[")
    shape = []
    while ts.peek()[1] != "]":
        d = ts.expect_kind("number", "a dimension")
        if not d[1].isdigit():
            raise ts.error(f"dimension {d[1]} is not a non-negative integer", d)
        shape.append(int(d[1]))
        if ts.peek()[1] == ",":
            ts.next()
    ts.expect("]")
    return TensorType(dtypes.by_name(tok[1]), tuple(shape))


def _parse_instr(ts: _Tokens, env: dict[str, Value]) -> Instr:
    tok = ts.expect_kind("value", "an instruction like %0: f32[] = ... or return")
    if tok[1] in env:
        raise ts.error(f"{tok[1]} is defined twice", tok)
    ts.expect(":")
    declared = _parse_type(ts)
    ts.expect("=")
    op = ts.expect_kind("ident", "a primitive name")
    prim = PRIMITIVES.get(op[1])
    if prim is None:
        raise ts.error(f"unknown primitive {op[1]!r}", op)
    operands = []
    while ts.peek()[0] == "value":
        operands.append(_lookup(ts, env))
        if ts.peek()[1] == ",":
            ts.next()
    attrs = {}
    while ts.peek()[0] == "ident":
        key = ts.next()[1]
        ts.expect("=")
        attrs[key] = _parse_attr(ts)
    loc = None
    if ts.peek()[0] == "comment":
        m = re.match(r"#\s*(.+):(\d+)\s*$", ts.peek()[1])
        if m:
            loc = SourceLoc(m.group(1), int(m.group(2)))
        ts.next()
    if ts.peek()[0] not in ("nl", "eof"):
        raise ts.error(f"unexpected {ts.peek()[1]!r} at the end of the instruction")
    if prim.name == "constant" and "value" in attrs:
        try:
            attrs["value"] = np.array(attrs["value"], dtype=declared.dtype.np).reshape(declared.shape)
        except ValueError:
            raise ts.error(f"constant value does not fit type {declared}", op) from None
    try:
        inferred = infer_type(prim, tuple(o.type for o in operands), attrs, declared)
    except (ShapeError, TypeError) as e:
        raise ts.error(str(e), op) from None
    if inferred != declared:
        raise ts.error(f"{op[1]} gives {inferred}, not the declared {declared}", op)
    instr = Instr(prim, operands, attrs, declared, loc)
    env[tok[1]] = instr
    return instr


def _parse_attr(ts: _Tokens):
    tok = ts.next()
    kind, text = tok[0], tok[1]
    if kind == "number":
        if text in ("nan", "inf", "-inf") or any(c in text for c in ".eE"):
            return float(text)
        return int(text)
    if kind == "ident":
        if text in ("true", "false"):
            return text == "true"
        if text in ("f32", "f64", "i64", "bool"):
            return dtypes.by_name(text)
        raise ts.error(f"unexpected attribute value {text!r}", tok)
    if kind == "string":
        return bytes(text[1:-1], "utf-8").decode("unicode_escape")
    if text in ("(", "["):
        close = ")" if text == "(" else "]"
        items = []
        while ts.peek()[1] != close:
            items.append(_parse_attr(ts))
            if ts.peek()[1] == ",":
                ts.next()
            elif ts.peek()[1] != close:
                raise ts.error(f"expected ',' or {close!r} in attribute")
        ts.next()
        return tuple(items) if close == ")" else items
    raise ts.error(f"unexpected {text!r} in an attribute", tok)
