"""Test-wide settings: compiled code goes to a private temporary cache, never the user's."""
import os
import tempfile

import pytest

_CACHE = tempfile.mkdtemp(prefix="tapegrad-test-cache-")
os.environ.setdefault("TAPEGRAD_CACHE_DIR", _CACHE)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh, empty disk cache for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(path))
    return path
