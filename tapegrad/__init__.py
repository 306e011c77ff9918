"""tapegrad: a tape-based tracing compiler for automatic differentiation."""
__version__ = "0.1.0"

from . import ir, runtime  # noqa: E402
