"""The host target machine, the optimisation pipeline, and object/assembly emission.

LLVM is initialised once per process (llvmlite 0.50: `llvm.initialize()` raises,
so only the native target, asm printer and parser).  Vectorising needs the host
CPU name and features; the generic target gives scalar code.  The new pass
manager crashes when one manager runs twice, so every `optimize` call builds a
fresh pass builder and manager.

Object code is position independent (small code model): the same object is
loaded into MCJIT and, where a system linker exists, linked into a shared
library that later processes load with ctypes, without LLVM
(runtime/sharedlib.py).  PIC measured no slower than the JIT's default large
code model (W1, W2, W4a kernels within noise).
"""
from __future__ import annotations

import functools
import os

import llvmlite
import llvmlite.binding as llvm

#: Relocation model and code model of every object (see the module docstring).
RELOC, CODE_MODEL = "pic", "small"

#: -O level of the pipeline: O1 with the loop and SLP vectorisers on runs our fused loops
#: as fast as O2 (measured on W1/W2) and compiles ~30% faster.
OPT_LEVEL = 1


@functools.cache
def _initialise() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()


@functools.cache
def features() -> str:
    """The host CPU's features, and on AVX-512 hosts 512-bit vectors preferred.

    LLVM tunes most Intel cores to vectorise with 256 bits even where AVX-512 is there
    (older Xeons lowered their clock for 512-bit code). Our loops are compute-bound
    polynomials: 512 bits measured 1.16-1.19x faster on W2's loop here, and the result
    bits do not change (each lane computes the same operations).
    `TAPEGRAD_VECTOR_WIDTH=256` keeps LLVM's choice (for measuring)."""
    _initialise()
    flat = llvm.get_host_cpu_features().flatten()
    if "+avx512f" in flat.split(",") and \
            os.environ.get("TAPEGRAD_VECTOR_WIDTH", "").strip() != "256":
        flat += ",-prefer-256-bit"
    return flat


@functools.cache
def target_machine() -> llvm.TargetMachine:
    """The host target machine (CPU name and features), shared by every compile."""
    _initialise()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=features(),
        opt=3, reloc=RELOC, codemodel=CODE_MODEL)


@functools.cache
def fast_ldexp() -> bool:
    """Whether `llvm.ldexp` on vectors is one instruction here (vscalefps/pd, AVX-512F);
    without AVX-512 LLVM calls libm's ldexp once per lane.  mathlib scales by 2^n with
    it only then.  (The features are part of `identity`, so cached code follows.)"""
    _initialise()
    return "+avx512f" in llvm.get_host_cpu_features().flatten().split(",")


@functools.cache
def identity() -> str:
    """What object code depends on besides the IR: versions, triple, CPU and features."""
    _initialise()
    parts = [f"llvmlite={llvmlite.__version__}",
             "llvm=" + ".".join(map(str, llvm.llvm_version_info)),
             f"triple={llvm.get_process_triple()}", f"cpu={llvm.get_host_cpu_name()}",
             f"features={features()}", f"opt={OPT_LEVEL}",
             f"reloc={RELOC}/{CODE_MODEL}"]
    return "\n".join(parts)


def prepare(module) -> None:
    """Give an llvmlite.ir module the host triple and data layout before it is printed."""
    tm = target_machine()
    module.triple = llvm.get_process_triple()
    module.data_layout = str(tm.target_data)


def optimize(llvm_ir: str) -> llvm.ModuleRef:
    """Parse, verify and optimise LLVM IR text; a fresh pass builder for each run."""
    tm = target_machine()
    mod = llvm.parse_assembly(llvm_ir)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(OPT_LEVEL)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod


def emit_object(mod: llvm.ModuleRef) -> bytes:
    return target_machine().emit_object(mod)


def emit_assembly(llvm_ir: str) -> str:
    """Native assembly for (already optimised) LLVM IR text: computed on demand."""
    return target_machine().emit_assembly(llvm.parse_assembly(llvm_ir))
