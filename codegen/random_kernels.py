"""PyTorch's CPU random kernels as one LLVM module: the mt19937 engine and the float
transforms, bit for bit the numbers tracer/random_fill.py's numpy reference gives.

    text = module_text("tg_random")   # LLVM IR; the entry fills a table of kernel addresses

Why native: the numpy reference spends microseconds per numpy call on small draws
and emulates fused multiply-adds in float64, so `randn(64, 1000)` took ~20 ms and
`randn(5, 3)` ~200 us; here they run in the time PyTorch's own kernels take.

Every kernel takes, first, the byte offset of the data pointer inside an ndarray
object, then arrays as their object addresses (`id(array)`): reading the pointer
natively costs less than asking numpy for it. The float arithmetic is written
operation for operation as the reference (and PyTorch's kernels) do it, with no
fast-math flags, so LLVM may not contract or reorder: every multiply-add that
PyTorch's compiler fused is an explicit `llvm.fma`, every other one is two
roundings. The float64 paths call glibc's log/log1p/sin/cos, the functions PyTorch
and Python's `math` call.

The one entry point, `<symbol>(ptr table)`, writes the kernels' addresses into
`table` in the order of KERNELS (the loader knows one symbol per module).
"""
from __future__ import annotations

import math
import struct

import numpy as np

N, M = 624, 397

#: (name, argument types after the data offset): "obj" is an array object's address
KERNELS = (
    ("seed", ("obj", "i64")),                       # state, seed
    ("draw", ("obj", "obj", "obj", "i64")),         # state, counters [left, next], out u32, n
    # state, counters, out, n, low, high - low: n numbers drawn (f32: 24 bits of a word,
    # f64: 53 of two) and scaled, x * (high - low) + low with one rounding
    ("unit_f32", ("obj", "obj", "obj", "i64", "float", "float")),
    ("unit_f64", ("obj", "obj", "obj", "i64", "double", "double")),
    ("normal16_f32", ("obj", "i64", "float", "float")),      # data, rows of 16, mean, std
    ("normal16_f64", ("obj", "i64", "double", "double")),
    ("normal_pairs_f64", ("obj", "obj", "obj", "i64")),  # state, counters, out, pairs
    ("affine_f64", ("obj", "obj", "i64", "double", "double")),  # x, out (any float), n, a, b
    ("randperm", ("obj", "obj", "i64")),             # words (n - 1 u32), perm i64, n
    ("randint32", ("obj", "obj", "obj", "i64", "i64", "i64")),  # state, counters, out i64,
    # n, span (< 2**32), base: base + a 32-bit draw % span, wrapped to 64 bits
)


def _f64(value: float) -> str:
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", float(value)))[0]


def _f32(value: float) -> str:
    """A float constant rounded to float32, written as LLVM writes floats (as a double)."""
    return _f64(float(np.float32(value)))


class _Body:
    """Lines of one function with fresh value names."""

    def __init__(self):
        self.lines: list[str] = []
        self.count = 0

    def __call__(self, expr: str) -> str:
        self.count += 1
        name = f"%v{self.count}"
        self.lines.append(f"  {name} = {expr}")
        return name

    def raw(self, line: str) -> None:
        self.lines.append(line if line.endswith(":") else "  " + line)

    def label(self) -> str:
        self.count += 1
        return f"L{self.count}"

    def data(self, obj: str, elem: str = "i8") -> str:
        """The data pointer of the ndarray object at `obj`."""
        slot = self(f"getelementptr i8, ptr {obj}, i64 %off")
        return self(f"load ptr, ptr {slot}")

    def loop(self, count: str, body, start: str = "0") -> None:
        """for k in [start, count): body(k); the block after it is current afterwards."""
        pre, head, done = self.label(), self.label(), self.label()
        self.raw(f"br label %{pre}")
        self.raw(f"{pre}:")
        any_ = self(f"icmp slt i64 {start}, {count}")
        self.raw(f"br i1 {any_}, label %{head}, label %{done}")
        self.raw(f"{head}:")
        k = f"%k{self.count}"
        nxt = f"%kn{self.count}"
        latch = f"%latch{self.count}"
        self.raw(f"{k} = phi i64 [{start}, %{pre}], [{nxt}, %{latch[1:]}]")
        body(k)
        self.raw(f"br label {latch}")
        self.raw(f"{latch[1:]}:")
        self.raw(f"{nxt} = add i64 {k}, 1")
        again = self(f"icmp slt i64 {nxt}, {count}")
        self.raw(f"br i1 {again}, label %{head}, label %{done}")
        self.raw(f"{done}:")


