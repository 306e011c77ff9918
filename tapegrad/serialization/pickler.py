"""A protocol-2 pickle writer for exactly the objects a weights-only checkpoint may hold.

Python's `pickle.Pickler` would name tapegrad's classes in the file and needs
`torch` importable to write `torch._utils._rebuild_tensor_v2`; instead this
writer emits opcodes itself, and only those PyTorch's weights-only reader
(`torch/_weights_only_unpickler.py`) accepts: PROTO 2, GLOBAL of allow-listed
names, REDUCE, BUILD (an OrderedDict's attributes), MARK, the TUPLE forms,
EMPTY_LIST/APPENDS, EMPTY_DICT/SETITEMS, NONE, NEWTRUE/NEWFALSE,
BININT1/BININT2/BININT/LONG1, BINFLOAT, BINUNICODE, BINPERSID, the memo
opcodes and STOP. Anything else is refused with its place in the object.
"""
from __future__ import annotations

import struct
from collections import OrderedDict

import numpy as np

from ..ir.dtypes import DType
from ..tracer.creation import device as Device
from ..tracer.sizes import Size
from ..tracer.tensor import Tensor
from .format import PICKLE_PROTOCOL

_BATCH = 1000  # items per APPENDS / SETITEMS, as pickle batches them


class Emitter:
    """Writes one object tree as pickle bytes; `plan.locate(tensor)` says where each tensor's
    elements live (storage class name, key, storage numel, offset, size, stride)."""

    def __init__(self, plan, parameter_type):
        self.plan = plan
        self.parameter_type = parameter_type
        self.out = bytearray()
        self.memo: dict[int, int] = {}   # id(obj) -> memo index
        self.keep: list = []             # objects whose ids are in the memo stay alive
        self.globals: dict[tuple, int] = {}
        self.open_tuples: set[int] = set()
        self.slots = 0

    # ------------------------------------------------------------ entry point

    def dump(self, obj) -> bytes:
        self.out += b"\x80" + bytes([PICKLE_PROTOCOL])
        self.save(obj, "obj")
        self.out += b"."
        return bytes(self.out)

    # ------------------------------------------------------------ primitives

    def put(self, obj) -> None:
        """Store the top of the stack in the memo under obj's id."""
        self.memo[id(obj)] = self.next_slot()
        self.keep.append(obj)

    def next_slot(self) -> int:
        index = self.slots
        self.slots += 1
        self.out += b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)
        return index

    def get(self, index: int) -> None:
        self.out += b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)

    def global_(self, module: str, name: str) -> None:
        key = (module, name)
        if key in self.globals:
            self.get(self.globals[key])
            return
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self.globals[key] = self.next_slot()

    def int_(self, v: int, path: str) -> None:
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -2**31 <= v < 2**31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            n = (v.bit_length() + 8) // 8  # room for the sign bit
            if n > 255:
                raise TypeError(f"tg.save: the integer at {path} has {v.bit_length()} bits; "
                                "a checkpoint holds integers of at most 2039 bits")
            self.out += b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)

    def str_(self, s: str) -> None:
        data = s.encode("utf-8", "surrogatepass")
        self.out += b"X" + struct.pack("<I", len(data)) + data

    def call(self, module: str, name: str, args: tuple, path: str) -> None:
        """module.name(*args) at load time: GLOBAL, the argument tuple, REDUCE."""
        self.global_(module, name)
        self.tuple_(args, path, memoize=False)
        self.out += b"R"

    # ------------------------------------------------------------ values

    def save(self, obj, path: str) -> None:
        if obj is None:
            self.out += b"N"
        elif obj is True or obj is False:
            self.out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, np.generic) and not isinstance(obj, np.ndarray):
            self.save(obj.item(), path)  # numpy scalars are written as Python numbers
        elif id(obj) in self.memo:
            self.get(self.memo[id(obj)])
        elif isinstance(obj, Tensor):
            self.tensor(obj, path)
        elif type(obj) is int:
            self.int_(obj, path)
        elif type(obj) is float:
            self.out += b"G" + struct.pack(">d", obj)
        elif type(obj) is str:
            self.str_(obj)
        elif type(obj) in (bytes, bytearray):
            self.bytes_(obj, path)
        elif type(obj) is complex:
            self.call("builtins", "complex", (obj.real, obj.imag), path)
        elif type(obj) is Size:
            self.call("torch", "Size", (tuple(obj),), path)
            self.put(obj)
        elif type(obj) is tuple:
            self.tuple_(obj, path)
        elif type(obj) is list:
            self.list_(obj, path)
        elif type(obj) is OrderedDict:
            self.ordered_dict(obj, path)
        elif type(obj) is dict:
            self.out += b"}"
            self.put(obj)
            self.items(obj, path)
        elif type(obj) is set:
            self.call("builtins", "set", (sorted(obj, key=repr),), path)
            self.put(obj)
        elif isinstance(obj, DType):
            self.global_("torch", obj.torch_name)
        elif isinstance(obj, Device):
            self.call("torch", "device", ("cpu",), path)
        else:
            raise TypeError(
                f"tg.save: cannot save the {type(obj).__module__}.{type(obj).__qualname__} at "
                f"{path}: a checkpoint that torch.load(weights_only=True) reads holds tensors, "
                "Parameters, dicts, OrderedDicts, lists, tuples, sets, numbers, strings, bytes, "
                "None, dtypes and devices only")

    def bytes_(self, obj, path: str) -> None:
        # protocol 2 spells bytes as _codecs.encode(latin-1 text, 'latin1')
        encoded = ("builtins", "bytearray") if type(obj) is bytearray else None
        if encoded:
            self.global_(*encoded)
        self.call("_codecs", "encode", (bytes(obj).decode("latin1"), "latin1"), path)
        if encoded:
            self.out += b"\x85R"
        self.put(obj)

    def tuple_(self, obj: tuple, path: str, memoize: bool = True) -> None:
        if not obj:
            self.out += b")"
            return
        if id(obj) in self.open_tuples:
            raise TypeError(f"tg.save: the tuple at {path} contains itself")
        self.open_tuples.add(id(obj))
        if len(obj) > 3:
            self.out += b"("
        for i, item in enumerate(obj):
            self.save(item, f"{path}[{i}]")
        self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}.get(len(obj), b"t")
        self.open_tuples.discard(id(obj))
        if memoize:
            self.put(obj)

    def list_(self, obj: list, path: str) -> None:
        self.out += b"]"
        self.put(obj)
        for start in range(0, len(obj), _BATCH):
            self.out += b"("
            for i in range(start, min(start + _BATCH, len(obj))):
                self.save(obj[i], f"{path}[{i}]")
            self.out += b"e"

    def items(self, obj: dict, path: str) -> None:
        pairs = list(obj.items())
        for start in range(0, len(pairs), _BATCH):
            self.out += b"("
            for k, v in pairs[start:start + _BATCH]:
                self.save(k, f"{path} (a key)")
                self.save(v, f"{path}[{k!r}]")
            self.out += b"u"

    def ordered_dict(self, obj: OrderedDict, path: str) -> None:
        self.call("collections", "OrderedDict", (), path)
        self.put(obj)
        self.items(obj, path)
        attributes = getattr(obj, "__dict__", None)
        if attributes:  # a state_dict's `_metadata`, as PyTorch writes it
            self.save(dict(attributes), f"{path}.__dict__")
            self.out += b"b"

    # ------------------------------------------------------------ tensors

    def tensor(self, t: Tensor, path: str) -> None:
        if isinstance(t, self.parameter_type):
            self.global_("torch._utils", "_rebuild_parameter")
            self.plain_tensor(t, False, path)
            self.out += b"\x88" if t.requires_grad else b"\x89"
            self.call("collections", "OrderedDict", (), path)
            self.out += b"\x87R"
        else:
            self.plain_tensor(t, t.requires_grad, path)
        self.put(t)

    def plain_tensor(self, t: Tensor, requires_grad: bool, path: str) -> None:
        storage_name, key, numel, offset, size, stride = self.plan.locate(t, path)
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.out += b"(("
        self.str_("storage")
        self.global_("torch", storage_name)
        self.str_(key)
        self.str_("cpu")
        self.int_(numel, path)
        self.out += b"tQ"
        self.int_(offset, path)
        self.tuple_(size, path, memoize=False)
        self.tuple_(stride, path, memoize=False)
        self.out += b"\x88" if requires_grad else b"\x89"
        self.call("collections", "OrderedDict", (), path)  # backward hooks: none
        self.out += b"tR"
