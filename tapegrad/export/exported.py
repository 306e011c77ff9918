"""`Exported`: one signature of a transformed function, as IR that can travel.

    exp = tg.export.export(tg.value_and_grad(loss))(params, x, y)
    exp(params, x, y)                  # the same results as the transform's
    data = exp.serialize()             # bytes: IR text, structures, signature, versions
    tg.export.deserialize(data)(params, x, y)   # anywhere with the same tapegrad

An Exported holds the stages of its one signature (`ir`, `adjoint`, `program`) and
compiles `program`, the IR the transform compiles, on first call: from the memory
cache, the disk cache (same IR, same CPU: the very code), or LLVM.  Calling it with
another signature raises TypeError naming both.  Called on abstract tensors (inside
another transform) or on tensors that require grad, it binds its program instead, as
a transformed function does, so `tg.grad` of an exported function works.
"""
from __future__ import annotations

import threading

from ..ir.core import Function, TensorType, TupleType, regions
from ..ir import dtypes
from ..ir.parser import parse
from ..ir.verifier import verify
from ..ir.version import __version__
from ..tracer.errors import at, user_loc
from ..tracer.inline import apply_function
from ..tracer.tape import grad_node
from ..tracer.tensor import Tensor
from ..tracer.transforms import _arrays, _tensors
from ..tracer.transforms_signature import (ARRAY, NATIVE, STATIC, BadArgument, leaf_items,
                                            signature)
from ..tracer.tree_util import PyTreeDef
from . import container
from .treespec import (ExportFormatError, decode_signature, decode_tree, describe_signature,
                       encode_signature, encode_tree)

#: IR text stages, in the manifest under these names: what was traced, its adjoint, and
#: the optimised program that is compiled and run (the only one a call needs to run)
STAGES = ("forward", "adjoint", "program")
#: the most elements any one value of a received program may have (its index arithmetic
#: must stay far from 64-bit overflow; no real tensor comes near)
MAX_ELEMENTS = 1 << 40
EXPORTED_GRAD_FN = "ExportedFunctionBackward"


class Exported:
    """A transformed function specialised to one call signature, ready to serialize."""

    def __init__(self, name: str, kind: str, key: tuple, out_tree: PyTreeDef,
                 program: Function, forward: Function | None = None,
                 adjoint: Function | None = None):
        self.name = name
        self.kind = kind
        self.in_signature = key  # transforms_signature's key of the calls it takes
        self.out_tree = out_tree
        self.ir = forward
        self.adjoint = adjoint
        self.program = program
        self.static = frozenset(i for i, item in enumerate(key) if item[0] == STATIC)
        self._native = None
        self._lock = threading.Lock()
        self._bytes: bytes | None = None

    @property
    def signature(self) -> str:
        return describe_signature(self.name, self.in_signature)

    @property
    def optimized(self) -> Function:
        """`program` after code generation's own passes: what the native code computes."""
        from ..codegen.passes import compiled_ir
        return compiled_ir(self.program)

    def __repr__(self) -> str:
        return f"<tapegrad.export.Exported {self.kind} {self.signature}>"

    # ---------------------------------------------------------------- calling

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        """The results of the exported function on `args` (the exported signature only)."""
        if kwargs:
            raise TypeError(f"{self.name}(): an exported function takes its arguments "
                            f"positionally; got keywords {', '.join(kwargs)}{at(user_loc())}")
        leaves: list = []
        try:
            key, mode = signature(args, self.static, leaves)
        except BadArgument as e:
            raise TypeError(f"{self.name}(): argument {e.index}{e.path} {e.problem}"
                            f"{at(user_loc())}") from None
        if key != self.in_signature:
            raise TypeError(f"{self.name}() was exported for the signature {self.signature} "
                            f"but called as {describe_signature(self.name, key)}"
                            f"{at(user_loc())}")
        if mode is NATIVE:
            outs = self.native().call_checked(_arrays(leaves))
            types = [r.type for r in self.program.results]
            return self.out_tree.unflatten([Tensor._make(o, t) for o, t in zip(outs, types)])
        tensors = _tensors(leaves)
        with grad_node(EXPORTED_GRAD_FN, *tensors):
            results = apply_function(self.program, tensors)
        return self.out_tree.unflatten(results)

    def native(self):
        """The compiled program (memory cache, disk cache or LLVM; built on first use)."""
        if self._native is None:
            with self._lock:
                if self._native is None:
                    from ..runtime.compiler import compile_function
                    self._native = compile_function(self.program)
        return self._native

    # ---------------------------------------------------------------- serializing

    def serialize(self) -> bytes:
        """The bytes `tg.export.deserialize` reads: only data (see container.py)."""
        if self._bytes is None:
            stages = {"forward": self.ir, "adjoint": self.adjoint, "program": self.program}
            self._bytes = container.pack({
                "name": self.name, "kind": self.kind,
                "signature": encode_signature(self.in_signature),
                "out_tree": encode_tree(self.out_tree),
                "stages": {k: None if fn is None else str(fn) for k, fn in stages.items()}})
        return self._bytes

    def __reduce__(self):
        return deserialize, (self.serialize(),)