def _vec(kind: str, lanes: int) -> str:
    return kind if lanes == 1 else f"<{lanes} x {kind}>"


def _splat(kind: str, value: str, lanes: int) -> str:
    if lanes == 1:
        return value
    return "<" + ", ".join(f"{kind} {value}" for _ in range(lanes)) + ">"


class _Math:
    """float32 arithmetic on `lanes`-wide vectors, one LLVM instruction per reference step."""

    def __init__(self, b: _Body, lanes: int, kind: str = "float"):
        self.b, self.lanes, self.kind = b, lanes, kind
        self.t = _vec(kind, lanes)
        self.ikind = "i32" if kind == "float" else "i64"
        self.it = _vec(self.ikind, lanes)
        self.bt = _vec("i1", lanes)
        self.suffix = ("v%d" % lanes if lanes > 1 else "") + ("f32" if kind == "float" else "f64")

    def c(self, value: float) -> str:
        return _splat(self.kind, _f32(value) if self.kind == "float" else _f64(value), self.lanes)

    def ci(self, value: int) -> str:
        return _splat(self.ikind, str(value), self.lanes)

    def op(self, name: str, x: str, y: str) -> str:
        return self.b(f"{name} {self.t} {x}, {y}")

    def iop(self, name: str, x: str, y: str) -> str:
        return self.b(f"{name} {self.it} {x}, {y}")

    def call(self, fn: str, *args: str) -> str:
        return self.b(f"call {self.t} @llvm.{fn}.{self.suffix}(" +
                      ", ".join(f"{self.t} {a}" for a in args) + ")")

    def fma(self, x: str, y: str, z: str) -> str:
        return self.call("fma", x, y, z)

    def select(self, cond: str, x: str, y: str) -> str:
        return self.b(f"select {self.bt} {cond}, {self.t} {x}, {self.t} {y}")

    def log_ps(self, x: str) -> str:
        """avx_mathfun's log256_ps (random_mathfun.log_ps)."""
        b = self
        lowest = _splat("float", _f64(np.array(0x00800000, np.int32).view(np.float32)),
                        self.lanes)
        under = b.b(f"fcmp olt {b.t} {x}, {lowest}")
        x = b.select(under, lowest, x)
        bits = b.b(f"bitcast {b.t} {x} to {b.it}")
        ei = b.iop("sub", b.iop("lshr", bits, b.ci(23)), b.ci(0x7F))
        e = b.op("fadd", b.b(f"sitofp {b.it} {ei} to {b.t}"), b.c(1.0))
        mbits = b.iop("or", b.iop("and", bits, b.ci(~0x7F800000)), b.ci(0x3F000000))
        m = b.b(f"bitcast {b.it} {mbits} to {b.t}")
        small = b.b(f"fcmp olt {b.t} {m}, {b.c(0.707106781186547524)}")
        e = b.op("fsub", e, b.select(small, b.c(1.0), b.c(0.0)))
        m = b.op("fadd", b.op("fsub", m, b.c(1.0)), b.select(small, m, b.c(0.0)))
        z = b.op("fmul", m, m)
        poly = (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                3.3333331174E-1)
        y = b.c(poly[0])
        for coef in poly[1:]:
            y = b.fma(y, m, b.c(coef))
        y = b.op("fmul", y, m)
        y = b.fma(y, z, b.op("fmul", e, b.c(-2.12194440e-4)))
        y = b.fma(z, b.c(-0.5), y)
        return b.fma(e, b.c(0.693359375), b.op("fadd", m, y))

    def sincos_ps(self, x: str) -> tuple[str, str]:
        """avx_mathfun's sincos256_ps (random_mathfun.sincos_ps): (sin, cos)."""
        b = self
        bits = b.b(f"bitcast {b.t} {x} to {b.it}")
        sin_neg = b.b(f"icmp slt {b.it} {bits}, {b.ci(0)}")
        x = b.call("fabs", x)
        j = b.b(f"fptosi {b.t} {b.op('fmul', x, b.c(1.27323954473516))} to {b.it}")
        j = b.iop("and", b.iop("add", j, b.ci(1)), b.ci(-2))
        y = b.b(f"sitofp {b.it} {j} to {b.t}")
        sin_neg = b.b(f"xor {b.bt} {sin_neg}, " +
                      b.b(f"icmp ne {b.it} {b.iop('and', j, b.ci(4))}, {b.ci(0)}"))
        notj2 = b.iop("xor", b.iop("sub", j, b.ci(2)), b.ci(-1))
        cos_neg = b.b(f"icmp ne {b.it} {b.iop('and', notj2, b.ci(4))}, {b.ci(0)}")
        use_sin = b.b(f"icmp eq {b.it} {b.iop('and', j, b.ci(2))}, {b.ci(0)}")
        for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
            x = b.fma(y, b.c(dp), x)
        z = b.op("fmul", x, x)
        c = b.c(2.443315711809948E-005)
        for coef in (-1.388731625493765E-003, 4.166664568298827E-002):
            c = b.fma(c, z, b.c(coef))
        c = b.op("fmul", c, z)
        half = b.b(f"fneg {b.t} {b.op('fmul', z, b.c(0.5))}")
        c = b.op("fadd", b.fma(c, z, half), b.c(1.0))
        s = b.c(-1.9515295891E-4)
        for coef in (8.3321608736E-3, -1.6666654611E-1):
            s = b.fma(s, z, b.c(coef))
        s = b.fma(b.op("fmul", s, z), x, x)
        sin, cos = b.select(use_sin, s, c), b.select(use_sin, c, s)
        sin = b.select(sin_neg, b.b(f"fneg {b.t} {sin}"), sin)
        cos = b.select(cos_neg, b.b(f"fneg {b.t} {cos}"), cos)
        return sin, cos


