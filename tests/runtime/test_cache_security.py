"""The disk cache holds native code that tapegrad loads into the user's process, so an entry is
trusted only if the current user wrote it: a private directory, entries that are regular files
owned by the user, not writable by group or others, with a matching content hash.  Anything else
is ignored with a one-line CacheWarning, rebuilt, and the right answer is computed anyway."""
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ir import Builder, f32, tensor_type
from tapegrad.runtime import cache, compiler
from tapegrad.runtime.cache import CacheWarning
from tapegrad.runtime.compiler import compile_function

ROOT = Path(__file__).resolve().parents[2]
OTHER_UID = 54321  # a uid that is not ours (tests that chown need root)


@pytest.fixture(autouse=True)
def private_cache(cache_dir):
    compiler.clear_memory_cache()
    yield cache_dir
    compiler.clear_memory_cache()


def _fn(scale: float, n: int = 5):
    b = Builder("scaled")
    x = b.param(tensor_type(f32, (n,)), "x")
    return b.build(b.add(b.mul(x, b.full(x.type, scale)), b.full(x.type, 1.0)))


def _x(n: int = 5):
    return np.arange(n, dtype=np.float32)


def _key(fn):
    return cache.make_key(fn.structural_hash(), "blas")


def _entry_path(cache_dir: Path, fn) -> Path:
    return cache_dir / (_key(fn) + cache.SUFFIX)


def _compile_fresh(fn):
    """compile_function as a new process would: nothing in the memory cache."""
    compiler.clear_memory_cache()
    return compile_function(fn)


def _refused(fn, cache_dir, match):
    """The entry is refused with one warning line naming it and `match`, and rebuilt."""
    path = _entry_path(cache_dir, fn)
    with pytest.warns(CacheWarning) as record:
        assert cache.load(_key(fn)) is None
    msgs = [str(w.message) for w in record if issubclass(w.category, CacheWarning)]
    assert len(msgs) == 1, msgs
    assert "\n" not in msgs[0] and str(path) in msgs[0] and match in msgs[0], msgs[0]
    with pytest.warns(CacheWarning):
        cf = _compile_fresh(fn)
    assert cf.source == "llvm"
    return cf


def _check_rebuilt(fn, cache_dir, scale):
    """After a refusal the entry is ours again, loads from disk and computes the right thing."""
    path = _entry_path(cache_dir, fn)
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()
    assert not st.st_mode & 0o077
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        cf = _compile_fresh(fn)
    assert cf.source == "disk"
    np.testing.assert_array_equal(cf(_x())[0], _x() * np.float32(scale) + 1)


def test_a_good_entry_is_loaded_from_disk(private_cache):
    fn = _fn(2.0)
    assert _compile_fresh(fn).source == "llvm"
    _check_rebuilt(fn, private_cache, 2.0)


def test_directory_is_created_private(tmp_path, monkeypatch):
    d = tmp_path / "a" / "b" / "cache"
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(d))
    _compile_fresh(_fn(3.0))
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    (entry,) = d.iterdir()
    assert stat.S_IMODE(entry.stat().st_mode) & 0o077 == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file foreign-owned needs root")
def test_foreign_owned_entry_is_refused(private_cache):
    fn = _fn(4.0)
    _compile_fresh(fn)
    path = _entry_path(private_cache, fn)
    os.chown(path, OTHER_UID, OTHER_UID)
    os.chmod(path, 0o600)  # private, valid hash: only the owner is wrong
    _refused(fn, private_cache, f"owned by uid {OTHER_UID}")
    _check_rebuilt(fn, private_cache, 4.0)


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_group_or_world_writable_entry_is_refused(private_cache, mode):
    fn = _fn(5.0 + mode % 7)
    _compile_fresh(fn)
    path = _entry_path(private_cache, fn)
    os.chmod(path, mode)
    _refused(fn, private_cache, "writable by group or others")
    _check_rebuilt(fn, private_cache, 5.0 + mode % 7)


def _forge(path: Path, new_object: bytes, rehash: bool):
    """Replace the object code of an entry, with or without updating the recorded hash."""
    data = path.read_bytes()
    end = data.index(b"\n", len(cache.MAGIC))
    head = json.loads(data[len(cache.MAGIC):end])
    payload = data[end + 1:]
    ir = payload[head["object_len"]:]
    payload = new_object + ir
    head["object_len"] = len(new_object)
    if rehash:
        head["sha256"] = hashlib.sha256(payload).hexdigest()
    path.write_bytes(cache.MAGIC + json.dumps(head).encode() + b"\n" + payload)


