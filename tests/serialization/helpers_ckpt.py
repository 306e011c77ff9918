"""Shared helpers for the checkpoint tests: recorded data, storage identity, archive surgery."""
import io
import json
import os
import zipfile

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def expected() -> dict:
    with open(os.path.join(DATA, "expected.json")) as f:
        return json.load(f)


def data_file(folder: str, name: str) -> str:
    return os.path.join(DATA, folder, name + ".pt")


def storage_key(t):
    """The buffer a tapegrad tensor's memory belongs to (tensors sharing memory agree)."""
    a = t._data
    while getattr(a, "base", None) is not None and \
            not isinstance(a.base, (bytes, bytearray, memoryview)):
        a = a.base
    return id(a)


def records(blob: bytes) -> dict:
    """name -> bytes of every entry of a zip archive, in order."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def archive(entries: dict) -> bytes:
    """A zip archive holding entries (name -> bytes), stored uncompressed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def with_pickle(blob: bytes, pickle_bytes: bytes) -> bytes:
    """The archive blob with its data.pkl replaced."""
    entries = records(blob)
    name = next(n for n in entries if n.endswith("/data.pkl"))
    entries[name] = pickle_bytes
    return archive(entries)


def values_equal(a: np.ndarray, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=a.dtype.kind == "f")
