"""Cached code as a shared library (runtime/sharedlib.py).

A fresh process whose disk cache is warm loads compiled code with ctypes, without importing
llvmlite or tapegrad.codegen, and computes the interpreter's results.  The library is part of
the cache entry, under its sha256, so it is trusted exactly as the entry is: a tampered,
group/world-writable, foreign-owned or symlinked entry is refused with one CacheWarning line
and rebuilt.  Without a linker the MCJIT path works as before.  A changed host (fingerprint)
is another key; an entry compiled for another LLVM target is refused where LLVM is loaded."""
import hashlib
import json
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.codegen import blas, emit
from tapegrad.ir import Builder, f32, tensor_type
from tapegrad.runtime import cache, compiler, interpret, sharedlib
from tapegrad.runtime.cache import CacheWarning
from tapegrad.runtime.compiler import compile_function

ROOT = Path(__file__).resolve().parents[2]
OTHER_UID = 54321
needs_linker = pytest.mark.skipif(
    sys.platform != "linux" or not sharedlib.linker_commands("a.o", "a.so"),
    reason="needs a system linker (ld or cc) on Linux")

_CHILD = r"""
import json, sys, warnings
import numpy as np
import tapegrad as tg
from tapegrad.runtime import interpret
if sys.argv[1:] == ["llvm"]:
    import tapegrad.codegen.target  # LLVM loaded before the first call

def loss(w1, w2, x, y):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    return (y_pred - y).pow(2).sum() + w1.tanh().sum()

rng = np.random.default_rng(0)
f = lambda *s: rng.standard_normal(s).astype(np.float32)
x, y, w1, w2 = f(8, 30), f(8, 4), f(30, 16), f(16, 4)
vg = tg.value_and_grad(loss, argnums=(0, 1))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    value, (g1, g2) = vg(w1, w2, x, y)
no_llvm = "llvmlite" not in sys.modules and "tapegrad.codegen.emit" not in sys.modules
lowered = vg.lower(w1, w2, x, y)
want = interpret(lowered.optimized, [w1, w2, x, y])
for got, ref in zip([value.numpy(), g1.numpy(), g2.numpy()], want):
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-4)
print(json.dumps({"no_llvm": no_llvm, "source": lowered.native().source,
                  "warnings": [str(w.message) for w in caught],
                  "value": float(value.numpy())}))
"""


def _child(cache_dir, *args, **env_overrides):
    # the oracle's float32 tanh with numpy's: its native ufunc (runtime/eager_math.py)
    # would be a second cache entry beside the one these tests inspect
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(cache_dir), TAPEGRAD_EAGER_MATH="numpy",
               **env_overrides)
    p = subprocess.run([sys.executable, "-c", _CHILD, *args], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def _entry_file(cache_dir):
    (path,) = [p for p in Path(cache_dir).iterdir() if p.suffix == cache.SUFFIX]
    return path


def _split(path):
    data = path.read_bytes()
    end = data.index(b"\n", len(cache.MAGIC))
    return json.loads(data[len(cache.MAGIC):end]), data[end + 1:]


def _rewrite(path, head, payload, rehash):
    if rehash:
        head["sha256"] = hashlib.sha256(payload).hexdigest()
    path.write_bytes(cache.MAGIC + json.dumps(head).encode() + b"\n" + payload)


@needs_linker
def test_a_warm_process_loads_the_library_without_llvmlite(cache_dir):
    cold = _child(cache_dir)
    assert cold["source"] == "llvm" and not cold["no_llvm"] and not cold["warnings"]
    head, payload = _split(_entry_file(cache_dir))
    assert head["shared_len"] > 0
    start = head["object_len"] + head["llvm_len"]
    assert payload[start:start + 4] == b"\x7fELF"
    for _ in range(2):
        warm = _child(cache_dir)
        assert warm == {"no_llvm": True, "source": "disk", "warnings": [],
                        "value": cold["value"]}
    assert [p.name for p in cache_dir.iterdir()] == [_entry_file(cache_dir).name]  # no temp files


@needs_linker
@pytest.mark.parametrize("problem", ["flip", "writable", "symlink", "foreign"])
def test_an_unsafe_library_is_refused_and_rebuilt(cache_dir, tmp_path, problem):
    """A fresh process refuses the entry (one warning line), recompiles, and the next one
    loads the rebuilt library without LLVM."""
    if problem == "foreign" and os.geteuid() != 0:
        pytest.skip("making a file foreign-owned needs root")
    cold = _child(cache_dir)
    path = _entry_file(cache_dir)
    head, payload = _split(path)
    at = head["object_len"] + head["llvm_len"] + head["shared_len"] // 2
    forged = payload[:at] + bytes([payload[at] ^ 0xFF]) + payload[at + 1:]
    if problem == "flip":
        _rewrite(path, head, forged, rehash=False)
        why = "damaged"
    elif problem == "writable":
        os.chmod(path, 0o666)
        why = "writable by group or others"
    elif problem == "symlink":
        elsewhere = tmp_path / "elsewhere.tgobj"
        elsewhere.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(elsewhere)
        why = "symbolic link"
    else:  # an attacker can recompute the hash; the owner check is what stops them
        _rewrite(path, head, forged, rehash=True)
        os.chown(path, OTHER_UID, OTHER_UID)
        os.chmod(path, 0o600)
        why = f"owned by uid {OTHER_UID}"
    again = _child(cache_dir)
    assert again["source"] == "llvm" and again["value"] == cold["value"]
    (msg,) = [w for w in again["warnings"] if "ignoring cache entry" in w]
    assert "\n" not in msg and str(path) in msg and why in msg, msg
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077
    warm = _child(cache_dir)
    assert warm == {"no_llvm": True, "source": "disk", "warnings": [], "value": cold["value"]}


def _matmul_fn(scale):
    b = Builder("mm")
    x = b.param(tensor_type(f32, (5, 7)), "x")
    w = b.param(tensor_type(f32, (7, 3)), "w")
    return b.build(b.mul(b.matmul(x, w), b.full(tensor_type(f32, (5, 3)), scale)))


def _args():
    rng = np.random.default_rng(1)
    return [rng.standard_normal((5, 7)).astype(np.float32),
            rng.standard_normal((7, 3)).astype(np.float32)]


@needs_linker
def test_compiled_code_runs_from_its_library(cache_dir):
    compiler.clear_memory_cache()
    fn = _matmul_fn(2.0)
    cf = compile_function(fn)
    assert isinstance(cf._native.engine, sharedlib.Library)
    assert cf._native.entry.shared_object[:4] == b"\x7fELF"
    np.testing.assert_allclose(cf(*_args())[0], interpret(fn, _args())[0], rtol=1e-5)
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".tmp")]


