"""tapegrad.codegen: IR -> LLVM IR (llvmlite) -> native code."""