# ---------------------------------------------------------------- the engine


def _mix(b: _Body, cur: str, nxt: str) -> str:
    """mt19937's ((cur & upper) | (nxt & lower)) >> 1, xor the matrix when nxt is odd."""
    y = b(f"or i32 {b(f'and i32 {cur}, -2147483648')}, {b(f'and i32 {nxt}, 2147483647')}")
    odd = b(f"and i32 {nxt}, 1")
    return b(f"xor i32 {b(f'lshr i32 {y}, 1')}, {b(f'mul i32 {odd}, -1727483681')}")


def _twist_function() -> str:
    """The next 624 words in place: word k from old words k and k+1 and word k+397 (old for
    k < 227, already new after), the last from the new word 0."""
    b = _Body()

    def step(offset: int):
        def body(k):
            p0 = b(f"getelementptr i32, ptr %s, i64 {k}")
            k1 = b(f"add i64 {k}, 1")
            far = b(f"getelementptr i32, ptr %s, i64 {b(f'add i64 {k}, {offset}')}")
            cur = b(f"load i32, ptr {p0}")
            nxt = b(f"load i32, ptr {b(f'getelementptr i32, ptr %s, i64 {k1}')}")
            val = b(f"xor i32 {b(f'load i32, ptr {far}')}, {_mix(b, cur, nxt)}")
            b.raw(f"store i32 {val}, ptr {p0}")
        return body

    b.loop(str(N - M), step(M))
    b.loop(str(N - 1), step(M - N), start=str(N - M))
    last = b(f"getelementptr i32, ptr %s, i64 {N - 1}")
    mixed = _mix(b, b(f"load i32, ptr {last}"), b("load i32, ptr %s"))
    far = b(f"load i32, ptr {b(f'getelementptr i32, ptr %s, i64 {M - 1}')}")
    b.raw(f"store i32 {b(f'xor i32 {far}, {mixed}')}, ptr {last}")
    b.raw("ret void")
    return "define internal void @twist(ptr noalias %s) {\nentry:\n" + \
        "\n".join(b.lines) + "\n}\n"