def test_tampered_entry_is_refused(private_cache):
    fn, other = _fn(6.0), _fn(60.0)
    _compile_fresh(fn)
    _compile_fresh(other)
    path = _entry_path(private_cache, fn)
    evil = cache.load(_key(other)).object_code  # real object code of another function
    _forge(path, evil, rehash=False)
    _refused(fn, private_cache, "damaged")
    _check_rebuilt(fn, private_cache, 6.0)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file foreign-owned needs root")
def test_forged_entry_with_a_valid_hash_but_foreign_owner_is_refused(private_cache):
    """An attacker can recompute the hash; the owner check is what stops them."""
    fn, other = _fn(7.0), _fn(70.0)
    _compile_fresh(fn)
    _compile_fresh(other)
    path = _entry_path(private_cache, fn)
    _forge(path, cache.load(_key(other)).object_code, rehash=True)
    os.chown(path, OTHER_UID, OTHER_UID)
    _refused(fn, private_cache, "owned by uid")
    _check_rebuilt(fn, private_cache, 7.0)


def test_symlinked_entry_is_refused_and_its_target_untouched(private_cache, tmp_path):
    fn = _fn(8.0)
    _compile_fresh(fn)
    path = _entry_path(private_cache, fn)
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(path.read_bytes())  # a perfectly valid entry, reached through a link
    before = target.read_bytes()
    path.unlink()
    path.symlink_to(target)
    _refused(fn, private_cache, "symbolic link")
    assert not path.is_symlink()  # replaced by a regular file of ours
    assert target.read_bytes() == before  # nothing written through the link
    _check_rebuilt(fn, private_cache, 8.0)


def test_fifo_entry_neither_hangs_nor_loads(private_cache):
    fn = _fn(9.0)
    path = _entry_path(private_cache, fn)
    private_cache.mkdir(mode=0o700, exist_ok=True)
    os.mkfifo(path, 0o600)
    result = []
    t = threading.Thread(target=lambda: result.append(_refused(fn, private_cache, "regular")),
                         daemon=True)
    t.start()
    t.join(60)
    assert result, "loading a FIFO entry hung"
    _check_rebuilt(fn, private_cache, 9.0)


def test_entry_with_another_functions_symbol_is_refused(private_cache):
    """A header naming a symbol outside its key could alias code already linked."""
    fn = _fn(10.0)
    _compile_fresh(fn)
    path = _entry_path(private_cache, fn)
    data = path.read_bytes()
    end = data.index(b"\n", len(cache.MAGIC))
    head = json.loads(data[len(cache.MAGIC):end])
    head["symbol"] = "tg_" + "0" * 32
    path.write_bytes(cache.MAGIC + json.dumps(head).encode() + data[end:])
    _refused(fn, private_cache, "damaged")


@pytest.mark.parametrize("problem", ["world-writable", "foreign"])
def test_unsafe_directory_is_not_used(tmp_path, monkeypatch, problem):
    if problem == "foreign" and os.geteuid() != 0:
        pytest.skip("making a directory foreign-owned needs root")
    d = tmp_path / f"shared-{problem}"
    d.mkdir()
    if problem == "foreign":
        os.chmod(d, 0o755)
        os.chown(d, OTHER_UID, OTHER_UID)
    else:
        os.chmod(d, 0o777)
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(d))
    cache._warned_dirs.discard(str(d))
    fn = _fn(11.0)
    why = "owned by uid" if problem == "foreign" else "writable by group or others"
    with pytest.warns(CacheWarning, match="not using the disk cache .*" + why):
        cf = _compile_fresh(fn)
    assert cf.source == "llvm"
    np.testing.assert_array_equal(cf(_x())[0], _x() * 11 + 1)
    assert list(d.iterdir()) == []  # nothing written there either
    with warnings.catch_warnings():  # warned once per directory, not on every compile
        warnings.simplefilter("error", CacheWarning)
        assert _compile_fresh(_fn(12.0)).source == "llvm"


