"""The disk cache's key covers every source that decides the machine code.

Codegen-only IR rewrites (ir/passes/gemm_epilogue.py, transposed_product.py) run after
the structural hash is taken, so an edit to them alone must still change the key:
otherwise a cache filled by the old rewrite would load code the new one no longer makes.
"""
import shutil
from pathlib import Path

import pytest

from tapegrad.runtime import cache


@pytest.fixture
def source_copies(tmp_path, monkeypatch):
    copies = {}
    for part in ("codegen", "ir"):
        copies[part] = tmp_path / part
        shutil.copytree(cache._source_dir(part), copies[part],
                        ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "_source_dir", lambda part: copies[part])
    cache._code_identity.cache_clear()
    yield copies
    cache._code_identity.cache_clear()


@pytest.mark.parametrize("edited", ["ir/passes/gemm_epilogue.py",
                                    "ir/passes/transposed_product.py",
                                    "ir/vjp_rules.py", "codegen/lowering.py"])
def test_an_edit_to_any_code_deciding_source_changes_the_key(source_copies, edited):
    before = cache.make_key("h")
    part, rest = edited.split("/", 1)
    path = Path(source_copies[part]) / rest
    path.write_text(path.read_text() + "\n# edited\n")
    cache._code_identity.cache_clear()
    assert cache.make_key("h") != before


def test_the_key_is_stable_without_edits(source_copies):
    before = cache.make_key("h")
    cache._code_identity.cache_clear()
    assert cache.make_key("h") == before