def _temper(b: _Body, y: str) -> str:
    y = b(f"xor i32 {y}, {b(f'lshr i32 {y}, 11')}")
    y = b(f"xor i32 {y}, {b('and i32 ' + b(f'shl i32 {y}, 7') + ', -1658038656')}")
    y = b(f"xor i32 {y}, {b('and i32 ' + b(f'shl i32 {y}, 15') + ', -272236544')}")
    return b(f"xor i32 {y}, {b(f'lshr i32 {y}, 18')}")


def _temper_function() -> str:
    b = _Body()

    def body(k):
        w = b(f"load i32, ptr {b(f'getelementptr i32, ptr %src, i64 {k}')}")
        b.raw(f"store i32 {_temper(b, w)}, ptr {b(f'getelementptr i32, ptr %dst, i64 {k}')}")

    b.loop("%n", body)
    b.raw("ret void")
    return "define internal void @temper(ptr noalias %src, ptr noalias %dst, i64 %n) {\n" \
        "entry:\n" + "\n".join(b.lines) + "\n}\n"


def _seed(b: _Body) -> None:
    """mt19937's initial words for the seed's low 32 bits."""
    s = b.data("%a0")
    first = b("trunc i64 %a1 to i32")
    b.raw(f"store i32 {first}, ptr {s}")
    pre, head, done = b.label(), b.label(), b.label()
    b.raw(f"br label %{pre}")
    b.raw(f"{pre}:")
    b.raw(f"br label %{head}")
    b.raw(f"{head}:")
    b.raw(f"%j = phi i64 [1, %{pre}], [%j1, %{head}]")
    b.raw(f"%prev = phi i32 [{first}, %{pre}], [%word, %{head}]")
    mixed = b("xor i32 %prev, " + b("lshr i32 %prev, 30"))
    b.raw(f"%word = add i32 {b(f'mul i32 {mixed}, 1812433253')}, {b('trunc i64 %j to i32')}")
    b.raw(f"store i32 %word, ptr {b(f'getelementptr i32, ptr {s}, i64 %j')}")
    b.raw("%j1 = add i64 %j, 1")
    b.raw(f"br i1 {b(f'icmp slt i64 %j1, {N}')}, label %{head}, label %{done}")
    b.raw(f"{done}:")


def _draw_words_function() -> str:
    """PyTorch's counters: `left` 1 means every word is used (twist first); a draw takes
    word `next`, tempered, and counts `left` down."""
    b = _Body()
    b.raw("%nxp = getelementptr i64, ptr %ctr, i64 1")
    left0, next0 = b("load i64, ptr %ctr"), b("load i64, ptr %nxp")
    b.raw("br label %head")
    b.raw("head:")
    b.raw(f"%done = phi i64 [0, %entry], [%done2, %take]")
    b.raw(f"%left = phi i64 [{left0}, %entry], [%left2, %take]")
    b.raw(f"%next = phi i64 [{next0}, %entry], [%next2, %take]")
    b.raw(f"br i1 {b('icmp slt i64 %done, %n')}, label %check, label %exit")
    b.raw("check:")
    b.raw(f"br i1 {b('icmp eq i64 %left, 1')}, label %twist, label %take")
    b.raw("twist:")
    b.raw("call void @twist(ptr %s)")
    b.raw("br label %take")
    b.raw("take:")
    b.raw("%l = phi i64 [%left, %check], [625, %twist]")
    b.raw("%x = phi i64 [%next, %check], [0, %twist]")
    rest, avail = b("sub i64 %n, %done"), b("sub i64 %l, 1")
    cnt = b(f"select i1 {b(f'icmp slt i64 {rest}, {avail}')}, i64 {rest}, i64 {avail}")
    src = b("getelementptr i32, ptr %s, i64 %x")
    dst = b("getelementptr i32, ptr %out, i64 %done")
    b.raw(f"call void @temper(ptr {src}, ptr {dst}, i64 {cnt})")
    b.raw(f"%done2 = add i64 %done, {cnt}")
    b.raw(f"%left2 = sub i64 %l, {cnt}")
    b.raw(f"%next2 = add i64 %x, {cnt}")
    b.raw("br label %head")
    b.raw("exit:")
    b.raw("store i64 %left, ptr %ctr")
    b.raw("store i64 %next, ptr %nxp")
    b.raw("ret void")
    return "define internal void @draw_words(ptr noalias %s, ptr noalias %ctr, " \
        "ptr noalias %out, i64 %n) {\nentry:\n" + "\n".join(b.lines) + "\n}\n"


