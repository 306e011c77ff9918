"""tapegrad.ir: the SSA tape IR (types, primitives, builder, text form, passes)."""
from . import dtypes, primitives
from .builder import Builder
from .core import Function, Instr, Param, SourceLoc, TensorType, Value, tensor_type, topo_sort
from .dtypes import DType, bool_, f16, f32, f64, i8, i16, i32, i64, u8
from .parser import ParseError, parse
from .primitives import PRIMITIVES, Primitive, ShapeError
from .printer import print_function, structural_hash
from .verifier import VerifyError, verify
from . import regions_vjp  # noqa: E402,F401  (registers the region primitives' VJP rules)
from . import regions_jvp  # noqa: E402,F401  (registers the region primitives' JVP rules)
from . import regions_batching  # noqa: E402,F401  (registers their batching rules)

__all__ = [
    "dtypes", "primitives", "Builder", "Function", "Instr", "Param", "SourceLoc",
    "TensorType", "Value", "tensor_type", "topo_sort", "DType", "bool_", "f16", "f32", "f64",
    "i8", "i16", "i32", "i64", "u8", "ParseError", "parse", "PRIMITIVES", "Primitive", "ShapeError",
    "print_function", "structural_hash", "VerifyError", "verify",
]