def test_refusal_through_the_public_api_still_gives_the_right_answer(private_cache):
    @tg.compile
    def f(x):
        return (x * 3.0).exp().sum()

    x = np.linspace(-1, 1, 7).astype(np.float32)
    want = f(x).numpy()
    (path,) = [p for p in private_cache.iterdir() if p.suffix == cache.SUFFIX]
    os.chmod(path, 0o666)
    compiler.clear_memory_cache()
    g = tg.compile(lambda x: (x * 3.0).exp().sum())
    with pytest.warns(CacheWarning, match="writable by group or others"):
        got = g(x).numpy()
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- size cap, --info, --clear


def test_size_cap_keeps_the_most_recently_used(private_cache, monkeypatch):
    fns = [_fn(20.0 + i) for i in range(6)]
    _compile_fresh(fns[0])
    size = _entry_path(private_cache, fns[0]).stat().st_size
    monkeypatch.setenv("TAPEGRAD_CACHE_MAX_BYTES", str(3 * size + size // 2))
    (private_cache / "notes.txt").write_text("not ours")  # never removed
    for i, fn in enumerate(fns[1:], 1):
        time.sleep(0.02)  # distinct mtimes
        _compile_fresh(fn)
        if i == 3:
            time.sleep(0.02)
            assert cache.load(_key(fns[1])) is not None  # a hit makes it recent again
    entries = [p for p in private_cache.iterdir() if p.suffix == cache.SUFFIX]
    assert sum(p.stat().st_size for p in entries) <= 3 * size + size // 2
    kept = {p.name for p in entries}
    for i in (1, 4, 5):
        assert _entry_path(private_cache, fns[i]).name in kept, i
    assert (private_cache / "notes.txt").read_text() == "not ours"


def test_stale_temp_files_are_removed_and_fresh_ones_kept(private_cache):
    _compile_fresh(_fn(30.0))
    stale = private_cache / (".tmp-dead" + cache.SUFFIX)
    fresh = private_cache / (".tmp-writing" + cache.SUFFIX)
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old = time.time() - 2 * cache.TEMP_MAX_AGE
    os.utime(stale, (old, old))
    _compile_fresh(_fn(31.0))
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize("value", ["lots", "-5", "12Q"])
def test_bad_size_cap_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("TAPEGRAD_CACHE_MAX_BYTES", value)
    with pytest.raises(ValueError, match="TAPEGRAD_CACHE_MAX_BYTES"):
        cache.max_bytes()


def test_size_cap_units(monkeypatch):
    for text, want in [("1000", 1000), ("2K", 2048), ("3M", 3 << 20), ("1G", 1 << 30),
                       ("5MiB", 5 << 20), ("", cache.DEFAULT_MAX_BYTES)]:
        monkeypatch.setenv("TAPEGRAD_CACHE_MAX_BYTES", text)
        assert cache.max_bytes() == want, text


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "tapegrad", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)


def test_cli_info_and_clear(private_cache):
    for i in range(3):
        _compile_fresh(_fn(40.0 + i))
    (private_cache / "keep.txt").write_text("user data")
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(private_cache))
    out = _cli("cache", "--info", env=env)
    assert out.returncode == 0, out.stderr
    assert str(private_cache) in out.stdout
    assert "entries:   3" in out.stdout and "in use" in out.stdout
    total = sum(p.stat().st_size for p in private_cache.glob("*" + cache.SUFFIX))
    assert cache.info().total_bytes == total
    os.chmod(next(private_cache.glob("*" + cache.SUFFIX)), 0o666)
    assert "refused:   1 entry" in _cli("cache", "--info", env=env).stdout
    out = _cli("cache", "--clear", env=env)
    assert out.returncode == 0 and "removed 3 entries" in out.stdout, out
    assert [p.name for p in private_cache.iterdir()] == ["keep.txt"]
    assert "entries:   0" in _cli("cache", "--info", env=env).stdout
    out = _cli("cache", env=env)
    assert out.returncode == 2 and "--info" in out.stderr


def test_cli_with_the_cache_off(tmp_path):
    env = dict(os.environ, TAPEGRAD_CACHE_DIR="")
    out = _cli("cache", "--info", env=env)
    assert out.returncode == 0 and "off" in out.stdout
    out = _cli("cache", "--clear", env=env)
    assert out.returncode == 0
