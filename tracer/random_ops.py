"""The random tensor functions (`tg.rand`, `tg.randn`, `tg.randint`, `tg.randperm`,
`tg.normal`, `tg.bernoulli`, the `*_like` ones) and the in-place fills
(`normal_`, `uniform_`, `bernoulli_`, `random_`, `exponential_`, ...), drawing
PyTorch's CPU numbers from a `Generator` (random_fill has the arithmetic).

A fill writes the tensor's memory in address order, as PyTorch's serial kernels
do, so a transposed view gets the numbers PyTorch gives it. Random results are
constants for autograd: where PyTorch keeps a graph (an in-place fill of a
non-leaf, `normal(mean_tensor)`, `bernoulli(p_tensor)`), the gradient is zero, as
there.
"""
from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from ..ir import dtypes
from . import creation as _creation
from . import ops_elementwise as E
from . import ops_inplace as IP
from . import random_fill as RF
from .creation import _plain_size, as_dtype, check_device, size_of
from .errors import TracerError, at, user_loc
from .grad_mode import is_grad_enabled
from .ops_core import broadcast_shapes, scalar_constant, tensor_type
from .random_generator import generator_or_default
from .tape import _tracing, grad_node
from .tensor import Tensor

_TYPE_NAME = {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool",
              "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
              "float16": "Half"}


def default_float() -> dtypes.DType:
    """The dtype random floats get when none is asked for (tg.get_default_dtype's, once
    creation has one)."""
    getter = getattr(_creation, "get_default_dtype", None)
    return getter() if getter is not None else dtypes.f32


def _stream(generator):
    """The generator to draw from; refused inside a traced function, where a draw would
    happen once at trace time and repeat on every call (PyTorch draws afresh each time)."""
    if _tracing():
        raise TracerError("random numbers cannot be drawn inside a function being traced "
                          "(tg.compile, tg.grad, ...): they would be drawn once and repeated "
                          "on every call; draw them outside and pass them in" + at(user_loc()))
    return generator_or_default(generator)


def _float_dtype(dtype, op: str) -> dtypes.DType:
    dt = as_dtype(dtype, default_float())
    if not dt.is_float:
        raise RuntimeError(f'"{op}" not implemented for \'{_TYPE_NAME.get(dt.torch_name, dt)}\''
                           + at(user_loc()))
    return dt


def _unsupported(op: str, out=None, layout=None) -> None:
    for name, value in (("out", out), ("layout", layout)):
        if value is not None and not (name == "layout" and str(value).endswith("strided")):
            raise NotImplementedError(f"tg.{op}({name}=...) is not supported (see "
                                      "docs/torch-coverage.md)")


def _new(values: np.ndarray, dt: dtypes.DType, shape: tuple, requires_grad: bool,
         dev=None) -> Tensor:
    if dev is not None:
        check_device(dev)
    if values.dtype != dt.np or not values.flags.c_contiguous:
        values = np.ascontiguousarray(values, dtype=dt.np)
    t = Tensor._make(values.reshape(shape), tensor_type(dt, tuple(shape)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape_from(shape: tuple, size) -> tuple:
    if size is not None:
        if shape:
            raise TypeError("size given both positionally and as size=")
        shape = (size,)
    plain = _plain_size(shape)  # plain ints: size_of's result without its checks' steps
    return plain if plain is not None else size_of(shape)


def _count(shape) -> int:
    return math.prod(shape)  # size_of checked the dimensions: ints whose product fits


# ---------------------------------------------------------------- memory order


def _memory_order(a: np.ndarray) -> np.ndarray:
    """A view of `a` whose C order is its address order (strides sorted, largest first)."""
    if a.flags.c_contiguous or a.ndim < 2:
        return a
    return a.transpose(_address_axes(a))


def _address_axes(a: np.ndarray) -> list[int]:
    return sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))


