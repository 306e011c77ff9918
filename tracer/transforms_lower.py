"""The pipeline behind every transform, for one signature: trace -> vjp -> passes -> native.

    lowered = lower_call(f, args, static, Spec("grad", argnums=0, has_aux=False))
    lowered.ir          # the traced forward Function
    lowered.adjoint     # vjp's output (None for compile)
    lowered.program     # after simplify/cse/dce: what gets inlined, and what is compiled
    lowered.optimized   # program after codegen's passes too (codegen.compiled_ir): what runs
    lowered.fused       # optimized as text, each line tagged with its loop nest
    lowered.native()    # the compiled entry point, built on first use
    lowered.llvm, lowered.asm

Native code is built lazily, so a transform called inside another trace (which
only needs `program`, to inline it) never compiles anything of its own.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ir.autodiff import vjp
from ..ir.core import Function, Instr, free_params
from ..ir.passes import cse, dce, fold, simplify
from ..ir.passes.fusion import Fusion, annotate
from ..codegen.passes import compiled_ir
from ..runtime import dump
from .errors import TracerError, at, user_loc
from .tensor import Tensor
from .trace import LEAF, function_name, trace, unflatten
from .transforms_signature import ARRAY, SCALAR

if TYPE_CHECKING:  # native code (llvmlite) loads on first compile: a fast `import tapegrad`
    from ..runtime.native_call import CompiledFunction

KINDS = ("compile", "grad", "value_and_grad")


@dataclass(frozen=True)
class Spec:
    """Which transform: `kind` is one of KINDS; argnums is an int or a tuple of ints."""

    kind: str
    argnums: int | tuple[int, ...] = 0
    has_aux: bool = False


class Lowered:
    """Every stage of one specialisation of a transformed function."""

    def __init__(self, ir: Function, adjoint: Function | None, optimized: Function, tree):
        self.ir = ir
        self.adjoint = adjoint
        self.program = optimized
        self.optimized = compiled_ir(optimized)
        self.tree = tree  # the structure the flat results are rebuilt into
        self.result_types = optimized.result_types
        # the two common structures, rebuilt without unflatten
        self._single = tree == LEAF
        self._flat_tuple = type(tree) is tuple and all(t == LEAF for t in tree)
        self._native: CompiledFunction | None = None
        self._fast = _UNBUILT  # the fast call of this signature (None: it has none)
        self.lower_seconds = 0.0  # trace, differentiate, optimise
        self.native_seconds = 0.0  # code generation (or loading from the disk cache)
        self.on_compile = None  # called with native_seconds once the code exists
        self._lock = threading.Lock()

    def native(self) -> CompiledFunction:
        """The compiled code (built, and dumped if TAPEGRAD_DUMP asks, on first use)."""
        if self._native is None:
            with self._lock:
                if self._native is None:
                    t0 = time.perf_counter()
                    from ..runtime.compiler import compile_function
                    native = compile_function(self.program)
                    self.native_seconds = time.perf_counter() - t0
                    self._native = native
                    dump.dump_stages(self.optimized.name, self.stage,
                                     self.optimized.structural_hash())
                    if self.on_compile is not None:
                        self.on_compile(self.native_seconds)
        return self._native

    def run(self, arrays: list, donated=()) -> object:
        """The native code on buffers of exactly the signature's types (as
        transforms_signature.plain_signature gives them), results in f's structure;
        `donated`: parameter indices whose arrays results may reuse (call_checked)."""
        native = self._native or self.native()
        outs = native.call_checked(arrays, donated)
        if self._single:
            return Tensor._make(outs[0], self.result_types[0])
        return self.results(outs)

    def fast_call(self, key: tuple, donated: frozenset[int] = frozenset()):
        """The fast call of `key`, the signature this specialisation was cached under
        (see _build_fast_call), built once per set of `donated` parameters; None if
        there is none (no `_obj` entry point, or a key that is not only arrays and
        scalars)."""
        if self._fast is _UNBUILT or self._fast[0] != donated:
            self._fast = (donated, _build_fast_call(self, key, donated))
        return self._fast[1]

    def results(self, outs: list) -> object:
        """Result arrays as tensors, in the structure f returned."""
        types = self.result_types
        if self._single:
            return Tensor._make(outs[0], types[0])
        tensors = [Tensor._make(o, t) for o, t in zip(outs, types)]
        return tuple(tensors) if self._flat_tuple else unflatten(self.tree, tensors)

    @property
    def fused(self) -> str:
        """`optimized` as text, each instruction tagged with how the native code computes
        it: `[loop]` (a loop nest of its own, writing a buffer), `[view]` (read in place
        from another buffer with new strides) or `[fused into %k]` (evaluated inside
        %k's loop nest).  The tags sit in comments; `str(optimized)` stays the plain
        text that `tg.ir.parse` reads back exactly, so the tags live here."""
        return annotate(self.optimized, _codegen_fusion(self.optimized))

    @property
    def llvm(self) -> str:
        return self.native().llvm

    @property
    def asm(self) -> str:
        return self.native().asm

    def stage(self, name: str) -> str | None:
        """One stage as text (None for the adjoint of `compile`); names are dump.STAGES.
        The optimized stage shows the fusion groups (`fused`)."""
        if name == "optimized":
            return self.fused
        if name in ("ir", "adjoint"):
            fn = getattr(self, name)
            return None if fn is None else str(fn)
        if name in ("llvm", "asm"):
            return getattr(self, name)
        raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(dump.STAGES)}")

    def __repr__(self) -> str:
        return f"<Lowered {self.optimized!r}>"


# ---------------------------------------------------------------- the fast call

#: what a fast call returns when the arguments are not exactly its signature's
MISS = object()
_UNBUILT = object()


def _build_fast_call(lowered: Lowered, key: tuple, donated: frozenset[int] = frozenset()):
    """A function `fast(args) -> result | MISS` for the calls whose signature is `key`
    (as transforms_signature.plain_signature computes it): the whole call with nothing
    left to look up or decide, for a transform called again and again the same way.

    It is generated Python (see `_fast_source`), one straight line per argument,
    because the call is a few microseconds and every bytecode shows.  What it checks
    is exactly what native code relies on, taken from the compiled entry point itself:
    a Python float where the code reads a float32 scalar (written into a per-thread
    0-d array, as np.array(x, np.float32) would convert it), and elsewhere an ndarray
    (or the buffer of a concrete tensor that does not require grad) of exactly the
    compiled shape and dtype (dtype by identity: a foreign byte order or an odd
    dtype object misses), C-contiguous and aligned.  Anything else, a tensor requiring
    grad, a list, a Fortran-order or misaligned array, a numpy scalar, is a MISS and
    takes the checked path, which converts it or raises the usual error.

    `donated` (parameter indices, as call_checked takes them): a result that the
    compiled code may write into a donated parameter's array (CompiledFunction.
    donations) is that array when, as call_checked requires, it is a writable
    ndarray sharing no memory with another argument; a tensor there is a MISS."""
    from ..runtime.native import POOL_MIN_BYTES, allocate
    if any(item[0] not in (ARRAY, SCALAR) for item in key):
        return None
    entry = lowered.native().object_entry()
    if entry is None or len(entry.params) != len(key):
        return None
    f32 = np.dtype(np.float32)
    scalars = [i for i, item in enumerate(key) if item[0] == SCALAR]
    if any(entry.params[i] != ((), f32) for i in scalars):
        return None
    local = threading.local()

    def buffers() -> tuple:
        """This thread's scratch array and one float32 cell per scalar argument."""
        local.buffers = (entry.scratch(), *(np.empty((), f32) for _ in scalars))
        return local.buffers

    donate: dict[int, int] = {}  # result -> the parameter whose array it may be
    if donated:
        for j, i in lowered.native().donations().items():
            if i in donated and key[i][0] == ARRAY and i not in donate.values() \
                    and entry.results[j][:2] == entry.params[i]:
                donate[j] = i
    names = {"MISS": MISS, "ndarray": np.ndarray, "Tensor": Tensor, "make": Tensor._make,
             "may_share": np.may_share_memory,
             "empty": np.empty, "allocate": allocate, "entry": entry.call,
             "OFFSET": entry.offset, "local": local, "buffers": buffers,
             "unflatten": unflatten, "TREE": lowered.tree}
    for i, (shape, dtype) in enumerate(entry.params):
        names[f"S{i}"], names[f"D{i}"] = shape, dtype
    for j, ((shape, dtype, nbytes), t) in enumerate(zip(entry.results, lowered.result_types)):
        names[f"R{j}"], names[f"E{j}"], names[f"N{j}"], names[f"T{j}"] = shape, dtype, nbytes, t
    source = _fast_source(key, scalars, [n >= POOL_MIN_BYTES for _, _, n in entry.results],
                          lowered._single, lowered._flat_tuple, donate)
    exec(compile(source, f"<fast call of {lowered.optimized.name}>", "exec"), names)
    fast = names["fast"]
    fast.source = source
    return fast


