"""The native call path: argument checks, caches (memory and disk), threads, dumps."""
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from tapegrad.ir import Builder, f32, f64, i64, tensor_type
from tapegrad.runtime import cache, compiler, interpret
from tapegrad.runtime.compiler import compile_function

from helpers.native_check import build, random_array

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "tgcache"
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(d))
    return d


def _fn(name="f", scale=2.0):
    return build(name, [(f32, (3, 4)), (f64, ())],
                 lambda b, x, s: [b.mul(x, b.full(x.type, scale)), b.exp(s)])


def _args():
    return np.arange(12, dtype=np.float32).reshape(3, 4), np.array(0.5)


def test_argument_checks_raise_before_the_call():
    cf = compile_function(_fn("checked"))
    x, s = _args()
    with pytest.raises(TypeError, match=r"@checked takes 2 arguments, got 1"):
        cf(x)
    with pytest.raises(TypeError, match=r"@checked: argument 0 must have dtype float32.*got float64"):
        cf(x.astype(np.float64), s)
    with pytest.raises(ValueError, match=r"@checked: argument 0 must have shape \[3, 4\].*got \[4, 3\]"):
        cf(x.T.copy(), s)
    with pytest.raises(ValueError, match=r"argument 1 must have shape \[\].*got \[1\]"):
        cf(x, np.array([0.5]))
    with pytest.raises(TypeError, match=r"argument 1 must have dtype float64"):
        cf(x, np.array(1))
    out = cf(x, s)
    np.testing.assert_array_equal(out[0], x * 2)


def test_odd_inputs_give_right_results():
    """Transposed, strided, misaligned and byte-swapped inputs are copied first."""
    cf = compile_function(_fn("odd"))
    x, s = _args()
    raw = np.zeros(12 * 4 + 1, np.uint8)
    misaligned = raw[1:].view(np.float32).reshape(3, 4)
    misaligned[...] = x
    for variant in (np.asfortranarray(x), np.repeat(x, 2, axis=1)[:, ::2], misaligned,
                    x.astype(">f4")):
        np.testing.assert_array_equal(cf(variant, s)[0], x * 2)
    assert cf(x, 0.5)[1] == np.exp(0.5)


def test_outputs_are_fresh_arrays_every_call():
    cf = compile_function(_fn("fresh"))
    a = cf(*_args())
    b = cf(*_args())
    assert a[0] is not b[0] and not np.shares_memory(a[0], b[0])
    a[0][...] = -1
    np.testing.assert_array_equal(b[0], _args()[0] * 2)


def test_dumps_are_text():
    cf = compile_function(_fn("dumps"))
    assert "define void @tg_" in cf.llvm and "fmul" in cf.llvm
    assert cf.asm.count("tg_") >= 2 and "ret" in cf.asm


def test_memory_cache_hits_by_structure_not_name():
    a, b = compile_function(_fn("one")), compile_function(_fn("two"))
    assert a._native is b._native
    assert b.name == "two"
    with pytest.raises(TypeError, match="@two"):
        b()
    c = compile_function(_fn("three", scale=3.0))
    assert c._native is not a._native


