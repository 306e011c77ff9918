"""tapegrad.tracer: Tensor, the eager tape, grad mode and tracing of functions."""
