"""The objects tapegrad saves for the round-trip checks, built the same way every time.

The recording script saves them with `tg.save` (and PyTorch loads the files);
the tests build them again and check `tg.save` still writes those exact bytes.
"""
from collections import OrderedDict

#: the model both libraries build: Linear(4, 3), ReLU, Linear(3, 2); and its input
MODEL_SEED = 0
MODEL_INPUT = [[1.0, 2.0, -1.0, -1.5], [-2.0, 1.5, 0.5, 2.0]]

DTYPE_VALUES = {
    "float16": [0.5, -2.0, 65504.0, 6e-08, float("inf"), float("nan")],
    "float32": [1.0, -0.1, 3.4e38, 1e-45, float("-inf"), float("nan")],
    "float64": [0.1, -1e308, 5e-324, 2.0 ** 60, float("inf"), -0.0],
    "int8": [-128, 127, 0, -1, 5, 42],
    "int16": [-32768, 32767, 0, -1, 300, 7],
    "int32": [-2 ** 31, 2 ** 31 - 1, 0, -1, 70000, 9],
    "int64": [-2 ** 63, 2 ** 63 - 1, 0, -1, 2 ** 40, 11],
    "uint8": [0, 255, 1, 128, 7, 200],
    "bool": [True, False, False, True, True, False],
}


def make_model(nn):
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def dtype_tensors(lib):
    return OrderedDict((name, lib.tensor(values, dtype=getattr(lib, name)).reshape(2, 3))
                       for name, values in DTYPE_VALUES.items())


def _views(tg):
    base = tg.arange(24.0).reshape(4, 6)
    other = tg.arange(10.0, dtype=tg.float64)
    return OrderedDict([("base", base), ("rows", base[1:3]), ("column", base[:, 2]),
                        ("transposed", base.t()), ("alone", other[2:7])])


def _nested(tg):
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    leaf = tg.tensor([0.5, 1.5], requires_grad=True)
    return {
        "list": [t, 1, 2.5, "text", None, True],
        "tuple": (t, (1, 2), ()),
        "dict": {"a": {"b": tg.tensor([7, 8], dtype=tg.int32)}, 3: "int key"},
        "ints": [2 ** 40, -5, -2 ** 70, 300, 70000, 0],
        "floats": [float("inf"), -0.0, 1e-300],
        "bytes": b"abc\x00\xff",
        "param": tg.nn.Parameter(tg.tensor([1.0, -1.0])),
        "frozen": tg.nn.Parameter(tg.tensor([2.0]), requires_grad=False),
        "leaf": leaf,
        "set": {1, 2, 3},
        "complex": 1 + 2j,
        "scalar": tg.tensor(3.5),
        "empty": tg.zeros(0, 3),
        "same tensor twice": [leaf, leaf],
        "ordered": OrderedDict([("z", 1), ("a", 2)]),
    }


def _extras(tg):
    """Past one APPENDS/SETITEMS batch (1000 items), and the less common leaves."""
    return [tg.float16, tg.device("cpu"), tg.ones(2, 3).shape, bytearray(b"xy"),
            list(range(1100)), {i: -i for i in range(1001)}, 2 ** 100, -2 ** 31, 2 ** 31]


def _model(tg):
    tg.manual_seed(MODEL_SEED)
    return make_model(tg.nn).state_dict()


def resume_step(lib, model, optimizer):
    """One training step of the resume check (both libraries run it)."""
    optimizer.zero_grad()
    model(lib.tensor(MODEL_INPUT)).pow(2).sum().backward()
    optimizer.step()


def _resume(tg):
    """A checkpoint to resume training from: the model and Adam after one step."""
    tg.manual_seed(MODEL_SEED)
    model = make_model(tg.nn)
    optimizer = tg.optim.Adam(model.parameters(), lr=0.01)
    resume_step(tg, model, optimizer)
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict()}


TAPEGRAD_CASES = {"tg_dtypes": dtype_tensors, "tg_views": _views, "tg_nested": _nested,
                  "tg_model": _model, "tg_extras": _extras, "tg_resume": _resume}


def tapegrad_case(tg, name: str):
    """The object `tg.save` writes to <name>.pt."""
    return TAPEGRAD_CASES[name](tg)
