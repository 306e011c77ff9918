"""Dtype cases: Python expressions run once with PyTorch (record_dtypes.py writes what it
gave to dtypes_torch.json) and in the tests with `torch` bound to tapegrad.

Each case is an expression over the module `torch` (and `F16`, a float16 test vector
made of values whose rounding matters).  What is compared: a tensor's dtype, shape,
values (float16 bit for bit) and repr; a dtype's name; an exception's class and the
start of its message; anything else by repr.
"""

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = ["True", "3", "2.5"]

#: float16 operands: values whose float32 results fall between float16 neighbours
F16_A = [0.1, -1.7, 3.14159, 100.3, -0.0007, 2049.0, 0.333, 65000.0, 1e-4, -7.77]
F16_B = [0.3, 2.2, -0.001, 7.1, 13.0, 3.0, -0.51, 2.0, 0.7, 1.9]

PRINT_CASES = [
    "torch.tensor([1, 2], dtype=torch.int32)",
    "torch.tensor([1, 2], dtype=torch.int8)",
    "torch.tensor([1, 2], dtype=torch.int16)",
    "torch.tensor([1, 255], dtype=torch.uint8)",
    "torch.tensor([1, 2])",
    "torch.tensor([True, False])",
    "torch.tensor([1.5, 2.25], dtype=torch.float16)",
    "torch.tensor([0.1, 1000.7, -3.0], dtype=torch.float16)",
    "torch.tensor([1.0, 2.0], dtype=torch.float16)",
    "torch.tensor([65504.0, 1e-4], dtype=torch.float16)",
    "torch.tensor(3, dtype=torch.int32)",
    "torch.tensor(0.1, dtype=torch.float16)",
    "torch.tensor([], dtype=torch.int32)",
    "torch.tensor([], dtype=torch.float16)",
    "torch.tensor([[1, -2], [300, 4]], dtype=torch.int16)",
    "torch.tensor([1.0, 2.0], dtype=torch.float64)",
    "torch.tensor([0.1, 0.2], dtype=torch.float16, requires_grad=True)",
]

