"""The pipeline behind every transform, for one signature: trace -> vjp -> passes -> native.

    lowered = lower_call(f, args, static, Spec("grad", argnums=0, has_aux=False))
    lowered.ir          # the traced forward Function
    lowered.adjoint     # vjp's output (None for compile)
    lowered.program     # after simplify/cse/dce: what gets inlined, and what is compiled
    lowered.optimized   # program after codegen's passes too (codegen.compiled_ir): what runs
    lowered.fused       # optimized as text, each line tagged with its loop nest
    lowered.native()    # the compiled entry point, built on first use
    lowered.llvm, lowered.asm
    lowered.fast_call(key)  # the generated fast call of this signature (tracer/fast_call)

Native code is built lazily, so a transform called inside another trace (which
only needs `program`, to inline it) never compiles anything of its own.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ir.autodiff import vjp
from ..ir.core import Function, Instr, free_params
from ..ir.passes import cse, dce, fold, simplify
from ..ir.passes.fusion import Fusion, annotate
from ..codegen.passes import compiled_ir
from ..runtime import dump
from .errors import TracerError, at, user_loc
from .tensor import Tensor
from .fast_call import MISS, build_fast_call  # noqa: F401  (MISS: re-exported)
from .trace import function_name, param_names, trace
from .transforms_checkpoint import collecting_regions, rematerialize_regions
from .tree_util import PyTreeDef, keystr, tree_flatten, treedef_tuple

if TYPE_CHECKING:  # native code (llvmlite) loads on first compile: a fast `import tapegrad`
    from ..runtime.native_call import CompiledFunction

KINDS = ("compile", "grad", "value_and_grad")
#: the lowering of each transform another module adds (tracer/transforms_vmap.py, ...):
#: kind -> lower(f, args, static, spec) -> Lowered; registered when that module loads
EXTRA_LOWERINGS: dict = {}


@dataclass(frozen=True)
class Spec:
    """Which transform: `kind` is one of KINDS; argnums is an int or a tuple of ints."""

    kind: str
    argnums: int | tuple[int, ...] = 0
    has_aux: bool = False


class Lowered:
    """Every stage of one specialisation of a transformed function."""

    def __init__(self, ir: Function, adjoint: Function | None, optimized: Function,
                 tree: PyTreeDef):
        self.ir = ir
        self.adjoint = adjoint
        self.program = optimized
        self.optimized = compiled_ir(optimized)
        self.tree = tree  # the structure the flat results are rebuilt into
        self.result_types = optimized.result_types
        # the two common structures, rebuilt without unflatten
        self._single = tree.is_leaf
        self._flat_tuple = tree.node_type is tuple and all(t.is_leaf for t in tree.children())
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
        (see fast_call.build_fast_call), built once per set of `donated` parameters;
        None if there is none (no `_obj` entry point, or a static argument)."""
        if self._fast is _UNBUILT or self._fast[0] != donated:
            self._fast = (donated, build_fast_call(self, key, donated))
        return self._fast[1]

    def results(self, outs: list) -> object:
        """Result arrays as tensors, in the structure f returned."""
        types = self.result_types
        if self._single:
            return Tensor._make(outs[0], types[0])
        tensors = [Tensor._make(o, t) for o, t in zip(outs, types)]
        return tuple(tensors) if self._flat_tuple else self.tree.unflatten(tensors)

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


_UNBUILT = object()


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
    extra = EXTRA_LOWERINGS.get(spec.kind)
    if extra is not None:
        return extra(f, args, static, spec)
    with collecting_regions() as regions:  # tg.checkpoint's calls inside f
        fn, tree = trace(f, args, static_argnums=tuple(static))
    _check_closed(f, fn)
    if spec.kind == "compile":
        return Lowered(fn, None, optimize(fn), tree)
    wrt, grads_tree = _wrt_params(f, fn, args, static, spec.argnums)
    value_tree, aux_tree = _split_aux(f, tree, spec.has_aux)
    _check_scalar_loss(f, fn, value_tree)
    n_aux = len(fn.results) - 1
    name = f"{spec.kind}_{function_name(f)}"
    adjoint = vjp(fn, wrt, cotangents=["ones"] + ["zero"] * n_aux,
                  keep_results=spec.kind == "value_and_grad" or spec.has_aux, name=name)
    adjoint = rematerialize_regions(adjoint, fn, regions)
    results, out_tree = _arrange(spec, adjoint.results, len(wrt), grads_tree, value_tree,
                                 aux_tree)
    program = Function(name, adjoint.params, adjoint.body, results)
    return Lowered(fn, adjoint, optimize(program), out_tree)


