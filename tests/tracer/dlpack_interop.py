"""DLPack with PyTorch and JAX, both ways, without a copy.

test_dlpack.py runs these checks when torch / jax are importable (CI has
neither and skips them). To run them against this worktree's tapegrad from the
side venv that has both (it has no pytest):

    /work/refvenv/bin/python tests/tracer/dlpack_interop.py

which imports tapegrad from the worktree (not the venv's own editable copy),
runs every check and prints one line each; tests/tracer/data/dlpack_interop.txt
is that output as last recorded.
"""
from __future__ import annotations

import numpy as np


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def check_torch_to_tapegrad(tg, torch):
    src = torch.arange(6.0).reshape(2, 3)
    t = tg.from_dlpack(src)
    assert _address(t.numpy()) == src.data_ptr(), "a copy was made"
    src[0, 0] = 42.0  # a write on PyTorch's side is seen by tapegrad
    assert t.tolist()[0][0] == 42.0 and t.shape == (2, 3) and t.dtype is tg.float32
    strided = tg.from_dlpack(src.t())  # a transposed view keeps its strides
    assert strided.tolist() == src.t().tolist()
    legacy = tg.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(src))
    assert _address(legacy.numpy()) == src.data_ptr()


def check_tapegrad_to_torch(tg, torch):
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64)
    out = torch.from_dlpack(t)
    assert out.data_ptr() == _address(t.numpy()), "a copy was made"
    out[1, 1] = -1.0  # a write on PyTorch's side is seen by tapegrad
    assert t.tolist() == [[1.0, 2.0], [3.0, -1.0]] and out.dtype == torch.float64
    legacy = torch.utils.dlpack.from_dlpack(tg.utils.dlpack.to_dlpack(t))
    assert legacy.data_ptr() == _address(t.numpy())
    try:
        torch.from_dlpack(tg.ones(2, requires_grad=True))
    except BufferError as e:  # PyTorch's own rule for its tensors
        assert "require gradient" in str(e)
    else:
        raise AssertionError("a tensor that requires grad was exported")


def check_jax_to_tapegrad(tg, jax):
    src = jax.numpy.arange(6.0, dtype=jax.numpy.float32).reshape(2, 3)
    t = tg.from_dlpack(src)
    assert _address(t.numpy()) == src.unsafe_buffer_pointer(), "a copy was made"
    assert t.tolist() == np.asarray(src).tolist()
    assert not t.numpy().flags.writeable, "JAX's buffers are immutable: read-only here too"
    try:
        t.add_(1.0)
    except RuntimeError as e:
        assert "read-only" in str(e)
    else:
        raise AssertionError("wrote into JAX's buffer")
    assert (t * 2).tolist() == (np.asarray(src) * 2).tolist()  # reading is fine


def _aligned_array(n: int, alignment: int = 64) -> np.ndarray:
    buf = np.zeros(n + alignment // 4, dtype=np.float32)
    start = (-_address(buf) % alignment) // 4
    return buf[start:start + n]


def check_tapegrad_to_jax(tg, jax):
    # JAX's CPU client shares only buffers aligned to 64 bytes and copies others (with
    # copy=False it refuses them); numpy allocates at 16, so most tensors are copied. JAX
    # also converts float64 to float32 (a copy) unless jax_enable_x64 is set.
    a = _aligned_array(8)
    a[:] = np.arange(8.0, dtype=np.float32)
    t = tg.from_numpy(a)
    out = jax.dlpack.from_dlpack(t)
    assert out.unsafe_buffer_pointer() == _address(a), "a copy was made of an aligned buffer"
    a[0] = 42.0  # JAX now reads tapegrad's buffer (its arrays are immutable by contract)
    assert float(out[0]) == 42.0
    unaligned = tg.arange(8.0)
    assert jax.dlpack.from_dlpack(unaligned).tolist() == unaligned.tolist()


CHECKS = {
    "torch -> tapegrad": ("torch", check_torch_to_tapegrad),
    "tapegrad -> torch": ("torch", check_tapegrad_to_torch),
    "jax -> tapegrad": ("jax", check_jax_to_tapegrad),
    "tapegrad -> jax": ("jax", check_tapegrad_to_jax),
}


def _import_worktree_tapegrad():
    """tapegrad from this worktree: its subpackages (tracer, ir, ...) sit next to tapegrad/."""
    import importlib.util
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location(
        "tapegrad", root / "tapegrad" / "__init__.py",
        submodule_search_locations=[str(root / "tapegrad"), str(root)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["tapegrad"] = module
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    import importlib

    tg = _import_worktree_tapegrad()
    failed = 0
    for name, (lib, check) in CHECKS.items():
        mod = importlib.import_module(lib)
        importlib.import_module(f"{lib}.dlpack" if lib == "jax" else "torch.utils.dlpack")
        try:
            check(tg, mod)
            print(f"{name}: zero-copy ok ({lib} {mod.__version__}, numpy {np.__version__})")
        except Exception as e:  # noqa: BLE001 - reported, then the exit status says it
            failed += 1
            print(f"{name}: FAILED {type(e).__name__}: {e}")
    raise SystemExit(failed)