def deserialize(data) -> Exported:
    """The Exported that `serialize()` wrote, after checking the checksum, the format
    version, every IR stage (parsed and verified) and their agreement with the signature."""
    manifest = container.unpack(data)
    name, kind = manifest.get("name"), manifest.get("kind")
    if not (isinstance(name, str) and isinstance(kind, str) and len(name) < 1000):
        raise ExportFormatError("export manifest: name and kind must be strings")
    key = decode_signature(manifest.get("signature"))
    out_tree = decode_tree(manifest.get("out_tree"))
    texts = manifest.get("stages")
    if not isinstance(texts, dict) or not isinstance(texts.get("program"), str):
        raise ExportFormatError("export manifest: no IR text of the program stage")
    stages = {}
    for stage in STAGES:
        text = texts.get(stage)
        if text is not None and not isinstance(text, str):
            raise ExportFormatError(f"export manifest: stage {stage!r} is not IR text")
        stages[stage] = None if text is None else _parse_stage(stage, text)
    program = stages["program"]
    _check_agreement(key, out_tree, program)
    exported = Exported(name, kind, key, out_tree, program, stages["forward"],
                        stages["adjoint"])
    exported._bytes = bytes(data)
    return exported


def _parse_stage(stage: str, text: str) -> Function:
    try:
        fn = verify(parse(text))
    except RecursionError:
        raise ExportFormatError(f"export stage {stage!r}: IR nested too deeply") from None
    except Exception as e:  # ParseError, VerifyError, or a shape rule meeting a crafted attribute
        raise ExportFormatError(f"export stage {stage!r} is not valid IR: {e}") from None
    for v in _all_values(fn):
        size = sum(t.size for t in v.type.types) if isinstance(v.type, TupleType) \
            else v.type.size
        if size > MAX_ELEMENTS:
            raise ExportFormatError(f"export stage {stage!r}: a value of type {v.type} has "
                                    f"{size} elements, more than the limit {MAX_ELEMENTS}")
    return fn


def _all_values(fn: Function):
    """Every parameter and instruction, inside the regions of control flow too (a crafted
    loop body declares its own sizes)."""
    pending = [fn]
    while pending:
        f = pending.pop()
        yield from f.params
        for instr in f.body:
            yield instr
            pending.extend(region for _, region in regions(instr))


def _check_agreement(key: tuple, out_tree: PyTreeDef, program: Function) -> None:
    """The program takes exactly the signature's leaves and returns the structure's."""
    items = leaf_items(tuple(item for item in key if item[0] != STATIC))
    want = [TensorType(item[2], item[1]) if item[0] == ARRAY else TensorType(dtypes.f32, ())
            for item in items]
    got = [p.type for p in program.params]
    if got != want:
        raise ExportFormatError(f"export: the program takes ({', '.join(map(str, got))}) but "
                                f"the signature gives ({', '.join(map(str, want))})")
    if len(program.results) != out_tree.num_leaves:
        raise ExportFormatError(f"export: the program returns {len(program.results)} values "
                                f"but the result structure has {out_tree.num_leaves} leaves")


def versions() -> dict:
    """What this tapegrad writes and reads."""
    return {"tapegrad": __version__, "format": container.FORMAT_VERSION}
