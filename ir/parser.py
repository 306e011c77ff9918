"""Reads the IR text form back: `str(parse(str(fn))) == str(fn)`.

Errors are `ParseError`s carrying the line and column of the offending token.
"""
from __future__ import annotations

import re

import numpy as np

from . import dtypes
from .core import Function, Instr, Param, SourceLoc, TensorType, TupleType, Value
from .primitives import PRIMITIVES, ShapeError, infer_type


class ParseError(ValueError):
    def __init__(self, message: str, line: int, col: int):
        super().__init__(f"line {line}, column {col}: {message}")
        self.line, self.col = line, col


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+)
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

    def comma_list(self, close: str, item, trailing: bool = False) -> list:
        """`item, item, ...` up to `close` (consumed); commas are required between items."""
        items = []
        while self.peek()[1] != close:
            if items:
                self.expect(",")
                if trailing and self.peek()[1] == close:
                    break
            items.append(item())
        self.next()
        return items

    def skip_newlines(self):
        while self.peek()[0] in ("nl", "comment"):
            self.next()


def parse(text: str) -> Function:
    """Parse one function in the IR text form."""
    ts = _Tokens(text)
    ts.skip_newlines()
    fn = _parse_function(ts)
    ts.skip_newlines()
    if ts.peek()[0] != "eof":
        raise ts.error(f"unexpected {ts.peek()[1]!r} after the function")
    return fn


def _parse_function(ts: _Tokens) -> Function:
    """`func @name(...) -> (...) { ... }`: the top level one, or a region (an attribute
    of cond/while_loop/scan), which has names of its own: regions are closed."""
    ts.expect("func")
    name = ts.expect_kind("fname", "a function name like @f")[1][1:]
    env: dict[str, Value] = {}

    def param() -> Param:
        tok = ts.expect_kind("value", "a parameter like %x")
        ts.expect(":")
        p = Param(_parse_type(ts), tok[1][1:])
        if tok[1] in env:
            raise ts.error(f"{tok[1]} is defined twice", tok)
        env[tok[1]] = p
        return p

    ts.expect("(")
    params = ts.comma_list(")", param)
    ts.expect("->")
    ts.expect("(")
    result_types = ts.comma_list(")", lambda: _parse_type(ts))
    ts.expect("{")
    body: list[Instr] = []
    while True:
        ts.skip_newlines()
        ret = ts.peek()
        if ret[1] == "return":
            ts.next()
            results = _operands(ts, env)
            break
        body.append(_parse_instr(ts, env))
    if ts.peek()[0] not in ("nl", "comment", "eof"):
        raise ts.error(f"unexpected {ts.peek()[1] or 'end of input'!r} after the returned values")
    ts.skip_newlines()
    ts.expect("}")
    got = [r.type for r in results]
    if got != result_types:
        raise ts.error(f"returned types ({', '.join(map(str, got))}) do not match the declared "
                       f"result types ({', '.join(map(str, result_types))})", ret)
    return Function(name, params, body, results)


def _operands(ts: _Tokens, env: dict[str, Value]) -> list[Value]:
    """`%a, %b, ...`: possibly none, commas between, no trailing comma."""
    ops: list[Value] = []
    while ts.peek()[0] == "value" or (ops and ts.peek()[1] == ","):
        if ops:
            ts.expect(",")
        tok = ts.expect_kind("value", "a value like %0")
        if tok[1] not in env:
            raise ts.error(f"{tok[1]} is not defined", tok)
        ops.append(env[tok[1]])
    return ops


def _parse_type(ts: _Tokens) -> TensorType:
    tok = ts.next()
    if tok[0] != "ident" or tok[1] not in dtypes.NAMES:
        raise ts.error(f"expected a type like f32[2,3], found {tok[1] or 'end of input'!r}", tok)
    ts.expect("[")

    def dim() -> int:
        d = ts.expect_kind("number", "a dimension")
        if not d[1].isdigit():
            raise ts.error(f"dimension {d[1]} is not a non-negative integer", d)
        return int(d[1])

    return TensorType(dtypes.by_name(tok[1]), tuple(ts.comma_list("]", dim)))


_LOC = re.compile(r"#\s*(.*):(\d+)\s*$")