def _arrange(spec: Spec, adjoint_results: list, n_grads: int, grads_tree: PyTreeDef,
             value_tree: PyTreeDef, aux_tree: PyTreeDef | None):
    """The program's results and their structure, in JAX's order:
    grad -> grads | (grads, aux);  value_and_grad -> (value, grads) | ((value, aux), grads)."""
    kept = adjoint_results[:len(adjoint_results) - n_grads]  # [value, *aux] if vjp kept them
    grads = adjoint_results[len(kept):]
    value, aux = kept[:1], kept[1:]
    if spec.kind == "grad":
        return grads + aux, (treedef_tuple([grads_tree, aux_tree]) if spec.has_aux
                             else grads_tree)
    head = treedef_tuple([value_tree, aux_tree]) if spec.has_aux else value_tree
    return value + aux + grads, treedef_tuple([head, grads_tree])


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


def _wrt_params(f, fn: Function, args: tuple, static: frozenset[int], argnums):
    """The IR parameters of the arguments `argnums` names (every leaf of each; static
    arguments have none) and the structure their gradients come back in."""
    wanted = (argnums,) if isinstance(argnums, int) else argnums
    if not wanted:
        raise ValueError(f"argnums=() asks {function_name(f)} for no gradient at all")
    params_of, trees, used = {}, {}, 0
    for i, a in enumerate(args):
        if i not in static:
            trees[i] = tree_flatten(a)[1]
            params_of[i] = fn.params[used:used + trees[i].num_leaves]
            used += trees[i].num_leaves
    wrt, grads_trees = [], []
    for k in wanted:
        i = k + len(args) if k < 0 else k
        if not 0 <= i < len(args):
            raise ValueError(f"argnums={argnums!r} but {function_name(f)} was called with "
                             f"{len(args)} arguments{at(user_loc())}")
        if i not in params_of:
            raise ValueError(f"argnums={argnums!r} names argument {i} of {function_name(f)}, "
                             f"which is static (static_argnums): it has no gradient")
        for p, path in zip(params_of[i], trees[i].paths()):
            if not p.dtype.is_float:
                name = param_names(f, len(args))[i] or f"arg {i}"
                raise TypeError(
                    f"cannot differentiate {function_name(f)} with respect to argument {i} "
                    f"({name}{keystr(path)}: {p.type}): only floating point arguments have "
                    f"gradients{at(user_loc())}")
        wrt += params_of[i]
        grads_trees.append(trees[i])
    return wrt, grads_trees[0] if isinstance(argnums, int) else treedef_tuple(grads_trees)


def _split_aux(f, tree: PyTreeDef, has_aux: bool):
    """(value structure, aux structure) of f's output."""
    if not has_aux:
        return tree, None
    if not (tree.node_type in (tuple, list) and len(tree.children()) == 2):
        raise TypeError(f"with has_aux=True, {function_name(f)} must return a pair "
                        f"(value, aux){_defined_at(f)}")
    return tree.children()


def _check_scalar_loss(f, fn: Function, value_tree: PyTreeDef) -> None:
    loss = fn.results[0] if value_tree.is_leaf else None
    if loss is not None and loss.type.shape == () and loss.dtype.is_float:
        return
    if loss is None:
        kind = value_tree.node_type
        what = f"a {'tuple' if kind is tuple else 'pytree'} {value_tree!r}"
    else:
        what = f"a tensor of type {loss.type}"
    where = f" (computed at {loss.loc.full()})" if isinstance(loss, Instr) and loss.loc else ""
    raise TypeError(
        f"grad requires {function_name(f)} to return a scalar: a 0-d floating point tensor "
        f"(use has_aux=True to return (value, aux)), but it returned {what}{where}"
        f"{_defined_at(f)}")


def _defined_at(f) -> str:
    code = getattr(f, "__code__", None)
    return "" if code is None else f" (defined at {code.co_filename}:{code.co_firstlineno})"