OVERFLOW_CASES = [
    "torch.tensor([250, 3], dtype=torch.uint8) + torch.tensor([10, 3], dtype=torch.uint8)",
    "torch.tensor([250, 3], dtype=torch.uint8) + 10",
    "torch.tensor([0, 3], dtype=torch.uint8) - 1",
    "-torch.tensor([0, 3], dtype=torch.uint8)",
    "torch.tensor([100, -100], dtype=torch.int8) * 2",
    "torch.tensor([127, -128], dtype=torch.int8) + torch.tensor([1, -1], dtype=torch.int8)",
    "torch.tensor([30000], dtype=torch.int16) * 3",
    "torch.tensor([2**31 - 1], dtype=torch.int32) + 1",
    "torch.tensor([-128], dtype=torch.int8).abs()",
    "torch.tensor([300.0, -1.0, -129.5, 70000.0, -3.7, 255.9]).to(torch.int8)",
    "torch.tensor([300.0, -1.0, -129.5, 70000.0, -3.7, 255.9]).to(torch.uint8)",
    "torch.tensor([300.0, -1.0, -129.5, 70000.0, -3.7, 255.9]).to(torch.int16)",
    "torch.tensor([300.0, -1.0, -129.5, 70000.0, -3.7, 255.9]).int()",
    "torch.tensor([-1, 300, 1000]).to(torch.uint8)",
    "torch.tensor([1 + 2**-11 + 2**-40], dtype=torch.float64).half()",
    "torch.tensor([70000.0, -1e6, 1e-8]).half()",
    "torch.tensor([7, -7, 7, -7], dtype=torch.int32) // torch.tensor([2, 2, -2, -2], dtype=torch.int32)",
    "torch.tensor([7, -7], dtype=torch.int8) // 2",
    "torch.floor_divide(torch.tensor([7, 200], dtype=torch.uint8), 3)",
    "torch.tensor([7.5, -7.5]) // 2",
    "torch.tensor([7, -7], dtype=torch.int32) / 2",
    "torch.tensor([7, -7], dtype=torch.int32) / torch.tensor([2, 4], dtype=torch.int8)",
    "torch.tensor([7, 1], dtype=torch.uint8) / torch.tensor([2, 4], dtype=torch.uint8)",
    "torch.tensor([5, 6], dtype=torch.int32) // torch.tensor([0, 1], dtype=torch.int32)",
    "torch.tensor([5, 6]) // 0",
    "torch.tensor([5.0, -6.0, 0.0]) / 0",
    "torch.tensor([5, -6, 0]) / 0",
    "torch.tensor([-7, 7], dtype=torch.int16) // torch.tensor([-2, 3], dtype=torch.int16)",
    "torch.tensor([7.0, -7.0, 1e20, float('inf')]) // torch.tensor([0.5, 2.0, 3.0, 2.0])",
    "torch.tensor([200, 100], dtype=torch.uint8) > torch.tensor([100, 200], dtype=torch.uint8)",
    "torch.tensor([-1, 1], dtype=torch.int8) < torch.tensor([200, 0], dtype=torch.uint8)",
    "torch.tensor([3, -3], dtype=torch.int8) ** 5",
    "torch.tensor([3, 4], dtype=torch.uint8) ** 4",
    "torch.tensor([True, False]) + torch.tensor([True, True])",
    "torch.tensor([True, False]) * 3",
    "torch.tensor([1, 2], dtype=torch.int32).sum()",
    "torch.tensor([100, 100], dtype=torch.int8).sum()",
    "torch.tensor([200, 100], dtype=torch.uint8).sum()",
    "torch.tensor([True, True, False]).sum()",
    "torch.tensor([1, 2], dtype=torch.int32).mean(dtype=torch.float32)",
    "torch.tensor([1, 2, 3], dtype=torch.int16).max()",
    "torch.tensor([1, 2, 3], dtype=torch.uint8).argmax()",
    "torch.tensor([1.0, 2.0], dtype=torch.float16).sum().dtype",
    "torch.tensor([1, 2], dtype=torch.int8).exp().dtype",
    "torch.tensor([1, 2], dtype=torch.uint8).exp().dtype",
    "torch.tensor([1, 4], dtype=torch.int32).sqrt()",
    "torch.tensor([1, 2], dtype=torch.int16).float()",
    "torch.tensor([5, 6], dtype=torch.int8).tolist()",
    "torch.tensor([5], dtype=torch.uint8).item()",
    "torch.tensor([1.5], dtype=torch.float16).item()",
]

CONVERSION_CASES = [
    "torch.tensor([1.7, -2.2]).int()", "torch.tensor([1.7, -2.2]).long()",
    "torch.tensor([1.7, -2.2]).half()", "torch.tensor([1.7, -2.2]).short()",
    "torch.tensor([1.7, -2.2]).char()", "torch.tensor([1.7, -2.2]).byte()",
    "torch.tensor([1.7, 0.0]).bool()", "torch.tensor([1, 2]).float()",
    "torch.tensor([1, 2]).double()",
    "torch.tensor([1.5]).type()", "torch.tensor([1.5]).double().type()",
    "torch.tensor([1.5]).half().type()", "torch.tensor([1]).type()",
    "torch.tensor([1]).int().type()", "torch.tensor([1]).short().type()",
    "torch.tensor([1]).char().type()", "torch.tensor([1]).byte().type()",
    "torch.tensor([True]).type()",
    "torch.tensor([1.5, 2.5]).type(torch.int32)", "torch.tensor([1.5, 2.5]).type(torch.float64)",
    "torch.tensor([1.5, 2.5]).type('torch.IntTensor')",
    "torch.tensor([1.5, 2.5]).to(torch.tensor([1], dtype=torch.int16))",
    "torch.tensor([1.5, 2.5]).to(torch.float16)",
    "torch.tensor([1.5, 2.5]).to('cpu', torch.int8)",
    "torch.tensor([1.5, 2.5]).to(dtype=torch.uint8)",
    "torch.tensor([1, 2], dtype=torch.int32).is_floating_point()",
    "torch.tensor([1, 2], dtype=torch.float16).is_floating_point()",
    "torch.tensor([1, 2], dtype=torch.float16).element_size()",
    "torch.tensor([1, 2], dtype=torch.int16).element_size()",
    "torch.tensor([1, 2], dtype=torch.bool).element_size()",
    "torch.float16.is_floating_point", "torch.int8.is_floating_point",
    "torch.float16.itemsize", "torch.int32.itemsize", "torch.uint8.is_signed",
    "torch.int8.is_signed", "torch.float64.is_signed",
    "torch.half", "torch.short", "torch.int", "torch.long", "torch.double", "torch.float",
    "torch.bool", "torch.uint8",
    "torch.finfo(torch.float16).eps", "torch.finfo(torch.float16).max",
    "torch.finfo(torch.float16).tiny", "torch.finfo(torch.float16).bits",
    "torch.finfo(torch.float32).eps", "torch.finfo(torch.float64).max",
    "torch.finfo().eps", "torch.finfo(torch.float16).dtype",
    "torch.finfo(torch.float32).resolution", "torch.finfo(torch.float32).smallest_normal",
    "torch.iinfo(torch.int8).min", "torch.iinfo(torch.int8).max", "torch.iinfo(torch.uint8).max",
    "torch.iinfo(torch.int32).max", "torch.iinfo(torch.int64).min", "torch.iinfo(torch.int16).bits",
    "torch.iinfo(torch.int16).dtype",
    "torch.can_cast(torch.float32, torch.int32)", "torch.can_cast(torch.int32, torch.float16)",
    "torch.can_cast(torch.int64, torch.int8)", "torch.can_cast(torch.bool, torch.uint8)",
    "torch.can_cast(torch.float64, torch.float16)", "torch.can_cast(torch.uint8, torch.bool)",
    "torch.can_cast(torch.int8, torch.uint8)",
    "torch.tensor([1, 2], dtype=torch.int32).requires_grad_()",
    "torch.tensor([1, 2], dtype=torch.uint8, requires_grad=True)",
]