def _parse_instr(ts: _Tokens, env: dict[str, Value]) -> Instr:
    tok = ts.expect_kind("value", "an instruction like %0: f32[] = ... or return")
    if tok[1] in env:
        raise ts.error(f"{tok[1]} is defined twice", tok)
    ts.expect(":")
    if ts.peek()[1] == "(":  # a region instruction's tuple of result types
        ts.next()
        declared = TupleType(tuple(ts.comma_list(")", lambda: _parse_type(ts))))
    else:
        declared = _parse_type(ts)
    ts.expect("=")
    op = ts.expect_kind("ident", "a primitive name")
    prim = PRIMITIVES.get(op[1])
    if prim is None:
        raise ts.error(f"unknown primitive {op[1]!r}", op)
    operands = _operands(ts, env)
    attrs = {}
    while ts.peek()[0] == "ident":
        key = ts.next()
        if key[1] in attrs:
            raise ts.error(f"attribute {key[1]!r} given twice", key)
        ts.expect("=")
        attrs[key[1]] = _parse_attr(ts)
    loc = None
    if ts.peek()[0] == "comment":
        m = _LOC.match(ts.peek()[1])
        if m:
            loc = SourceLoc(m.group(1), int(m.group(2)))
        ts.next()
    if ts.peek()[0] not in ("nl", "eof"):
        raise ts.error(f"unexpected {ts.peek()[1]!r} at the end of the instruction")
    if prim.name == "constant" and "value" in attrs:
        attrs["value"] = _constant_value(ts, op, attrs["value"], declared)
    try:
        inferred = infer_type(prim, tuple(o.type for o in operands), attrs, declared)
    except ShapeError as e:
        raise ts.error(str(e), op) from None
    if inferred != declared:
        raise ts.error(f"{op[1]} gives {inferred}, not the declared {declared}", op)
    instr = Instr(prim, operands, attrs, declared, loc)
    env[tok[1]] = instr
    return instr


def _constant_value(ts: _Tokens, op, literal, t: TensorType) -> np.ndarray:
    """The array a constant's literal spells, which must have exactly the type `t`.

    Size-0 arrays print only up to their first 0 dimension (`[]` for 0x3), so the
    literal's nesting is compared with that prefix of the shape.
    """
    leaves, shape, todo = [], [], [(literal, 0)]
    while todo:
        v, depth = todo.pop()
        if isinstance(v, list):
            if depth == len(shape):
                shape.append(len(v))
            elif depth > len(shape) or shape[depth] != len(v):
                raise ts.error(f"constant literal is ragged; expected type {t}", op)
            todo.extend((x, depth + 1) for x in v)
        else:
            leaves.append((v, depth))
    zero = next((i for i, d in enumerate(t.shape) if d == 0), None)
    want = list(t.shape if zero is None else t.shape[:zero + 1])

    def fits(x) -> bool:  # no silent conversion: true is not 1, 1.5 is not an i64
        if t.dtype is dtypes.bool_ or isinstance(x, bool):
            return t.dtype is dtypes.bool_ and isinstance(x, bool)
        if t.dtype.is_float:
            return isinstance(x, (int, float))
        return isinstance(x, int) and dtypes.holds(t.dtype, x)

    if shape != want or not all(fits(x) and d == len(want) for x, d in leaves):
        raise ts.error(f"constant literal does not spell a value of type {t}", op)
    return np.array(literal, dtype=t.dtype.np).reshape(t.shape)


def _parse_attr(ts: _Tokens):
    tok = ts.next()
    kind, text = tok[0], tok[1]
    if kind == "number":
        if text in ("nan", "inf", "-inf") or any(c in text for c in ".eE"):
            return float(text)
        return int(text)
    if kind == "ident":
        if text == "func":  # a region
            ts.i -= 1
            return _parse_function(ts)
        if text in ("true", "false"):
            return text == "true"
        if text in dtypes.NAMES:
            return dtypes.by_name(text)
        raise ts.error(f"unexpected attribute value {text!r}", tok)
    if kind == "string":
        return _UNESCAPE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(1)), text[1:-1])
    if text in ("(", "["):
        close = ")" if text == "(" else "]"
        items = ts.comma_list(close, lambda: _parse_attr(ts), trailing=close == ")")
        return tuple(items) if close == ")" else items
    raise ts.error(f"unexpected {text or 'end of input'!r} in an attribute", tok)


_UNESCAPE = re.compile(r"\\(.)", re.S)
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
