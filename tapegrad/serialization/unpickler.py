"""An allow-list unpickler: reads a checkpoint's pickle without running code from it.

Python's `pickle.Unpickler` imports and calls whatever a file names. This one
is its own small opcode machine: every name a file mentions goes through
`find_class`, which answers only from the allow-list it was given (tensor
rebuild functions, storage types, OrderedDict and a few builtins) and raises
`pickle.UnpicklingError` naming anything else; REDUCE and NEWOBJ call only what
`find_class` returned; BUILD only sets an OrderedDict's attributes (a
state_dict's `_metadata`). The opcodes of protocols 2 to 5 that build data are
read; those that import by other routes (INST, OBJ, EXT*, text PERSID) or hand
out buffers are refused.
"""
from __future__ import annotations

import struct
from collections import OrderedDict
from pickle import UnpicklingError

#: opcode -> handler name; a byte not in this table is refused
_OPS = {
    b"\x80": "proto", b"\x95": "frame", b".": "stop", b"(": "mark", b"0": "pop",
    b"1": "pop_mark", b"2": "dup", b"N": "none", b"\x88": "true", b"\x89": "false",
    b"J": "binint", b"K": "binint1", b"M": "binint2", b"\x8a": "long1", b"\x8b": "long4",
    b"G": "binfloat", b"X": "binunicode", b"\x8c": "short_binunicode",
    b"\x8d": "binunicode8", b"U": "short_binstring", b"T": "binstring",
    b"C": "short_binbytes", b"B": "binbytes", b"\x8e": "binbytes8", b"\x96": "bytearray8",
    b")": "empty_tuple", b"t": "tuple", b"\x85": "tuple1", b"\x86": "tuple2",
    b"\x87": "tuple3", b"]": "empty_list", b"l": "list", b"a": "append", b"e": "appends",
    b"}": "empty_dict", b"d": "dict", b"s": "setitem", b"u": "setitems",
    b"\x8f": "empty_set", b"\x90": "additems", b"\x91": "frozenset",
    b"c": "global_", b"\x93": "stack_global", b"R": "reduce", b"\x81": "newobj",
    b"b": "build", b"Q": "binpersid", b"h": "binget", b"j": "long_binget",
    b"q": "binput", b"r": "long_binput", b"\x94": "memoize",
}
_NAMES = {
    b"i": "INST", b"o": "OBJ", b"\x82": "EXT1", b"\x83": "EXT2", b"\x84": "EXT4",
    b"P": "PERSID", b"\x92": "NEWOBJ_EX", b"\x97": "NEXT_BUFFER", b"\x98": "READONLY_BUFFER",
    b"I": "INT", b"L": "LONG", b"F": "FLOAT", b"S": "STRING", b"V": "UNICODE", b"g": "GET",
    b"p": "PUT",
}
_MODULE_ALIASES = {"__builtin__": "builtins"}


class _Stop(Exception):
    pass


