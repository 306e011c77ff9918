"""Test-wide settings: compiled code goes to a private temporary cache, never the user's."""
import os
import tempfile

import pytest

try:  # one clear line instead of a collection error per test file
    import llvmlite  # noqa: F401
    import numpy  # noqa: F401
    import tapegrad.ir  # noqa: F401
except ModuleNotFoundError as missing:
    pytest.exit(f"tapegrad is not installed in this interpreter ({missing}): run the README's "
                f'command, python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && '
                f".venv/bin/python -m pytest", returncode=4)

_CACHE = tempfile.mkdtemp(prefix="tapegrad-test-cache-")
os.environ.setdefault("TAPEGRAD_CACHE_DIR", _CACHE)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh, empty disk cache for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(path))
    return path
