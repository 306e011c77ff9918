"""Buffers for the fusion groups: where each materialised value lives.

Which values get a loop nest and a buffer of their own is decided by the IR
pass ir/passes/fusion.py; the policy below tells it what this backend reads
without code (strided views of a buffer: transpose, broadcast, slice,
contiguous reshape) and which matmul operands BLAS can read in place.
Everything else is fused into the loops of its consumers.

Intermediate buffers share one scratch area; two buffers overlap only when
their lifetimes (first write .. last read, in loop-nest order) do not: the
placement is the memory planning pass, ir/passes/memory.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import primitives as P
from ..ir.core import Function, Instr, Param, TupleType, Value, regions
from ..ir.primitives import OpGroup
from ..ir.passes.fusion import Fusion, FusionPolicy, annotate, fusion_groups, is_product_operand
from ..ir.passes.memory import plan_memory, reads
from . import indexing
from .kernels import gemm_layout
from .layout import Strided
from .lowering import LOWERINGS
from .passes import compiled_ir
from .regions import RegionBuffers

ALIGN = 64


@dataclass
class Root:
    """One loop nest of the entry point: compute `value` (or copy it) into `dst`."""

    value: Value
    dst: Strided
    copy: bool = False


@dataclass
class Plan:
    roots: list[Root]
    views: dict[int, Strided]  # id(value) -> its buffer, for every materialised value
    sizes: dict[tuple, int]  # storage key -> size in elements (for bounds checks)
    scratch_offsets: dict[int, int] = field(default_factory=dict)  # slot -> byte offset
    scratch_bytes: int = 0
    fusion: Fusion | None = None
    #: scratch slot -> (result index, byte offset): buffers living in a result's array
    #: before its nest writes it (ir/passes/memory.py's hosts; entry points only)
    scratch_homes: dict[int, tuple[int, int]] = field(default_factory=dict)


def view_of(v: Value, views: dict[int, Strided]) -> Strided | None:
    """`v` as strides over a materialised buffer, or None (iterative: no recursion)."""
    chain: list[Instr] = []
    while id(v) not in views:
        low = LOWERINGS.get(v.prim) if isinstance(v, Instr) else None
        if low is None or low.view is None or len(v.operands) > 1:
            return None
        chain.append(v)
        if not v.operands:
            break
        v = v.operands[0]
    cur = views.get(id(v))
    for instr in reversed(chain):
        cur = LOWERINGS[instr.prim].view(instr, *([cur] if instr.operands else []))
        if cur is None:
            return None
    return cur


class _Policy(FusionPolicy):
    """This backend's views, kept up to date as the grouping materialises values."""

    def __init__(self, fn: Function, blas_dtypes):
        self.blas_dtypes = blas_dtypes
        self.views = {id(p): Strided.contiguous(("param", i), p.dtype, p.shape)
                      for i, p in enumerate(fn.params)}
        self.sizes = {("param", i): p.type.size for i, p in enumerate(fn.params)}
        self.sizes.update({("result", k): r.type.size for k, r in enumerate(fn.results)})
        self.first_slot: dict[int, int] = {}
        for k, r in enumerate(fn.results):
            self.first_slot.setdefault(id(r), k)
        self.roots: list[Root] = []

    def viewable(self, instr: Instr) -> bool:
        return view_of(instr, self.views) is not None

    def needs_buffer(self, operand: Value, user: Instr) -> bool:
        if user.prim.group is OpGroup.REGION:  # a region's function reads a pointer
            view = view_of(operand, self.views)
            return not isinstance(view, Strided) or not view.is_contiguous()
        if not is_product_operand(operand, user):
            return False
        view = view_of(operand, self.views)
        if view is None:
            return True
        return operand.dtype.name in self.blas_dtypes and gemm_layout(view) is None

    def materialise(self, instr: Instr) -> None:
        if instr.type.__class__ is TupleType:  # a region instruction: its own block
            buffers = region_buffers(instr, len(self.roots), self.blas_dtypes)
            self.views[id(instr)] = buffers
            self.sizes.update(buffers.sizes)
            self.roots.append(Root(instr, buffers))
            return
        slot = self.first_slot.get(id(instr))
        storage = ("result", slot) if slot is not None else ("scratch", len(self.roots))
        self.views[id(instr)] = Strided.contiguous(storage, instr.dtype, instr.shape)
        self.sizes.setdefault(storage, instr.type.size)
        self.roots.append(Root(instr, self.views[id(instr)]))


def plan(fn: Function, blas_dtypes=frozenset(), lend_results: bool = False) -> Plan:
    """The loop nests and buffers of `fn`.  `lend_results`: an entry point whose result
    arrays are fresh for each call may hold temporaries in them (emit.lower's)."""
    policy = _Policy(fn, blas_dtypes)
    fusion = fusion_groups(fn, policy)
    roots = policy.roots
    for k, r in enumerate(fn.results):  # parameters and repeats are copied
        if isinstance(r, Param) or policy.first_slot[id(r)] != k:
            roots.append(Root(r, Strided.contiguous(("result", k), r.dtype, r.shape), copy=True))
    result = Plan(roots, policy.views, policy.sizes, fusion=fusion)
    _place_scratch(result, fn, _lenders(fn, result) if lend_results else ())
    return result


def fused_text(fn: Function, blas_dtypes=frozenset()) -> str:
    """compiled_ir(fn) as text, each instruction tagged with how the loops compute it
    (`[loop]`, `[view]`, `[fused into %k]`: ir.passes.fusion.annotate): the `optimized`
    stage of a dump."""
    fn = compiled_ir(fn)
    return annotate(fn, plan(fn, blas_dtypes).fusion)