def _values_in_memory_order(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(_memory_order(a)).ravel()


def _fill(t: Tensor, op: str, values_for) -> Tensor:
    """Write `values_for(n, np_dtype, contiguous)` into t's memory in address order.
    Recorded like PyTorch's in-place fills: a non-leaf keeps a graph with zero gradient."""
    data = t._check_concrete(f"Tensor.{op}")
    if IP._records(t):
        IP.check_inplace(t)
        fresh = Tensor._make(data.copy(order="K"), t._type)
        _write(fresh._data, values_for(data.size, data.dtype, data.flags.c_contiguous))
        name = op[0].upper() + op[1:-1] + "Backward0"
        return IP._inplace(t, name, (t,), lambda: IP._overwrite(t, fresh))
    IP.check_inplace(t)
    if not data.flags.writeable:
        raise RuntimeError(f"Tensor.{op}: the tensor's memory is read-only" + at(user_loc()))
    _write(data, values_for(data.size, data.dtype, data.flags.c_contiguous))
    t._version[0] += 1
    return t


def _write(a: np.ndarray, values: np.ndarray) -> None:
    view = _memory_order(a)
    view[...] = np.asarray(values).reshape(view.shape)


# ---------------------------------------------------------------- creation functions


def rand(*shape, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    _unsupported("rand", out, layout)
    dt, shape = _float_dtype(dtype, "check_uniform_bounds"), _shape_from(shape, size)
    g = _stream(generator)
    return _new(RF.unit_floats(g, _count(shape), dt.np), dt, shape, requires_grad, device)


def randn(*shape, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    _unsupported("randn", out, layout)
    dt, shape = _float_dtype(dtype, "normal_kernel_cpu"), _shape_from(shape, size)
    g = _stream(generator)
    return _new(RF.normal(g, _count(shape), dt.np, 0.0, 1.0), dt, shape, requires_grad, device)


def _int_bounds(dt: dtypes.DType) -> tuple[int, int]:
    """The inclusive range `random_` may produce in dtype dt (floats: the exact integers)."""
    if dt.is_float:
        digits = np.finfo(dt.np).nmant + 1
        return -(1 << digits), 1 << digits
    if dt.np == np.bool_:
        return 0, 1
    info = np.iinfo(dt.np)
    return int(info.min), int(info.max)


def _check_from_to(low: int, high: int, dt: dtypes.DType, op="random_") -> None:
    if not low < high:
        raise RuntimeError(f"{op} expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}" + at(user_loc()))
    lo, hi = _int_bounds(dt)
    if dt.is_float and not (lo <= low and high - 1 <= hi):
        warnings.warn(f"{op}: bounds outside [{lo}, {hi}]: {dt.torch_name} cannot hold every "
                      "integer there, and PyTorch's numbers for such ranges are not "
                      "reproduced for float32", stacklevel=3)
    if not dt.is_float and not (lo <= low and high - 1 <= hi):
        which, value = ("from", low) if low < lo else ("to - 1", high - 1)
        raise RuntimeError(f"{which} is out of bounds for {dt.torch_name}: {value}"
                           + at(user_loc()))


def _as_int(v, what: str) -> int:
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, (builtins.bool, np.bool_)) or not isinstance(v, (builtins.int, np.integer)):
        raise TypeError(f"randint(): argument '{what}' must be int, not {type(v).__name__}")
    return int(v)


def randint(*args, low=None, high=None, size=None, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """`randint(high, size)` or `randint(low, high, size)` (keywords too), int64 unless dtype."""
    _unsupported("randint", out, layout)
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        (low, high) = (args[0], high) if high is not None else (low, args[0])
    elif args:
        raise TypeError(f"randint() takes low, high and size, got {len(args)} numbers")
    if high is None or size is None:
        raise TypeError("randint() missing required arguments 'high' and 'size'")
    low, high = _as_int(0 if low is None else low, "low"), _as_int(high, "high")
    dt = as_dtype(dtype, dtypes.i64)
    _check_from_to(low, high, dt)
    shape = size_of((tuple(size),) if isinstance(size, (tuple, list)) else (size,))
    g = _stream(generator)
    values = RF.random_from_to(g, _count(shape), high - low, low, dt.np)
    return _new(values, dt, shape, requires_grad, device)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    _unsupported("randperm", out, layout)
    n = _as_int(n, "n")
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}" + at(user_loc()))
    dt = as_dtype(dtype, dtypes.i64)
    if dt.is_float and n > (1 << (np.finfo(dt.np).nmant + 1)) + 1:
        raise RuntimeError(f"n cannot be greater than 2^{np.finfo(dt.np).nmant + 1}+1 for "
                           f"{dt.torch_name} dtype" + at(user_loc()))
    g = _stream(generator)
    return _new(RF.randperm(g, n), dt, (n,), requires_grad, device)


def _like(make):
    def op(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
           memory_format=None, generator=None) -> Tensor:
        return make(*input.shape, dtype=dtype or input.dtype, device=device,
                    requires_grad=requires_grad, generator=generator)
    op.__name__ = make.__name__ + "_like"
    return op


rand_like = _like(rand)
randn_like = _like(randn)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, device=device,
                   requires_grad=requires_grad, generator=generator)


# ---------------------------------------------------------------- normal and bernoulli


def _zero_grad_through(values: Tensor, name: str, *inputs: Tensor) -> Tensor:
    """`values` with a graph to `inputs` whose gradient is zero (PyTorch's derivative for
    normal's mean/std and bernoulli's probabilities)."""
    tracked = [x for x in inputs if isinstance(x, Tensor) and x._requires_grad]
    if not tracked or not is_grad_enabled():
        return values
    with grad_node(name, *tracked):
        out = values
        for x in tracked:
            mask = scalar_constant(True, dtypes.bool_, values.shape)
            out = E.where(mask, out, E.to_float(x) if not x.dtype.is_float else x)
        return out


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """PyTorch's overloads: (Tensor, Tensor), (Tensor, float), (float, Tensor) draw standard
    normals then scale and shift them; (float, float, size) fills like `normal_`."""
    _unsupported("normal", out, layout)
    g = _stream(generator)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (mean_t or std_t):
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: "
                            "(float mean, float std) needs size")
        shape = size_of((tuple(size),) if isinstance(size, (tuple, list)) else (size,))
        dt = _float_dtype(dtype, "normal_kernel_cpu")
        _check_std(float(std))
        values = RF.normal(g, _count(shape), dt.np, float(mean), float(std))
        return _new(values, dt, shape, requires_grad, device)
    dt = (mean if mean_t else std).dtype
    if std_t and std._data is not None and std._data.size and np.any(std._data < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0" + at(user_loc()))
    shape = broadcast_shapes("normal", mean.shape if mean_t else (), std.shape if std_t else ())
    n = _count(shape)
    m = mean._check_concrete("tg.normal") if mean_t else dt.np.type(mean)
    s = std._check_concrete("tg.normal") if std_t else None
    if std_t:  # output.normal_(0, 1); output.mul_(std).add_(mean), each rounded in dt
        z = RF.normal(g, n, dt.np, 0.0, 1.0).reshape(shape)
        values = (z * s.astype(dt.np, copy=False)).astype(dt.np) + np.asarray(m, dt.np)
    else:  # output.normal_(0, std); output.add_(mean)
        _check_std(float(std))
        z = RF.normal(g, n, dt.np, 0.0, float(std)).reshape(shape)
        values = z + np.asarray(m, dt.np)
    result = _new(values.astype(dt.np), dt, shape, False)
    return _zero_grad_through(result, "NormalBackward" + ("3" if mean_t and std_t else
                                                           "1" if mean_t else "2"),
                              mean if mean_t else None, std if std_t else None)


def _check_std(std: float) -> None:
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}" + at(user_loc()))