def _draw(b: _Body) -> None:
    b.raw(f"call void @draw_words(ptr {b.data('%a0')}, ptr {b.data('%a1')}, "
          f"ptr {b.data('%a2')}, i64 %a3)")


def _drawn_into(b: _Body, out: str, words: str) -> None:
    """`words` fresh 32-bit draws into the memory of `out` (a kernel's first three
    arguments are the state, the counters and out)."""
    b.raw(f"call void @draw_words(ptr {b.data('%a0')}, ptr {b.data('%a1')}, ptr {out}, "
          f"i64 {words})")


# ---------------------------------------------------------------- uniform floats


def _unit_f32_at(b: _Body, words: str, k: str) -> str:
    w = b(f"load i32, ptr {b(f'getelementptr i32, ptr {words}, i64 {k}')}")
    f = b(f"uitofp i32 {b(f'and i32 {w}, 16777215')} to float")
    return b(f"fmul float {f}, {_f64(2.0 ** -24)}")


def _unit_f64_at(b: _Body, words: str, k: str) -> str:
    """53 bits of the 64-bit number words[2k] << 32 | words[2k + 1]."""
    k2 = b(f"shl i64 {k}, 1")
    hi = b(f"load i32, ptr {b(f'getelementptr i32, ptr {words}, i64 {k2}')}")
    lo = b(f"load i32, ptr {b(f'getelementptr i32, ptr {words}, i64 ' + b(f'add i64 {k2}, 1'))}")
    wide_hi = b(f"zext i32 {hi} to i64")
    v = b(f"or i64 {b(f'shl i64 {wide_hi}, 32')}, {b(f'zext i32 {lo} to i64')}")
    f = b(f"uitofp i64 {b(f'and i64 {v}, 9007199254740991')} to double")
    return b(f"fmul double {f}, {_f64(2.0 ** -53)}")


def _unit(kind: str):
    """Draw the words into out, then each number in place (number k reads only the words
    at or after its own bytes, and they are read before it is written)."""
    def kernel(b: _Body) -> None:
        out = b.data("%a2")
        _drawn_into(b, out, "%a3" if kind == "float" else b("shl i64 %a3, 1"))
        words = out
        at = _unit_f32_at if kind == "float" else _unit_f64_at

        def body(k):
            x = at(b, words, k)
            y = b(f"call {kind} @llvm.fma.{'f32' if kind == 'float' else 'f64'}"
                  f"({kind} {x}, {kind} %a5, {kind} %a4)")
            b.raw(f"store {kind} {y}, ptr {b(f'getelementptr {kind}, ptr {out}, i64 {k}')}")
        b.loop("%a3", body)
    return kernel


# ---------------------------------------------------------------- normal