#: gradients through float -> float conversions (the values of x.grad after backward)
GRAD_CASES = [
    "(lambda x: (x.half().float() * 3).sum().backward() or x.grad)(torch.tensor([1.0, 2.0], requires_grad=True))",
    "(lambda x: (x.double() ** 2).sum().backward() or x.grad)(torch.tensor([1.5, 2.0], requires_grad=True))",
    "(lambda x: (x.to(torch.float16) * 2).sum().backward() or x.grad)(torch.tensor([1.5, 2.0], dtype=torch.float64, requires_grad=True))",
    "(lambda x: (x.half() * x.half()).sum().backward() or x.grad)(torch.tensor([0.1, 3.3], requires_grad=True))",
    "(lambda x: x.half() * 2)(torch.tensor([0.1, 3.3], requires_grad=True))",
    "(lambda x: x.int())(torch.tensor([1.5, 2.0], requires_grad=True)).requires_grad",
]

F16_CASES = [
    "A + B", "A - B", "A * B", "A / B", "A * 0.1", "A + 0.1", "A - 0.1", "A / 3.0", "0.1 * A",
    "A * 3", "A + 1", "2.5 - A", "1 / A", "A ** 2", "B ** 0.5", "B.abs() ** 1.3", "-A", "A.abs()",
    "B.abs().sqrt()", "B.exp()", "A.sin()", "A.cos()", "A.tanh()", "A.sigmoid()",
    "B.abs().log()", "B.abs().log1p()", "A.relu()", "torch.maximum(A, B)", "A.sign()",
    "A.sum()", "A.mean()", "(A * 100).sum()", "A.reshape(2, 5).sum(1)", "A.reshape(2, 5).mean(0)",
    "A.max()", "torch.nn.functional.softmax(A.reshape(2, 5) / 50, 1)",
    "torch.nn.functional.log_softmax(A.reshape(2, 5) / 50, 1)", "A.reshape(2, 5) @ B.reshape(5, 2)",
    "A.reshape(5, 2).t() @ B.reshape(5, 2)", "torch.ones(300, dtype=torch.float16).mul(0.1).sum()",
    "torch.full((1000,), 0.1, dtype=torch.float16).sum()",
    "torch.full((2049,), 1.0, dtype=torch.float16).sum()",
    "A.float() * B", "A * B.double()", "A + torch.tensor(0.1)", "A + torch.tensor(1e-3, dtype=torch.float64)",
    "A > B", "A == A.float()", "(A * B).sum()", "A.pow(3)", "(A / 7).exp()",
]