@needs_linker
def test_parallel_loops_call_the_pool_through_their_slot(cache_dir, monkeypatch):
    monkeypatch.setattr(emit, "PARALLEL_WORK", 1)  # split every elementwise loop
    monkeypatch.setenv("TAPEGRAD_NUM_THREADS", "2")
    compiler.clear_memory_cache()
    b = Builder("par_so")
    x = b.param(tensor_type(f32, (6, 40)), "x")
    fn = b.build(b.mul(b.exp(x), b.full(x.type, 3.0)))
    cf = compile_function(fn)
    assert isinstance(cf._native.engine, sharedlib.Library)
    assert sharedlib.slot_symbol(cf._native.entry.symbol, sharedlib.PARALLEL_FOR) in cf.llvm
    xs = np.linspace(-2, 2, 240, dtype=np.float32).reshape(6, 40)
    np.testing.assert_allclose(cf(xs)[0], interpret(fn, [xs])[0], rtol=1e-6)


@needs_linker
def test_a_library_needing_an_address_this_process_lacks_is_refused(cache_dir, monkeypatch):
    compiler.clear_memory_cache()
    cf = compile_function(_matmul_fn(3.0))
    entry = cf._native.entry
    assert sharedlib.slot_symbol(entry.symbol, blas.INTERNAL_NAMES["f32"]) in cf.llvm
    monkeypatch.setattr(sharedlib, "slot_addresses",
                        lambda: {sharedlib.PARALLEL_FOR: sharedlib.parallel.ADDRESS})
    assert sharedlib.load(entry.shared_object, entry.symbol, cache_dir) is None
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize("how", ["no linker on PATH", "linker fails"])
def test_without_a_linker_the_mcjit_path_still_works(cache_dir, monkeypatch, tmp_path, how):
    if how == "no linker on PATH":
        monkeypatch.setenv("PATH", str(tmp_path))
    else:
        monkeypatch.setattr(sharedlib, "linker_commands", lambda obj, out: [["false"]])
    compiler.clear_memory_cache()
    fn = _matmul_fn(4.0 + (how == "linker fails"))
    cf = compile_function(fn)
    assert cf.source == "llvm" and cf._native.entry.shared_object == b""
    assert not isinstance(cf._native.engine, sharedlib.Library)  # the MCJIT engine
    np.testing.assert_allclose(cf(*_args())[0], interpret(fn, _args())[0], rtol=1e-5)
    compiler.clear_memory_cache()
    assert cache.load(cache.make_key(fn.structural_hash(), "blas")).shared_object == b""