def _normal16_f32(b: _Body) -> None:
    """Rows of 16 uniforms -> 16 normals in place, 8 lanes as PyTorch's AVX2 kernel: the
    first 8 give the radius, the last 8 the angle; cosines first, sines second."""
    data = b.data("%a0")
    v = _Math(b, 8)
    m8 = b(f"insertelement <8 x float> poison, float %a2, i32 0")
    mean = b(f"shufflevector <8 x float> {m8}, <8 x float> poison, <8 x i32> zeroinitializer")
    s8 = b(f"insertelement <8 x float> poison, float %a3, i32 0")
    std = b(f"shufflevector <8 x float> {s8}, <8 x float> poison, <8 x i32> zeroinitializer")

    def body(r):
        lo = b(f"getelementptr float, ptr {data}, i64 {b(f'shl i64 {r}, 4')}")
        hi = b(f"getelementptr float, ptr {lo}, i64 8")
        d1 = b(f"load <8 x float>, ptr {lo}, align 4")
        d2 = b(f"load <8 x float>, ptr {hi}, align 4")
        u1 = v.op("fsub", v.c(1.0), d1)
        radius = v.call("sqrt", v.op("fmul", v.c(-2.0), v.log_ps(u1)))
        s, c = v.sincos_ps(v.op("fmul", v.c(2.0 * math.pi), d2))
        b.raw(f"store <8 x float> {v.fma(v.op('fmul', radius, c), std, mean)}, ptr {lo}, align 4")
        b.raw(f"store <8 x float> {v.fma(v.op('fmul', radius, s), std, mean)}, ptr {hi}, align 4")
    b.loop("%a1", body)


def _normal16_f64(b: _Body) -> None:
    """The same in float64 with glibc's log, cos and sin, one number at a time."""
    data = b.data("%a0")
    rows8 = b("shl i64 %a1, 3")

    def body(k):
        row = b(f"lshr i64 {k}, 3")
        a = b(f"add i64 {b(f'shl i64 {row}, 4')}, {b(f'and i64 {k}, 7')}")
        pa = b(f"getelementptr double, ptr {data}, i64 {a}")
        pb = b(f"getelementptr double, ptr {pa}, i64 8")
        u1 = b(f"fsub double 1.0, {b(f'load double, ptr {pa}')}")
        theta = b(f"fmul double {_f64(2.0 * math.pi)}, {b(f'load double, ptr {pb}')}")
        radius = b(f"call double @llvm.sqrt.f64(double "
                   f"{b(f'fmul double -2.0, ' + b(f'call double @log(double {u1})'))})")
        for fn, ptr in (("cos", pa), ("sin", pb)):
            z = b(f"fmul double {radius}, {b(f'call double @{fn}(double {theta})')}")
            b.raw(f"store double {b(f'call double @llvm.fma.f64(double {z}, double %a3, double %a2)')}"
                  f", ptr {ptr}")
    b.loop(rows8, body)


def _normal_pairs_f64(b: _Body) -> None:
    """PyTorch's scalar Box-Muller: two 53-bit uniforms (angle first) -> cos and sin, the
    four words of a pair drawn into the pair's 16 bytes and read before they are written."""
    out = b.data("%a2")
    _drawn_into(b, out, b("shl i64 %a3, 2"))
    words = out

    def body(k):
        k2 = b(f"shl i64 {k}, 1")
        theta = b(f"fmul double {_f64(2.0 * math.pi)}, {_unit_f64_at(b, words, k2)}")
        u = _unit_f64_at(b, words, b(f"add i64 {k2}, 1"))
        lg = b(f"call double @log1p(double {b(f'fneg double {u}')})")
        radius = b(f"call double @llvm.sqrt.f64(double {b(f'fmul double -2.0, {lg}')})")
        for fn, idx in (("cos", k2), ("sin", b(f"add i64 {k2}, 1"))):
            z = b(f"fmul double {radius}, {b(f'call double @{fn}(double {theta})')}")
            b.raw(f"store double {z}, ptr {b(f'getelementptr double, ptr {out}, i64 {idx}')}")
    b.loop("%a3", body)


def _affine_f64(b: _Body) -> None:
    """out = fma(x, a, b) in float64 (out may be x)."""
    x, out = b.data("%a0"), b.data("%a1")

    def body(k):
        v = b(f"load double, ptr {b(f'getelementptr double, ptr {x}, i64 {k}')}")
        y = b(f"call double @llvm.fma.f64(double {v}, double %a3, double %a4)")
        b.raw(f"store double {y}, ptr {b(f'getelementptr double, ptr {out}, i64 {k}')}")
    b.loop("%a2", body)