def _check_p(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}"
                           + at(user_loc()))
    return p


def _probabilities(p: Tensor) -> np.ndarray:
    data = p._check_concrete("bernoulli")
    if not p.dtype.is_float:
        raise RuntimeError(f'"bernoulli_tensor_cpu_p_" not implemented for '
                           f"'{_TYPE_NAME.get(p.dtype.torch_name, p.dtype)}'" + at(user_loc()))
    if data.size and (np.any(~(data >= 0)) or np.any(data > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false."
                           + at(user_loc()))
    return data


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """`bernoulli(probs)`: one draw per probability; `bernoulli(x, p)`: x's shape and dtype
    filled with probability p."""
    _unsupported("bernoulli", out)
    g = _stream(generator)
    data = input._check_concrete("tg.bernoulli")
    if p is None:
        probs = _values_in_memory_order(_probabilities(input))
        drawn = RF.bernoulli_tensor(g, probs)
        result = Tensor._make(np.empty_like(data), input._type)
        _write(result._data, drawn.astype(data.dtype))
        return _zero_grad_through(result, "BernoulliBackward0", input)
    result = Tensor._make(np.empty_like(data), input._type)
    _write(result._data, RF.bernoulli_scalar(g, data.size, _check_p(p)).astype(data.dtype))
    return _zero_grad_through(result, "BernoulliBackward1", input)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None,
                out=None) -> Tensor:
    """Indices drawn from each row's categories (weights need not sum to one)."""
    _unsupported("multinomial", out)
    data = input._check_concrete("tg.multinomial")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim" + at(user_loc()))
    if not input.dtype.is_float:
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_TYPE_NAME.get(input.dtype.torch_name, input.dtype)}"
                           + at(user_loc()))
    n = _as_int(num_samples, "num_samples")
    if n <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples" + at(user_loc()))
    if not replacement and n > input.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement" + at(user_loc()))
    probs = data.reshape(-1, data.shape[-1]) if data.ndim == 2 else data.reshape(1, -1)
    if probs.size and not (np.all(np.isfinite(probs)) and np.all(probs >= 0)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0"
                           + at(user_loc()))
    if probs.size and np.any(probs.sum(axis=1) == 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)"
                           + at(user_loc()))
    drawn = RF.multinomial(_stream(generator), np.ascontiguousarray(probs), n,
                           bool(replacement))
    shape = (n,) if input.ndim == 1 else (data.shape[0], n)
    return _new(drawn, dtypes.i64, shape, False)