def test_many_threads_call_one_function():
    fn = build("threads", [(f32, (257, 33))],
               lambda b, x: [b.reduce_sum(b.tanh(x), axes=(1,)), b.transpose(b.exp(x), perm=(1, 0))])
    fn_bigger = build("threads2", [(f32, (300, 300))],
                      lambda b, x: b.matmul(b.logistic(x), b.transpose(b.exp(b.neg(x)), perm=(1, 0))))
    rng = np.random.default_rng(0)
    failures = []

    def work(seed):
        r = np.random.default_rng(seed)
        for _ in range(20):
            for f in (fn, fn_bigger):
                cf = compile_function(f)
                args = [random_array(r, f32, p.shape) for p in f.params]
                for g, w in zip(cf(*args), interpret(f, args)):
                    if not np.allclose(g, w, rtol=1e-4, atol=1e-4):
                        failures.append(seed)

    threads = [threading.Thread(target=work, args=(int(rng.integers(1 << 30)),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_disk_cache_files_and_permissions(cache_dir):
    compile_function(_fn("disk", scale=5.0))
    files = list(cache_dir.glob("*" + cache.SUFFIX))
    assert len(files) == 1
    assert (cache_dir.stat().st_mode & 0o777) == 0o700
    assert not list(cache_dir.glob(".tmp-*"))


def test_empty_cache_dir_disables_disk_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() is None
    compile_function(_fn("nodisk", scale=7.0))
    assert not (tmp_path / "home").exists() and not (tmp_path / "xdg").exists()
    monkeypatch.delenv("TAPEGRAD_CACHE_DIR")
    assert cache.cache_dir() == tmp_path / "xdg" / "tapegrad"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "tapegrad"


DAMAGES = ["truncate", "flip", "garbage", "empty", "foreign", "payload"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_cache_entry_is_rebuilt(cache_dir, damage):
    scale = 11.0 + DAMAGES.index(damage)
    fn = _fn("damaged", scale=scale)
    compiler.clear_memory_cache()
    compile_function(fn)
    (path,) = cache_dir.glob("*" + cache.SUFFIX)
    data = path.read_bytes()
    head_end = data.index(b"\n", len(cache.MAGIC)) + 1
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "foreign":  # a valid entry, but for another key
        head = json.loads(data[len(cache.MAGIC):head_end])
        head["key"] = "0" * 64
        path.write_bytes(cache.MAGIC + json.dumps(head).encode() + b"\n" + data[head_end:])
    else:  # object code replaced, header kept
        path.write_bytes(data[:head_end] + os.urandom(len(data) - head_end))
    compiler.clear_memory_cache()
    cf = compile_function(fn)
    assert cf.source == "llvm"
    np.testing.assert_array_equal(cf(*_args())[0], _args()[0] * scale)
    key = cache.make_key(fn.structural_hash(), "blas")
    assert cache.load(key) is not None  # rewritten whole
    compiler.clear_memory_cache()
    assert compile_function(fn).source == "disk"


_CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    from tapegrad.ir import Builder, f32, tensor_type
    from tapegrad.ir.autodiff import vjp
    from tapegrad.runtime.compiler import compile_function
    import numpy as np
    b = Builder("w1")
    x = b.param(tensor_type(f32, (64, 100)), "x")
    w1 = b.param(tensor_type(f32, (100, 50)), "w1")
    w2 = b.param(tensor_type(f32, (50, 10)), "w2")
    a = b.matmul(x, w1)
    r = b.max(a, b.full(a.type, 0.0))
    y = b.matmul(r, w2)
    fn = b.build(b.reduce_sum(b.mul(y, y), axes=(0, 1)))
    g = vjp(fn, [w1, w2], cotangents=["ones"], keep_results=True)
    cf = compile_function(g)
    outs = cf(*[np.full(p.shape, 0.01, np.float32) for p in g.params])
    print(json.dumps({"source": cf.source, "seconds": cf.compile_seconds,
                      "loss": float(outs[0])}))
""")


def test_second_process_loads_from_disk_faster(cache_dir):
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(cache_dir))

    def run():
        out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                             text=True, timeout=120, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold, warm = run(), run()
    assert cold["source"] == "llvm" and warm["source"] == "disk"
    assert warm["loss"] == cold["loss"]
    assert warm["seconds"] < cold["seconds"] / 2, (cold, warm)


def test_w1_adjoint_compiles_quickly():
    """Two matmuls, relu, a sum of squares and the adjoint: ~100 ms is the budget."""
    from tapegrad.ir.autodiff import vjp
    b = Builder("w1_time")
    x = b.param(tensor_type(f32, (64, 1000)), "x")
    w1 = b.param(tensor_type(f32, (1000, 100)), "w1")
    w2 = b.param(tensor_type(f32, (100, 10)), "w2")
    a = b.matmul(x, w1)
    y = b.matmul(b.max(a, b.full(a.type, 0.0)), w2)
    fn = b.build(b.reduce_sum(b.mul(y, y), axes=(0, 1)))
    g = vjp(fn, [w1, w2], cotangents=["ones"], keep_results=True)
    cf = compile_function(g)
    assert cf.source == "llvm" and cf.compile_seconds < 0.5  # generous: shared CI machines
    rng = np.random.default_rng(1)
    args = [(rng.standard_normal(p.shape) * 0.1).astype(np.float32) for p in g.params]
    for got, want in zip(cf(*args), interpret(g, args)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_integer_code_never_traps():
    fn = build("ints", [(i64, (6,)), (i64, (6,))],
               lambda b, x, y: [b.div(x, y), b.pow(x, y)])
    x = np.array([np.iinfo(np.int64).min, 5, -5, 0, 7, -1], np.int64)
    y = np.array([-1, 3, -1, 2, -2, -3], np.int64)
    for got, want in zip(compile_function(fn)(x, y), interpret(fn, [x, y])):
        np.testing.assert_array_equal(got, want)
    y[1] = y[3] = 0  # a zero divisor raises PyTorch's error in both, and nothing traps
    for run in (compile_function(fn), lambda *a: interpret(fn, list(a))):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            run(x, y)