def _randperm(b: _Body) -> None:
    """Swap place i with i + words[i] % (n - i), for i < n - 1, from the identity."""
    words, perm = b.data("%a0"), b.data("%a1")

    def fill(k):
        b.raw(f"store i64 {k}, ptr {b(f'getelementptr i64, ptr {perm}, i64 {k}')}")
    b.loop("%a2", fill)

    def swap(i):
        w = b(f"zext i32 {b(f'load i32, ptr ' + b(f'getelementptr i32, ptr {words}, i64 {i}'))}"
              " to i64")
        j = b(f"add i64 {i}, {b(f'urem i64 {w}, ' + b(f'sub i64 %a2, {i}'))}")
        pi = b(f"getelementptr i64, ptr {perm}, i64 {i}")
        pj = b(f"getelementptr i64, ptr {perm}, i64 {j}")
        vi, vj = b(f"load i64, ptr {pi}"), b(f"load i64, ptr {pj}")
        b.raw(f"store i64 {vj}, ptr {pi}")
        b.raw(f"store i64 {vi}, ptr {pj}")
    b.loop(b("sub i64 %a2, 1"), swap)


def _randint32(b: _Body) -> None:
    """The words drawn into the first half of out, widened from the last one down (number
    k's 8 bytes cover words 2k and 2k+1, which are k's or already widened)."""
    out = b.data("%a2")
    _drawn_into(b, out, "%a3")
    span = b("trunc i64 %a4 to i32")

    def body(i):
        k = b(f"sub i64 {b('sub i64 %a3, 1')}, {i}")
        w = b(f"load i32, ptr {b(f'getelementptr i32, ptr {out}, i64 {k}')}")
        v = b(f"add i64 {b(f'zext i32 ' + b(f'urem i32 {w}, {span}') + ' to i64')}, %a5")
        b.raw(f"store i64 {v}, ptr {b(f'getelementptr i64, ptr {out}, i64 {k}')}")
    b.loop("%a3", body)


_BUILDERS = {"seed": _seed, "draw": _draw, "unit_f32": _unit("float"),
             "unit_f64": _unit("double"), "normal16_f32": _normal16_f32,
             "normal16_f64": _normal16_f64, "normal_pairs_f64": _normal_pairs_f64,
             "affine_f64": _affine_f64, "randperm": _randperm, "randint32": _randint32}

_DECLARES = """declare float @llvm.fma.f32(float, float, float)
declare double @llvm.fma.f64(double, double, double)
declare <8 x float> @llvm.fma.v8f32(<8 x float>, <8 x float>, <8 x float>)
declare <8 x float> @llvm.sqrt.v8f32(<8 x float>)
declare <8 x float> @llvm.fabs.v8f32(<8 x float>)
declare double @llvm.sqrt.f64(double)
declare double @log(double)
declare double @log1p(double)
declare double @cos(double)
declare double @sin(double)
"""


def module_text(symbol: str) -> str:
    """The module: the kernels, `symbol(ptr table)` filling the table, and `symbol_obj`
    (the loader expects one; it does nothing)."""
    parts = [_DECLARES, _twist_function(), _temper_function(), _draw_words_function()]
    for name, args in KERNELS:
        b = _Body()
        _BUILDERS[name](b)
        params = ", ".join(["i64 %off"] + [f"{'ptr' if t == 'obj' else t} %a{i}"
                                            for i, t in enumerate(args)])
        body = "\n".join(b.lines)
        parts.append(f"define void @tg_rng_{name}({params}) {{\nentry:\n{body}\n  ret void\n}}\n")
    table = [f"define void @{symbol}(ptr %table) {{\nentry:"]
    for i, (name, _) in enumerate(KERNELS):
        table.append(f"  %p{i} = getelementptr ptr, ptr %table, i64 {i}")
        table.append(f"  store ptr @tg_rng_{name}, ptr %p{i}")
    table.append("  ret void\n}\n")
    parts.append("\n".join(table))
    parts.append(f"define void @{symbol}_obj() {{\nentry:\n  ret void\n}}\n")
    return "\n".join(parts)