# ---------------------------------------------------------------- Tensor methods (in place)


def _float_fill(t: Tensor, op: str):
    if not t.dtype.is_float:
        raise RuntimeError(f'"{op}" not implemented for '
                           f"'{_TYPE_NAME.get(t.dtype.torch_name, t.dtype)}'" + at(user_loc()))


def normal_(self, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    _float_fill(self, "normal_kernel_cpu")
    _check_std(float(std))
    g = _stream(generator)
    return _fill(self, "normal_", lambda n, d, contig: RF.normal(g, n, d, float(mean),
                                                                  float(std), contig))


def uniform_(self, a=0.0, b=1.0, *, generator=None, **kwargs) -> Tensor:
    low, high = float(kwargs.pop("from", a)), float(kwargs.pop("to", b))
    if kwargs:
        raise TypeError(f"uniform_() got unexpected keywords {sorted(kwargs)}")
    _float_fill(self, "uniform_kernel_cpu")
    if not low <= high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={low:g} > to={high:g}" + at(user_loc()))
    g = _stream(generator)
    return _fill(self, "uniform_", lambda n, d, contig: RF.uniform(g, n, d, low, high))


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    g = _stream(generator)
    if isinstance(p, Tensor):
        probs = _probabilities(p)
        shape = broadcast_shapes("bernoulli_", self.shape, p.shape)
        if shape != tuple(self.shape):
            raise RuntimeError(f"bernoulli_: p of shape {list(p.shape)} does not broadcast to "
                               f"the tensor's shape {list(self.shape)}" + at(user_loc()))
        # draw in the tensor's address order, each with the probability at that place
        data = self._check_concrete("Tensor.bernoulli_")
        aligned = np.broadcast_to(probs, shape)
        if not data.flags.c_contiguous:
            aligned = aligned.transpose(_address_axes(data))
        flat = np.ascontiguousarray(aligned).ravel()
        return _fill(self, "bernoulli_", lambda n, d, contig: RF.bernoulli_tensor(
            g, flat).astype(d))
    p = _check_p(p)
    return _fill(self, "bernoulli_", lambda n, d, contig: RF.bernoulli_scalar(g, n, p).astype(d))


def tensor_bernoulli(self, p=None, *, generator=None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def random_(self, *args, generator=None, **kwargs) -> Tensor:
    """`random_()`, `random_(to)`, `random_(from, to)` with to=None meaning the dtype's top."""
    if len(args) > 2 or set(kwargs) - {"from", "to"}:
        raise TypeError("random_() takes (from, to), (to) or nothing, and a generator")
    bounds = {"to": args[0]} if len(args) == 1 and not kwargs else dict(zip(("from", "to"), args))
    bounds.update(kwargs)
    g = _stream(generator)
    if not bounds:
        return _fill(self, "random_", lambda n, d, c: RF.random_default(g, n, d))
    dt = self.dtype
    low, high = _as_int(bounds.get("from", 0), "from"), bounds.get("to")
    if high is None:
        if low == -(1 << 63) and dt.np in (np.int64, np.float64, np.float32):
            return _fill(self, "random_", lambda n, d, c: RF.random_full_range(g, n, d))
        top = _int_bounds(dt)[1]
        _check_from_to(low, top + 1, dt)
        return _fill(self, "random_", lambda n, d, c: RF.random_from_to(g, n, top - low + 1,
                                                                          low, d))
    high = _as_int(high, "to")
    _check_from_to(low, high, dt)
    return _fill(self, "random_", lambda n, d, c: RF.random_from_to(g, n, high - low, low, d))


def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
    _float_fill(self, "exponential_cpu")
    if not float(lambd) > 0.0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}"
                           + at(user_loc()))
    g = _stream(generator)
    return _fill(self, "exponential_", lambda n, d, c: RF.exponential(g, n, float(lambd), d))