PROMOTION_SCALAR_EXPR = "torch.result_type(torch.ones(2, dtype=torch.{d}), {s})"
PROMOTION_ZERO_DIM_EXPR = "(torch.ones(2, dtype=torch.{a}) + torch.ones((), dtype=torch.{b})).dtype"
PROMOTION_ZERO_ZERO_EXPR = "(torch.ones((), dtype=torch.{a}) + torch.ones((), dtype=torch.{b})).dtype"
PROMOTION_ZERO_SCALAR_EXPR = "(torch.ones((), dtype=torch.{d}) + {s}).dtype"
PROMOTE_TYPES_EXPR = "torch.promote_types(torch.{a}, torch.{b})"
RESULT_TYPE_EXPR = "torch.result_type(torch.ones(2, dtype=torch.{a}), torch.ones(2, dtype=torch.{b}))"


def promotion_cases() -> list[str]:
    out = []
    for a in DTYPES:
        for b in DTYPES:
            out += [PROMOTE_TYPES_EXPR.format(a=a, b=b), RESULT_TYPE_EXPR.format(a=a, b=b),
                    PROMOTION_ZERO_DIM_EXPR.format(a=a, b=b),
                    PROMOTION_ZERO_ZERO_EXPR.format(a=a, b=b)]
        for s in SCALARS:
            out += [PROMOTION_SCALAR_EXPR.format(d=a, s=s),
                    PROMOTION_ZERO_SCALAR_EXPR.format(d=a, s=s)]
    out += ["torch.result_type(2, 3.5)", "torch.result_type(True, 2)",
            "torch.result_type(torch.tensor(1, dtype=torch.int8), 2.5)",
            "(torch.tensor([1], dtype=torch.int8) + 300).dtype",
            "(torch.tensor([1], dtype=torch.uint8) + (-1)).dtype"]
    return out


DEFAULT_DTYPE_CASES = [  # run between set_default_dtype(torch.float64) and its undoing
    "torch.get_default_dtype()", "torch.tensor([1.0, 2.0])", "torch.tensor(1.5)",
    "torch.ones(2)", "torch.zeros(2, 2).dtype", "torch.arange(0.0, 2.0)", "torch.arange(3)",
    "torch.full((2,), 1.5)", "torch.tensor([1, 2]) + 0.5", "torch.tensor([1, 2]) * 1.5",
    "torch.tensor([1.0], dtype=torch.float32) * 2.5", "torch.rand(2).dtype",
    "torch.randn(2).dtype", "torch.linspace(0, 1, 3)", "torch.Tensor([1, 2])",
    "torch.tensor([1, 2]).float().dtype", "torch.eye(2).dtype", "torch.empty(2).dtype",
    "torch.tensor([1, 2]) / 2", "torch.tensor([True]) + 0.5",
]

LEGACY_CASES = [
    "torch.Tensor([-4.0])", "torch.Tensor([1, 2])", "torch.Tensor(2, 3).shape",
    "torch.Tensor(2, 3).dtype", "torch.Tensor().shape", "torch.Tensor([[1, 2], [3, 4]])",
    "torch.FloatTensor([1, 2])", "torch.DoubleTensor([1, 2])", "torch.LongTensor([1, 2])",
    "torch.IntTensor([1, 2])", "torch.BoolTensor([True, False])", "torch.ByteTensor([1, 2])",
    "torch.HalfTensor([1.5, 2])", "torch.ShortTensor([1, 2])", "torch.CharTensor([1, 2])",
    "torch.LongTensor(3).shape", "torch.FloatTensor(2, 2).dtype",
    "isinstance(torch.tensor([1.0]), torch.Tensor)", "isinstance(torch.Tensor([1.0]), torch.Tensor)",
    "type(torch.Tensor([1.0])).__name__",
    "torch.Tensor([-4.0]).requires_grad", "torch.Tensor(torch.tensor([1.0, 2.0]))",
]


def all_cases() -> list[str]:
    return (PRINT_CASES + OVERFLOW_CASES + CONVERSION_CASES + GRAD_CASES + F16_CASES
            + promotion_cases() + LEGACY_CASES)
