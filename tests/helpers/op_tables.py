"""The groups of elementwise primitives, by IR name, that several test files sweep.

Names, not the primitive objects: the tables stay independent of the product's own
grouping (`Primitive.group`), which the tests check rather than trust.  A file that
needs the objects looks them up in `tapegrad.ir.PRIMITIVES`.
"""

#: Float math with a domain or a rounding of its own: polynomial code in codegen/mathlib.py.
FLOAT_UNARY = ("exp", "log", "log1p", "sin", "cos", "tanh", "sqrt", "logistic")
#: Unary operations defined for every input.
ANY_UNARY = ("neg", "abs", "sign", "stop_gradient")
#: Binary arithmetic (NaN-propagating max and min included).
ARITHMETIC = ("add", "sub", "mul", "div", "pow", "max", "min")