def geometric_(self, p, *, generator=None) -> Tensor:
    if not 0.0 < float(p) < 1.0:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}"
                           + at(user_loc()))
    g = _stream(generator)
    return _fill(self, "geometric_", lambda n, d, c: RF.geometric(g, n, float(p), d))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None) -> Tensor:
    _float_fill(self, "cauchy_cpu")
    g = _stream(generator)
    return _fill(self, "cauchy_", lambda n, d, c: RF.cauchy(g, n, float(median),
                                                              float(sigma), d))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None) -> Tensor:
    _float_fill(self, "log_normal_cpu")
    if not float(std) > 0.0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}"
                           + at(user_loc()))
    g = _stream(generator)
    return _fill(self, "log_normal_", lambda n, d, c: RF.log_normal(g, n, d, float(mean),
                                                                      float(std)))


# ---------------------------------------------------------------- dropout's mask


def dropout_noise(input: Tensor, p: float, generator=None) -> Tensor:
    """PyTorch's CPU dropout noise: a tensor laid out like input, filled in address order by
    bernoulli_(1 - p) (53-bit uniforms), divided by 1 - p in input's dtype."""
    data = input._check_concrete("dropout")
    keep = 1.0 - p
    g = _stream(generator)
    noise = data.copy(order="K")
    _write(noise, RF.bernoulli_scalar(g, data.size, keep).astype(data.dtype))
    noise /= data.dtype.type(keep)
    return Tensor._make(noise, input._type)


FUNCTIONS = {"rand": rand, "randn": randn, "randint": randint, "randperm": randperm,
             "normal": normal, "bernoulli": bernoulli, "multinomial": multinomial,
             "rand_like": rand_like,
             "randn_like": randn_like, "randint_like": randint_like}

METHODS = {"normal_": normal_, "uniform_": uniform_, "bernoulli_": bernoulli_,
           "bernoulli": tensor_bernoulli, "random_": random_, "exponential_": exponential_,
           "geometric_": geometric_, "cauchy_": cauchy_, "log_normal_": log_normal_,
           "multinomial": multinomial}


def attach() -> None:
    """Late registration of the in-place fills as Tensor methods."""
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)


attach()
