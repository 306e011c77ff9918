"""Straight-line recorders: a node's instructions from its template in one Python call.

A node recorded from a template (eager_template's composite operations,
backward_native's create_graph adjoint) puts the same instructions on the tape
every time, operands mapped to the values it read.  Built in a loop, each
instruction cost a tuple from a list comprehension, an index into an environment
list and a tuple unpack of five fields: ~0.4 us, 70% of a BCE template's record.
`recorder(instrs, n)` turns the template into one generated function whose body
sets each instruction's fields from the template's objects (the function's
globals) and names operands as locals, ~3x faster; the instructions, their operands and
their order are the loop's (tests/tracer/test_block_recorder.py compares them).
"""
from __future__ import annotations

from ..ir.core import Instr

#: a template entry's location that stands for the one given to the recorder per call
CALL_LOC = object()

_new = Instr.__new__
#: a template longer than this is recorded by the loop (one generated line per
#: instruction, and compiling costs ~0.05-0.3 ms per line: a long adjoint would
#: compile for longer than it records)
MAX_GENERATED = 128


def recorder(instrs: list, n_inputs: int):
    """`record(values, loc) -> [Instr]` for a template: `instrs` are (prim, operand
    numbers, attrs, type, loc) where operands 0..n_inputs-1 are `values` (a sequence of
    that length) and n_inputs + j is the template's instruction j; a loc that is
    CALL_LOC is the call's `loc`.  The first call runs the loop, the second generates
    the straight-line function (a template used once, as most create_graph plans of a
    test or a script, never pays its compilation)."""
    if len(instrs) > MAX_GENERATED or not instrs:
        return lambda values, loc: _record_loop(instrs, values, loc)
    generated = []

    def record(values, loc):
        if generated:
            return generated[0](values, loc)
        if record.calls:
            generated.append(_generate(instrs, n_inputs))
            return generated[0](values, loc)
        record.calls += 1
        return _record_loop(instrs, values, loc)
    record.calls = 0
    return record


def _generate(instrs: list, n_inputs: int):
    """The straight-line form of `recorder`'s template."""
    consts = {"_new": _new, "_Instr": Instr}
    inputs = ", ".join(f"v{k}" for k in range(n_inputs))
    lines = ["def record(values, loc):"]
    if n_inputs:
        lines.append(f"    {inputs}{',' if n_inputs == 1 else ''} = values")
    for j, (prim, refs, attrs, rtype, loc) in enumerate(instrs):
        consts[f"p{j}"], consts[f"a{j}"], consts[f"t{j}"] = prim, attrs, rtype
        if loc is CALL_LOC:
            where = "loc"
        else:
            consts[f"l{j}"] = loc
            where = f"l{j}"
        ops = "".join(f"{_name(r, n_inputs)}, " for r in refs)
        lines.append(f"    i{j} = _new(_Instr); i{j}.type = t{j}; i{j}.prim = p{j}; "
                     f"i{j}.operands = ({ops}); i{j}.attrs = a{j}; i{j}.loc = {where}")
    lines.append("    return [" + ", ".join(f"i{j}" for j in range(len(instrs))) + "]")
    namespace = dict(consts)
    exec(compile("\n".join(lines), "<tapegrad block recorder>", "exec"), namespace)
    return namespace["record"]


def _name(ref: int, n_inputs: int) -> str:
    return f"v{ref}" if ref < n_inputs else f"i{ref - n_inputs}"


def _record_loop(instrs: list, values, loc) -> list:
    env = list(values)
    out = []
    for prim, refs, attrs, rtype, where in instrs:
        instr = _new(Instr)
        instr.type, instr.prim, instr.operands, instr.attrs, instr.loc = \
            rtype, prim, tuple([env[r] for r in refs]), attrs, loc if where is CALL_LOC else where
        env.append(instr)
        out.append(instr)
    return out