def _fast_source(key: tuple, scalars: list[int], pooled: list[bool], single: bool,
                 flat_tuple: bool, donate: dict[int, int] | None = None) -> str:
    """The text of a fast call (see _build_fast_call), e.g. for (f32[5], float):

        def fast(args):
            if len(args) != 2:
                return MISS
            a0, a1 = args
            if type(a0) is not ndarray:
                if type(a0) is not Tensor or a0._requires_grad:
                    return MISS
                a0 = a0._data  # None for an abstract tensor: the next test misses
                if type(a0) is not ndarray:
                    return MISS
            if a0.dtype is not D0 or a0.shape != S0:
                return MISS
            flags = a0.flags
            if not (flags.c_contiguous and flags.aligned):
                return MISS
            if type(a1) is not float:
                return MISS
            try:
                scratch, c1 = local.buffers
            except AttributeError:
                scratch, c1 = buffers()
            c1[()] = a1
            r0 = empty(R0, E0)
            entry(OFFSET, id(a0), id(c1), id(r0), id(scratch))
            return make(r0, T0)

    With `donate` ({result j: parameter i}), a0 donated to r0 and a1 another array:

            if type(a0) is not ndarray:
                return MISS
            ...
            w0 = flags.writeable
            ...
            if w0 and not may_share(a0, a1):
                r0 = a0
            else:
                r0 = allocate(R0, E0, N0)
    """
    donate = donate or {}
    donors = set(donate.values())
    n = len(key)
    args = [f"a{i}" for i in range(n)]
    lines = ["def fast(args):",
             f"    if len(args) != {n}:",
             "        return MISS"]
    if n:
        lines.append(f"    {_unpacking(args)} = args")
    for i in range(n):
        a = args[i]
        if i in scalars:
            lines += [f"    if type({a}) is not float:",
                      "        return MISS"]
            continue
        if i in donors:  # a tensor's buffer is never given away: the checked path
            lines += [f"    if type({a}) is not ndarray:",
                      "        return MISS"]
        else:
            lines += [f"    if type({a}) is not ndarray:",
                      f"        if type({a}) is not Tensor or {a}._requires_grad:",
                      "            return MISS",
                      f"        {a} = {a}._data",
                      f"        if type({a}) is not ndarray:",
                      "            return MISS"]
        lines += [f"    if {a}.dtype is not D{i} or {a}.shape != S{i}:",
                  "        return MISS",
                  f"    flags = {a}.flags",
                  "    if not (flags.c_contiguous and flags.aligned):",
                  "        return MISS"]
        if i in donors:
            lines.append(f"    w{i} = flags.writeable")
    cells = [f"c{i}" for i in scalars]
    buffers = _unpacking(["scratch", *cells])
    lines += ["    try:",
              f"        {buffers} = local.buffers",
              "    except AttributeError:",
              f"        {buffers} = buffers()"]
    lines += [f"    c{i}[()] = a{i}" for i in scalars]
    results = [f"r{j}" for j in range(len(pooled))]
    for j, big in enumerate(pooled):
        fresh = f"r{j} = allocate(R{j}, E{j}, N{j})" if big else f"r{j} = empty(R{j}, E{j})"
        i = donate.get(j)
        if i is None:
            lines.append("    " + fresh)
            continue
        others = [f"may_share(a{i}, a{k})" for k in range(n) if k != i and k not in scalars]
        overlap = f" and not ({' or '.join(others)})" if others else ""
        lines += [f"    if w{i}{overlap}:",
                  f"        r{j} = a{i}",
                  "    else:",
                  "        " + fresh]
    passed = [f"c{i}" if i in scalars else args[i] for i in range(n)] + results + ["scratch"]
    lines.append(f"    entry(OFFSET, {', '.join(f'id({v})' for v in passed)})")
    tensors = [f"make(r{j}, T{j})" for j in range(len(pooled))]
    if single:
        lines.append(f"    return {tensors[0]}")
    elif flat_tuple:
        lines.append(f"    return ({_unpacking(tensors)})")
    else:
        lines.append(f"    return unflatten(TREE, [{', '.join(tensors)}])")
    return "\n".join(lines) + "\n"