def test_a_process_without_a_linker_loads_through_mcjit(cache_dir, tmp_path):
    cold = _child(cache_dir, PATH=str(tmp_path))
    assert _split(_entry_file(cache_dir))[0]["shared_len"] == 0
    warm = _child(cache_dir, PATH=str(tmp_path))
    assert warm["source"] == "disk" and not warm["no_llvm"] and not warm["warnings"]
    assert warm["value"] == cold["value"]


def test_the_key_changes_with_the_host_fingerprint(monkeypatch):
    key = cache.make_key("h", "blas")
    monkeypatch.setattr(sharedlib, "host_fingerprint", lambda: "another host")
    assert cache.make_key("h", "blas") != key


def test_the_fingerprint_follows_cpu_flags_and_llvmlite_not_the_clock(tmp_path):
    lib = tmp_path / "llvmlite"
    (lib / "binding").mkdir(parents=True)
    (lib / "_version.py").write_text("version_version = '0.50.0'\n")
    (lib / "binding" / "libllvmlite.so").write_bytes(b"x" * 10)
    info = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
            "cpu MHz\t\t: 2596.120\nflags\t\t: fpu sse2 avx2 avx512f\n")
    base = sharedlib.fingerprint(info, lib)
    assert base is not None
    assert sharedlib.fingerprint(info.replace("2596.120", "3000.000"), lib) == base
    assert sharedlib.fingerprint(info.replace(" avx512f", ""), lib) != base
    assert sharedlib.fingerprint(info.replace("model\t\t: 2", "model\t\t: 3"), lib) != base
    (lib / "_version.py").write_text("version_version = '0.51.0'\n")
    assert sharedlib.fingerprint(info, lib) != base
    (lib / "_version.py").write_text("version_version = '0.50.0'\n")
    (lib / "binding" / "libllvmlite.so").write_bytes(b"y" * 11)  # LLVM reinstalled
    assert sharedlib.fingerprint(info, lib) != base
    assert sharedlib.fingerprint("", lib) is None


def test_an_entry_compiled_for_another_llvm_target_is_refused(cache_dir):
    """The key's fingerprint stands for LLVM's target identity; the entry records the
    identity itself, and a process with LLVM loaded checks it."""
    cold = _child(cache_dir)
    path = _entry_file(cache_dir)
    head, payload = _split(path)
    assert "cpu=" in head["target"]
    head["target"] = head["target"].replace("cpu=", "cpu=another-")
    _rewrite(path, head, payload, rehash=False)
    again = _child(cache_dir, "llvm")
    assert again["source"] == "llvm" and again["value"] == cold["value"]
    (msg,) = [w for w in again["warnings"] if "ignoring cache entry" in w]
    assert str(path) in msg and "compiled for another LLVM target" in msg, msg
    assert _child(cache_dir, "llvm")["source"] == "disk"


def test_slot_and_gemm_tables_agree_with_codegen():
    import llvmlite.binding as llvm
    assert sharedlib.SLOT_NAMES == emit.SLOTS
    assert sharedlib.GEMM_NAMES == blas.INTERNAL_NAMES
    assert sharedlib.PARALLEL_FOR == emit.PARALLEL_FOR
    found = blas.available()
    assert sorted(sharedlib.gemm_addresses()) == sorted(found)
    for dt, name in found.items():
        assert sharedlib.gemm_addresses()[dt] == llvm.address_of_symbol(name)
    assert sharedlib.blas_identity() == blas.identity()


def test_public_api_after_a_warm_load_computes_gradients(cache_dir):
    """The loaded entry point serves every call path (call_checked, object entry)."""
    compiler.clear_memory_cache()
    f = tg.grad(lambda w, x: (x.mm(w).tanh() ** 2).sum())
    w, x = _args()[1], _args()[0]
    first = f(w, x).numpy()
    compiler.clear_memory_cache()
    g = tg.grad(lambda w, x: (x.mm(w).tanh() ** 2).sum())
    np.testing.assert_array_equal(g(w, x).numpy(), first)


@needs_linker
def test_code_calling_libm_links_against_it(cache_dir):
    """sin of a huge argument comes from libm: the library links it (no undefined symbols)."""
    compiler.clear_memory_cache()
    b = Builder("sin_so")
    x = b.param(tensor_type(f32, (4,)), "x")
    fn = b.build(b.sin(x))
    cf = compile_function(fn)
    assert isinstance(cf._native.engine, sharedlib.Library)
    xs = np.array([0.5, 1e12, -3e9, 7.0], np.float32)
    np.testing.assert_allclose(cf(xs)[0], np.sin(xs.astype(np.float64)).astype(np.float32),
                               rtol=1e-6, atol=1e-7)
