"""Fusion grouping: which instructions get a loop nest (and a buffer) of their own.

    groups = fusion_groups(fn)      # Fusion: roots in order, and the group of every instr
    print(annotate(fn, groups))     # the IR text with `[fused into %5]` / `[loop]` tags

A *root* is materialised: computed by a loop nest of its own into a buffer.
Every other instruction is fused: evaluated inside the loop nests of the roots
that read it, so a chain of elementwise ops and the reduction consuming it is
one loop that reads each input once and writes each output once.

A value becomes a root when it must (a result, a reduction / argmax / matmul,
a matmul operand the target cannot read in place) or when fusing it would cost
too much: its expression grows beyond MAX_COST per element, a broadcast would
repeat it, or several loop nests (or several indices of one nest) read it and
it costs more than SHARE_COST to recompute.  Consumers in the *same* loop
nest at the *same* index share one evaluation (the code generator memoises
it), so a value several elementwise ops of one chain read stays fused.

The decisions depend on what the target can read without code (strided views
of a buffer: transpose, broadcast, slice, ...).  `FusionPolicy` holds those
target facts; the default knows only the IR (structural ops are never views).
codegen/plan.py passes its own policy and builds buffers from the groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import primitives as P
from ..core import Function, Instr, Value, topo_sort

#: Above this estimated cost per element a fused expression is materialised.
MAX_COST = 96
#: A value read by several loop nests is recomputed only when cheaper than this.
SHARE_COST = 3
COSTS = {P.exp: 8, P.log: 8, P.log1p: 8, P.sin: 8, P.cos: 8, P.tanh: 8,
         P.logistic: 10, P.pow: 10, P.sqrt: 4, P.div: 4,
         # the maths surface (issue 15)
         P.expm1: 8, P.erf: 20, P.erfc: 20, P.erfinv: 60, P.atan: 10, P.asin: 12, P.acos: 12,
         P.atan2: 12, P.hypot: 6, P.fmod: 10}


class FusionPolicy:
    """Target facts the grouping needs.  The default: only what the IR says."""

    def viewable(self, instr: Instr) -> bool:
        """`instr` can be read straight from the buffers of already materialised values
        (no code: new strides).  Called in topological order, after `materialise`
        was called for every root so far."""
        return False

    def needs_buffer(self, operand: Value, user: Instr) -> bool:
        """`user` (a kernel) must read `operand` from a buffer (say, a matmul operand, or
        any operand of a region instruction, whose functions read pointers)."""
        return is_product_operand(operand, user) or user.prim.group is P.OpGroup.REGION

    def materialise(self, instr: Instr) -> None:
        """`instr` became a root."""

    def cost(self, instr: Instr) -> int:
        return COSTS.get(instr.prim, 1)


@dataclass
class Fusion:
    """The grouping of one function.

    `roots` are the materialised instructions in loop-nest order; `group[id(v)]`
    is the root whose loop nest evaluates fused instruction `v` (the first one,
    when several recompute it); views are in `views`.
    """

    roots: list[Instr]
    group: dict[int, Instr] = field(default_factory=dict)
    views: set[int] = field(default_factory=set)
    cost: dict[int, int] = field(default_factory=dict)  # per element, of each root's loop body

    def is_root(self, v: Value) -> bool:
        return any(r is v for r in self.roots)

    def members(self, root: Instr) -> list[Instr]:
        return [v for v in topo_sort([root]) if self.group.get(id(v)) is root]


def is_product_operand(operand: Value, user: Instr) -> bool:
    """`operand` is a factor of matmul `user` (read by gemm, so from a buffer); the
    accumulator of matmul_add is not: its kernel reads it elementwise."""
    if user.prim is P.matmul:
        return True
    return user.prim is P.matmul_add and any(o is operand for o in user.operands[1:])


def _same_index(v: Instr, user: Instr) -> bool:
    """`user` reads element i of `v` exactly at its own element i (or reduces over it)."""
    if user.prim.group in P.ELEMENTWISE:
        return user.shape == v.shape
    if user.prim is P.matmul_add:
        return not is_product_operand(v, user)
    return user.prim in (P.reduce_sum, P.reduce_max)


def fusion_groups(fn: Function, policy: FusionPolicy | None = None) -> Fusion:
    policy = policy or FusionPolicy()
    # body order, not topo_sort's (depth first from the first result): a gradient's
    # results are the weights' gradients, and depth first from the first one would put
    # every weight's product after the whole backward chain, keeping every activation
    # and every delta alive to the end of the function
    ordered = topo_sort(fn.results)
    needed = {id(i) for i in ordered}
    live = [i for i in fn.body if id(i) in needed]
    if len(live) != len(ordered):  # a body that lacks some of them: topo_sort's order
        live = ordered
    users: dict[int, list[Instr]] = {}
    for instr in live:
        for o in {id(o): o for o in instr.operands}.values():
            users.setdefault(id(o), []).append(instr)
    results = {id(r) for r in fn.results}

    # Consumers first: the loop nest each value would be evaluated in, if fused.
    # A value whose readers all sit in one nest at its own index is shared there.
    nest: dict[int, int] = {}
    shared: set[int] = set()
    for instr in reversed(live):
        us = users.get(id(instr), [])
        nest[id(instr)] = id(instr)
        if id(instr) in results or instr.prim.group in P.KERNELS or not us:
            continue
        keys = {nest[id(u)] if u.prim.group not in P.KERNELS else id(u) for u in us}
        if len(keys) == 1 and all(_same_index(instr, u) for u in us):
            nest[id(instr)] = keys.pop()
            shared.add(id(instr))

    fusion = Fusion([])
    fused: dict[int, dict[int, int]] = {}  # id -> {id: cost} of the fused expression it heads
    for instr in live:
        us = users.get(id(instr), [])
        need = id(instr) in results or instr.prim.group in P.KERNELS or any(
            u.prim.group in P.KERNELS and policy.needs_buffer(instr, u) for u in us)
        tree: dict[int, int] = {}
        if not need and policy.viewable(instr):
            fusion.views.add(id(instr))
        elif instr.prim.group not in P.KERNELS:
            tree = {id(instr): policy.cost(instr)}
            for o in instr.operands:
                tree.update(fused.get(id(o), {}))
        if not need and id(instr) not in fusion.views:
            # a broadcast, or a gather reading more elements than there are, would repeat it
            repeated = any(u.prim in (P.broadcast, P.gather) and u.type.size > instr.type.size
                           for u in us)
            shareable = id(instr) in shared or sum(tree.values()) < SHARE_COST
            need = sum(tree.values()) > MAX_COST or repeated or (len(us) > 1 and not shareable)
        if need:
            fusion.roots.append(instr)
            fusion.cost[id(instr)] = sum(tree.values())
            policy.materialise(instr)
            tree = {}
        fused[id(instr)] = tree

    for root in fusion.roots:  # record, for each fused value, the first nest evaluating it
        stack = list(root.operands)
        while stack:
            v = stack.pop()
            if not isinstance(v, Instr) or fusion.is_root(v) or id(v) in fusion.views \
                    or id(v) in fusion.group:
                continue
            fusion.group[id(v)] = root
            stack.extend(v.operands)
    return fusion


def annotate(fn: Function, fusion: Fusion | None = None) -> str:
    """`fn` as text, each instruction tagged `[loop]` (a root), `[view]`, or
    `[fused into %k]` (evaluated inside root %k's loop nest).  The tags sit in
    comments, so the text still parses."""
    fusion = fusion or fusion_groups(fn)
    index = {id(instr): i for i, instr in enumerate(fn.body)}
    roots = {id(r) for r in fusion.roots}
    lines = str(fn).split("\n")
    out = []
    k = 0
    for line in lines:
        stripped = line.lstrip()
        top = line.startswith("  %") and not line.startswith("   ")  # not inside a region
        if top and " = " in stripped and k < len(fn.body):
            instr = fn.body[k]
            k += 1
            if id(instr) in roots:
                tag = "[loop]"
            elif id(instr) in fusion.views:
                tag = "[view]"
            elif id(instr) in fusion.group:
                tag = f"[fused into %{index[id(fusion.group[id(instr)])]}]"
            else:
                tag = "[unused]"
            line = f"{line}  # {tag}" if "  # " not in line else line.replace("  # ", f"  # {tag} ", 1)
        out.append(line)
    return "\n".join(out)