class AllowListUnpickler:
    """`load()` the pickle in `data`; `allowed` maps 'module.name' to what that name means,
    `callables` are those of them REDUCE/NEWOBJ may call, `persistent_load(pid)` resolves
    storages. `where` names the file in messages; `refusal_note` ends each refusal."""

    def __init__(self, data: bytes, allowed: dict, callables, persistent_load, where: str,
                 refusal_note: str = "", encoding: str = "ASCII"):
        self.data, self.pos = memoryview(data), 0
        self.allowed = allowed
        self.callables = {id(c): c for c in callables}
        self.persistent_load = persistent_load
        self.where, self.note, self.encoding = where, refusal_note, encoding
        self.stack: list = []
        self.metastack: list = []
        self.memo: dict = {}
        self.result = None

    # ------------------------------------------------------------ the allow-list

    def find_class(self, module: str, name: str):
        module = _MODULE_ALIASES.get(module, module)
        full = f"{module}.{name}"
        if full not in self.allowed:
            hint = ""
            if module.startswith("torch.nn.modules") or module.startswith("torch.optim"):
                hint = (" (the file pickles a whole object; save and load its state_dict() "
                        "instead)")
            raise self.refuse(f"the global {full}, which is not on the allow-list{hint}")
        return self.allowed[full]

    def refuse(self, what: str) -> UnpicklingError:
        return UnpicklingError(
            f"tg.load: {self.where} asks for {what}; tapegrad loads tensors, storages, "
            "Parameters, dicts, OrderedDicts, lists, tuples, sets, numbers, strings and bytes "
            f"only, and runs no code from a checkpoint{self.note}")

    # ------------------------------------------------------------ the machine

    def load(self):
        data = self.data
        try:
            while True:
                if self.pos >= len(data):
                    raise UnpicklingError(f"tg.load: the pickle in {self.where} ends without "
                                          "its STOP opcode (truncated or damaged)")
                op = bytes(data[self.pos:self.pos + 1])
                self.pos += 1
                handler = _OPS.get(op)
                if handler is None:
                    name = _NAMES.get(op, f"0x{op.hex()}")
                    raise self.refuse(f"the pickle opcode {name}, which is not allowed")
                getattr(self, handler)()
        except _Stop:
            return self.result
        except (IndexError, KeyError, TypeError) as e:
            raise UnpicklingError(f"tg.load: the pickle in {self.where} is damaged "
                                  f"(at byte {self.pos}: {type(e).__name__} {e})") from None

    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise UnpicklingError(f"tg.load: the pickle in {self.where} is truncated "
                                  f"(needs {n} bytes at byte {self.pos})")
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def readline(self) -> str:
        end = bytes(self.data[self.pos:]).find(b"\n")
        if end < 0:
            raise UnpicklingError(f"tg.load: the pickle in {self.where} is truncated "
                                  "(a GLOBAL name without its newline)")
        text = self.read(end + 1)[:-1]
        return text.decode("utf-8")

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def pop_mark(self) -> list:
        """The items above the last MARK (also the POP_MARK opcode, which drops them)."""
        if not self.metastack:
            raise UnpicklingError(f"tg.load: the pickle in {self.where} is damaged "
                                  "(an opcode needs a MARK that is not there)")
        items, self.stack = self.stack, self.metastack.pop()
        return items

    def expect(self, obj, types, op: str):
        if type(obj) not in types:
            raise self.refuse(f"{op} on a {type(obj).__name__}")
        return obj

    # ------------------------------------------------------------ framing, stack

    def proto(self):
        version = self.read(1)[0]
        if not 2 <= version <= 5:
            raise UnpicklingError(f"tg.load: {self.where} uses pickle protocol {version}; "
                                  "checkpoints use protocols 2 to 5")

    def frame(self):
        self.read(8)

    def stop(self):
        self.result = self.stack.pop()
        raise _Stop

    def mark(self):
        self.metastack.append(self.stack)
        self.stack = []

    def pop(self):
        if self.stack:
            self.stack.pop()
        else:
            self.pop_mark()

    def dup(self):
        self.stack.append(self.stack[-1])

    # ------------------------------------------------------------ scalars

    def none(self):
        self.stack.append(None)

    def true(self):
        self.stack.append(True)

    def false(self):
        self.stack.append(False)

    def binint(self):
        self.stack.append(self.unpack("<i"))

    def binint1(self):
        self.stack.append(self.read(1)[0])

    def binint2(self):
        self.stack.append(self.unpack("<H"))

    def long1(self):
        self.stack.append(int.from_bytes(self.read(self.read(1)[0]), "little", signed=True))

    def long4(self):
        n = self.unpack("<i")
        self.stack.append(int.from_bytes(self.read(n), "little", signed=True))

    def binfloat(self):
        self.stack.append(self.unpack(">d"))

    def text(self, n: int):
        self.stack.append(self.read(n).decode("utf-8", "surrogatepass"))

    def binunicode(self):
        self.text(self.unpack("<I"))

    def short_binunicode(self):
        self.text(self.read(1)[0])

    def binunicode8(self):
        self.text(self.unpack("<Q"))

    def string(self, n: int):
        raw = self.read(n)
        self.stack.append(raw if self.encoding == "bytes" else raw.decode(self.encoding))

    def short_binstring(self):
        self.string(self.read(1)[0])

    def binstring(self):
        self.string(self.unpack("<i"))

    def short_binbytes(self):
        self.stack.append(self.read(self.read(1)[0]))

    def binbytes(self):
        self.stack.append(self.read(self.unpack("<I")))

    def binbytes8(self):
        self.stack.append(self.read(self.unpack("<Q")))

    def bytearray8(self):
        self.stack.append(bytearray(self.read(self.unpack("<Q"))))

    # ------------------------------------------------------------ containers

    def empty_tuple(self):
        self.stack.append(())

    def tuple(self):
        items = self.pop_mark()
        self.stack.append(tuple(items))

    def tuple1(self):
        self.stack[-1] = (self.stack[-1],)

    def tuple2(self):
        self.stack[-2:] = [tuple(self.stack[-2:])]

    def tuple3(self):
        self.stack[-3:] = [tuple(self.stack[-3:])]

    def empty_list(self):
        self.stack.append([])

    def list(self):
        self.stack.append(self.pop_mark())

    def append(self):
        item = self.stack.pop()
        self.expect(self.stack[-1], (list,), "APPEND").append(item)

    def appends(self):
        items = self.pop_mark()
        self.expect(self.stack[-1], (list,), "APPENDS").extend(items)

    def empty_dict(self):
        self.stack.append({})

    def dict(self):
        items = self.pop_mark()
        self.stack.append({items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)})

    def setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        self.expect(self.stack[-1], (dict, OrderedDict), "SETITEM")[key] = value

    def setitems(self):
        items = self.pop_mark()
        target = self.expect(self.stack[-1], (dict, OrderedDict), "SETITEMS")
        for i in range(0, len(items) - 1, 2):
            target[items[i]] = items[i + 1]

    def empty_set(self):
        self.stack.append(set())

    def additems(self):
        items = self.pop_mark()
        self.expect(self.stack[-1], (set,), "ADDITEMS").update(items)

    def frozenset(self):
        self.stack.append(frozenset(self.pop_mark()))

    # ------------------------------------------------------------ names and calls

    def global_(self):
        module = self.readline()
        name = self.readline()
        self.stack.append(self.find_class(module, name))

    def stack_global(self):
        name, module = self.stack.pop(), self.stack.pop()
        if type(name) is not str or type(module) is not str:
            raise self.refuse("STACK_GLOBAL with names that are not strings")
        self.stack.append(self.find_class(module, name))

    def call(self, func, args, op: str):
        if id(func) not in self.callables or self.callables[id(func)] is not func:
            raise self.refuse(f"{op} of a {type(func).__name__}, which is not an allowed "
                              "function")
        if type(args) is not tuple:
            raise self.refuse(f"{op} with arguments that are not a tuple")
        return func(*args)

    def reduce(self):
        args = self.stack.pop()
        self.stack[-1] = self.call(self.stack[-1], args, "REDUCE")

    def newobj(self):
        args = self.stack.pop()
        self.stack[-1] = self.call(self.stack[-1], args, "NEWOBJ")

    def build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        # attributes of its own only (a state_dict's `_metadata`), never one that would
        # shadow a method such as `keys`
        if type(target) is OrderedDict and type(state) is dict and \
                all(type(k) is str and not hasattr(OrderedDict, k) for k in state):
            target.__dict__.update(state)
            return
        raise self.refuse(f"BUILD (setting attributes) on a {type(target).__name__}")

    def binpersid(self):
        pid = self.stack.pop()
        if type(pid) is not tuple:
            raise self.refuse(f"a persistent id that is a {type(pid).__name__}, not a tuple")
        self.stack.append(self.persistent_load(pid))

    # ------------------------------------------------------------ the memo

    def binget(self):
        self.stack.append(self.memo[self.read(1)[0]])

    def long_binget(self):
        self.stack.append(self.memo[self.unpack("<I")])

    def binput(self):
        self.memo[self.read(1)[0]] = self.stack[-1]

    def long_binput(self):
        self.memo[self.unpack("<I")] = self.stack[-1]

    def memoize(self):
        self.memo[len(self.memo)] = self.stack[-1]