def _unpacking(names: list[str]) -> str:
    """`a, b` (or `a,` for one name): a tuple's items in source text."""
    return names[0] + "," if len(names) == 1 else ", ".join(names)


def _codegen_fusion(fn: Function) -> Fusion:
    """The grouping the code generator builds `fn`'s loops from, planned as
    codegen.emit.lower plans it for compile_function (BLAS on: which matmul operands
    it reads in place depends on it).  Imported here: codegen loads llvmlite."""
    from ..codegen import blas
    from ..codegen.plan import plan
    return plan(fn, frozenset(blas.available())).fusion


def lower_call(f, args: tuple, static: frozenset[int], spec: Spec) -> Lowered:
    """Trace `f(*args)` and build the IR of `spec`'s transform of it (no native code yet)."""
    t0 = time.perf_counter()
    lowered = _lower(f, args, static, spec)
    lowered.lower_seconds = time.perf_counter() - t0
    return lowered


def _lower(f, args: tuple, static: frozenset[int], spec: Spec) -> Lowered:
    fn, tree = trace(f, args, static_argnums=tuple(static))
    _check_closed(f, fn)
    if spec.kind == "compile":
        return Lowered(fn, None, optimize(fn), tree)
    wrt = _wrt_params(f, fn, args, static, spec.argnums)
    value_tree, aux_tree = _split_aux(f, tree, spec.has_aux)
    _check_scalar_loss(f, fn, value_tree)
    n_aux = len(fn.results) - 1
    name = f"{spec.kind}_{function_name(f)}"
    adjoint = vjp(fn, wrt, cotangents=["ones"] + ["zero"] * n_aux,
                  keep_results=spec.kind == "value_and_grad" or spec.has_aux, name=name)
    results, out_tree = _arrange(spec, adjoint.results, len(wrt), value_tree, aux_tree)
    program = Function(name, adjoint.params, adjoint.body, results)
    return Lowered(fn, adjoint, optimize(program), out_tree)