#: results smaller than this lend no bytes (not worth a pointer of their own)
LEND_MIN_BYTES = 1 << 16


def _lenders(fn: Function, p: Plan) -> list[Value]:
    """Results whose array nothing else can see during the call: computed by a nest of
    their own, returned once, not a region's block, and not a `matmul_add` on a
    parameter (donations() may hand it the parameter's array)."""
    computed = {id(r.value) for r in p.roots if not r.copy and not isinstance(r.dst, RegionBuffers)}
    params = {id(q) for q in fn.params}
    out = []
    for k, r in enumerate(fn.results):
        if id(r) not in computed or sum(1 for q in fn.results if q is r) > 1 \
                or r.type.size * r.dtype.itemsize < LEND_MIN_BYTES:
            continue
        if r.prim is P.matmul_add and id(r.operands[0]) in params:
            continue
        out.append(r)
    return out


def _place_scratch(p: Plan, fn: Function, hosts=()) -> None:
    """Scratch offsets from the memory planning pass (ir/passes/memory.py)."""
    blocks = {id(r.value): r.dst for r in p.roots if isinstance(r.dst, RegionBuffers)}

    def nbytes(v: Value) -> int:
        block = blocks.get(id(v))
        return block.nbytes if block is not None else v.type.size * v.dtype.itemsize

    mp = plan_memory(fn, p.fusion, nbytes=nbytes, align=ALIGN, hosts=hosts)
    result_index = {id(r): k for k, r in enumerate(fn.results)}
    for root in p.roots:
        if root.dst.storage[0] == "scratch" and not root.copy:
            home = mp.homes.get(id(root.value))
            if home is not None:
                p.scratch_homes[root.dst.storage[1]] = (result_index[home[0]], home[1])
                continue
            p.scratch_offsets[root.dst.storage[1]] = mp.offsets[id(root.value)]
        if isinstance(root.dst, RegionBuffers):  # its outputs, temporaries, regions' scratch
            for key, rel in root.dst.offsets.items():
                p.scratch_offsets[key] = mp.offsets[id(root.value)] + rel
    p.scratch_bytes = mp.total


def region_buffers(instr: Instr, n: int, blas_dtypes) -> RegionBuffers:
    """The block of region instruction `instr` (root number `n`): each output, the carry
    a step writes before it becomes the next step's (while_loop, scan), while_loop's
    predicate, and the scratch area of each region's function, planned here."""
    block = RegionBuffers(("scratch", n))
    m = {P.scan: instr.attrs.get("num_carry", 0), P.while_loop: len(instr.type.types)}.get(
        instr.prim, 0)
    block.outputs = [block.place(("out", k), t) for k, t in enumerate(instr.type.types)]
    block.temps = [block.place(("next", k), t) for k, t in enumerate(instr.type.types[:m])]
    if instr.prim is P.while_loop:
        block.pred = block.place(("pred",), instr.attrs["cond"].result_types[0])
    for attr, region in regions(instr):
        rfn = compiled_ir(region)
        sub = plan(rfn, blas_dtypes)
        status = indexing.has_index_checks(rfn)
        if status:  # as emit.with_status: the status record ends its scratch area
            sub.scratch_offsets["status"] = -(-sub.scratch_bytes // 8) * 8
            sub.scratch_bytes = sub.scratch_offsets["status"] + indexing.STATUS_BYTES
        key = block.reserve(("scratch_of", attr), sub.scratch_bytes)
        block.functions[attr] = (rfn, sub, status, key)
    return block


def donations(fn: Function, blas_dtypes=frozenset()) -> dict[int, int]:
    """{result index: parameter index} where the result may be written into the caller's
    array for that parameter (JAX's buffer donation; tg.compile's donate_argnums).

    Only the case where it saves a pass and is safe by construction: the result is a
    `matmul_add` whose accumulator is the parameter itself (an SGD update `w - lr *
    (a @ b)`), the kernel then skips its copy (the pointers are equal) and gemm
    accumulates in place.  Safe when no loop nest after the result's reads the
    parameter (the nests before it saw it intact), neither gemm factor is the
    parameter or a view of it (gemm would read what it writes), and the parameter is
    not itself a result (its copy runs last)."""
    fn = compiled_ir(fn)
    policy = _Policy(fn, blas_dtypes)
    fusion = fusion_groups(fn, policy)
    param_index = {id(p): i for i, p in enumerate(fn.params)}
    returned = {id(r) for r in fn.results}
    order = {id(r): k for k, r in enumerate(fusion.roots)}
    last_read: dict[int, int] = {}
    for k, root in enumerate(fusion.roots):
        for v in reads(root, fusion):
            last_read[id(v)] = k
    found: dict[int, int] = {}
    for k, r in enumerate(fn.results):
        if not isinstance(r, Instr) or r.prim is not P.matmul_add or id(r) not in order:
            continue
        c, a, b = r.operands
        i = param_index.get(id(c))
        if i is None or id(c) in returned or i in found.values() \
                or last_read.get(id(c), -1) > order[id(r)] \
                or any(_view_base(f, fusion) is c for f in (a, b)):
            continue
        if sum(1 for q in fn.results if q is r) > 1:  # returned twice: one buffer each
            continue
        found[k] = i
    return found


def _view_base(v: Value, fusion: Fusion) -> Value:
    """The materialised value (root or parameter) whose buffer `v` is read from."""
    while isinstance(v, Instr) and id(v) in fusion.views and v.operands:
        v = v.operands[0]
    return v
