"""tapegrad's tests, in folders by the part they test.

- ir/       the IR: primitives and their rules, text form, verifier, autodiff, passes
- codegen/  LLVM lowering and the math library, native results against the interpreter
- runtime/  the interpreter's fast paths, the native call, caches, shared libraries, tiers
- tracer/   tensors, eager autograd, transforms (grad, compile) and their fast paths
- e2e/      the whole stack as users meet it: README, tutorials (seeds), CLI, demo,
            PyTorch parity, fuzzing, errors, threads and processes, memory, benchmarks
- helpers/  modules several test files share (imported as `helpers.<module>`)

Each folder is a package so two files of one name in two folders cannot clash.
"""