def _arrange(spec: Spec, adjoint_results: list, n_grads: int, value_tree, aux_tree):
    """The program's results and their structure, in JAX's order:
    grad -> grads | (grads, aux);  value_and_grad -> (value, grads) | ((value, aux), grads)."""
    kept = adjoint_results[:-n_grads]  # [value, *aux] when vjp kept them, else []
    grads = adjoint_results[len(kept):]
    value, aux = kept[:1], kept[1:]
    grads_tree = LEAF if isinstance(spec.argnums, int) else tuple(LEAF for _ in grads)
    if spec.kind == "grad":
        return grads + aux, ((grads_tree, aux_tree) if spec.has_aux else grads_tree)
    head = (value_tree, aux_tree) if spec.has_aux else value_tree
    return value + aux + grads, (head, grads_tree)


def optimize(fn: Function) -> Function:
    """The passes every transform runs before code generation."""
    return dce(cse(dce(simplify(fold(simplify(dce(fn)))))))


def _check_closed(f, fn: Function) -> None:
    """A function traced inside another trace may not capture the outer trace's tensors."""
    own = {id(p) for p in fn.params}
    if any(id(p) not in own for p in free_params(fn.results)):
        raise TracerError(
            f"{function_name(f)} uses a tensor traced by an enclosing transform without "
            f"taking it as an argument{_defined_at(f)}; pass it as an argument instead")


def _wrt_params(f, fn: Function, args: tuple, static: frozenset[int], argnums) -> list:
    """The IR parameters of the arguments `argnums` names (static ones have none)."""
    wanted = (argnums,) if isinstance(argnums, int) else argnums
    if not wanted:
        raise ValueError(f"argnums=() asks {function_name(f)} for no gradient at all")
    param_of = {}
    for i in range(len(args)):
        if i not in static:
            param_of[i] = fn.params[len(param_of)]
    wrt = []
    for k in wanted:
        i = k + len(args) if k < 0 else k
        if not 0 <= i < len(args):
            raise ValueError(f"argnums={argnums!r} but {function_name(f)} was called with "
                             f"{len(args)} arguments{at(user_loc())}")
        if i not in param_of:
            raise ValueError(f"argnums={argnums!r} names argument {i} of {function_name(f)}, "
                             f"which is static (static_argnums): it has no gradient")
        p = param_of[i]
        if not p.dtype.is_float:
            raise TypeError(f"cannot differentiate {function_name(f)} with respect to argument "
                            f"{i} ({p.hint}: {p.type}): only floating point arguments have "
                            f"gradients{at(user_loc())}")
        wrt.append(p)
    return wrt


def _split_aux(f, tree, has_aux: bool):
    """(value structure, aux structure) of f's output."""
    if not has_aux:
        return tree, None
    if not (isinstance(tree, (tuple, list)) and len(tree) == 2):
        raise TypeError(f"with has_aux=True, {function_name(f)} must return a pair "
                        f"(value, aux){_defined_at(f)}")
    return tree[0], tree[1]


def _check_scalar_loss(f, fn: Function, value_tree) -> None:
    loss = fn.results[0]
    if value_tree == LEAF and loss.type.shape == () and loss.dtype.is_float:
        return
    what = "a tuple" if value_tree != LEAF else f"a tensor of type {loss.type}"
    where = f" (computed at {loss.loc.full()})" if isinstance(loss, Instr) and loss.loc else ""
    raise TypeError(
        f"grad requires {function_name(f)} to return a scalar: a 0-d floating point tensor "
        f"(use has_aux=True to return (value, aux)), but it returned {what}{where}"
        f"{_defined_at(f)}")


def _defined_at(f) -> str:
    code = getattr(f, "__code__", None)
    return "" if code is None else f" (defined at {code.co_filename}:{code.co_firstlineno})"
