"""Shape operations and matrix products: views, transposes, matmul, cat and stack.

Views that numpy can express without copying share the input's buffer, as
PyTorch's views share storage, and then also share its version counter so an
in-place change through either is seen by the tape.
"""
from __future__ import annotations

import numpy as np

from ..ir import dtypes
from ..ir import primitives as P
from .errors import at, user_loc
from .ops_core import convert, result_dtype, tensor_type
from .ops_elementwise import as_tensor
from .eager_direct import matmul_vector as _direct_matmul_vector
from .tape import bind, bind_op, grad_node
from .tensor import Tensor, _wrap_dim


def _shared_view(out: Tensor, base: Tensor) -> Tensor:
    """Let a view that shares `base`'s buffer share its version counter too."""
    if out._data is not None and base._data is not None and out is not base and \
            np.shares_memory(out._data, base._data):
        out._version = base._version
        out._base = base._base if base._base is not None else base
        if out._grad_fn is not None and id(out._value) in out._grad_fn.saved:
            saved = out._grad_fn.saved[id(out._value)]
            saved.version_box, saved.version = base._version, base._version[0]
    return out


def _size_args(size) -> tuple:
    """`*ints` or one sequence, as PyTorch's size arguments."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(d) for d in size)


def _infer_shape(shape: tuple, numel: int, op: str) -> tuple:
    """Resolve one -1 entry, with PyTorch's message when the sizes disagree."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(d < -1 for d in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = 1
    for d in shape:
        if d != -1:
            known *= d
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}"
                               f"{at(user_loc())}")
        shape = tuple(numel // known if d == -1 else d for d in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}"
                           f"{at(user_loc())}")
    return shape


def _reshape(x: Tensor, shape: tuple) -> Tensor:
    return x if x.shape == shape else bind(P.reshape, x, shape=shape)


def _is_contiguous(x: Tensor) -> bool:
    return x._data is None or x._data.flags.c_contiguous


def view(input, *shape):
    x = as_tensor(input)
    shape = _infer_shape(_size_args(shape), x.numel(), "view")
    with grad_node("ViewBackward0", x):
        return _shared_view(bind(P.reshape, x, shape=shape), x)


def reshape(input, *shape):
    """A view when the data is contiguous (ViewBackward0), else a copy (UnsafeViewBackward0)."""
    x = as_tensor(input)
    shape = _infer_shape(_size_args(shape), x.numel(), "reshape")
    name = "ViewBackward0" if _is_contiguous(x) else "UnsafeViewBackward0"
    with grad_node(name, x):
        return _shared_view(bind(P.reshape, x, shape=shape), x)


def flatten(input, start_dim=0, end_dim=-1):
    x = as_tensor(input)
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = _wrap_dim(start_dim, x.ndim), _wrap_dim(end_dim, x.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return x
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def unsqueeze(input, dim):
    x = as_tensor(input)
    d = _wrap_dim(dim, x.ndim + 1)
    with grad_node("UnsqueezeBackward0", x):
        return _shared_view(bind(P.reshape, x, shape=x.shape[:d] + (1,) + x.shape[d:]), x)


def squeeze(input, dim=None):
    x = as_tensor(input)
    if dim is None:
        axes, name = [i for i, d in enumerate(x.shape) if d == 1], "SqueezeBackward0"
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = [a for a in (_wrap_dim(d, x.ndim) for d in dims) if x.ndim and x.shape[a] == 1]
        name = "SqueezeBackward1" if isinstance(dim, int) else "SqueezeBackward2"
    with grad_node(name, x):
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return _shared_view(bind(P.reshape, x, shape=shape), x)


def expand(input, *sizes):
    """Broadcast to `sizes` (-1 keeps a dim): a read-only view, as PyTorch's expand."""
    x = as_tensor(input)
    sizes = _size_args(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(x.shape)}}}, size={list(sizes)}): "
                           "the number of sizes provided must be greater or equal to the "
                           "number of dimensions in the tensor")
    shape = tuple(x.shape[i - lead] if d == -1 and i >= lead else d for i, d in enumerate(sizes))
    for i, (have, want) in enumerate(zip(x.shape, shape[lead:])):
        if have != want and have != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({want}) must match the existing size "
                f"({have}) at non-singleton dimension {i + lead}.  Target sizes: "
                f"{list(sizes)}.  Tensor sizes: {list(x.shape)}{at(user_loc())}")
    with grad_node("ExpandBackward0", x):
        return _shared_view(bind(P.broadcast, x, shape=shape), x)


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, shape):
    return expand(input, tuple(shape))


def _permute(x: Tensor, perm: tuple, name: str) -> Tensor:
    with grad_node(name, x):
        return _shared_view(bind(P.transpose, x, perm=perm), x)


def permute(input, *dims):
    x = as_tensor(input)
    perm = tuple(_wrap_dim(d, x.ndim) for d in _size_args(dims))
    if sorted(perm) != list(range(x.ndim)):
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                           f"does not match the length of the desired ordering of dimensions "
                           f"i.e. input.dim() = {x.ndim} is not equal to len(dims) = {len(perm)}"
                           if len(perm) != x.ndim else "permute(): duplicate dims are not allowed.")
    return _permute(x, perm, "PermuteBackward0")


def transpose(input, dim0, dim1):
    x = as_tensor(input)
    a, b = _wrap_dim(dim0, x.ndim), _wrap_dim(dim1, x.ndim)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return _permute(x, tuple(perm), "TransposeBackward0")


swapaxes = transpose


def t(input):
    x = as_tensor(input)
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return _permute(x, tuple(reversed(range(x.ndim))), "TBackward0")


def T(x: Tensor) -> Tensor:
    """`x.T`: all dims reversed."""
    return _permute(x, tuple(reversed(range(x.ndim))), "PermuteBackward0")


# ---------------------------------------------------------------- products


def _matmul_error(a: Tensor, b: Tensor, op: str) -> RuntimeError:
    fmt = lambda s: "x".join(str(d) for d in s)
    return RuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied "
                        f"({fmt(a.shape)} and {fmt(b.shape)}){at(user_loc())}")


def _float_pair(a: Tensor, b: Tensor, op: str):
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{op}: expected m1 and m2 to have the same dtype, but got: "
                           f"{_type_name(a.dtype)} != {_type_name(b.dtype)}")
    if not a.dtype.is_float:  # numpy can, but our matmul primitive is float-only
        return convert(a, dtypes.f32), convert(b, dtypes.f32), True
    return a, b, False


def _type_name(dt) -> str:
    return {"f16": "c10::Half", "f32": "float", "f64": "double", "i64": "long int", "i32": "int",
            "i16": "short int", "i8": "signed char", "u8": "unsigned char",
            "bool": "bool"}[dt.name]


def _matmul_nd(a: Tensor, b: Tensor, op: str) -> Tensor:
    """Matrix product with 1-d operands promoted and batch dims broadcast (no grad node)."""
    a2 = bind(P.reshape, a, shape=(1,) + a.shape) if a.ndim == 1 else a
    b2 = bind(P.reshape, b, shape=b.shape + (1,)) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise _matmul_error(a, b, op)
    from .ops_core import broadcast_shapes, broadcast_to
    batch = broadcast_shapes(op, a2.shape[:-2], b2.shape[:-2])
    a3 = broadcast_to(a2, batch + a2.shape[-2:])
    b3 = broadcast_to(b2, batch + b2.shape[-2:])
    out = bind(P.matmul, a3, b3)
    shape = batch + (a2.shape[-2:-1] if a.ndim > 1 else ()) + (b2.shape[-1:] if b.ndim > 1 else ())
    return out if out.shape == shape else bind(P.reshape, out, shape=shape)


def _matmul_node(a: Tensor, b: Tensor) -> str:
    """The grad_fn PyTorch's matmul ends with for these ranks."""
    ranks = (a.ndim, b.ndim)
    return {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4",
            (2, 2): "MmBackward0"}.get(ranks) or (
        "BmmBackward0" if ranks == (3, 3) and a.shape[0] == b.shape[0] else "UnsafeViewBackward0")


def _matmul_direct(input, other):
    """matmul of float tensors of one dtype without the general path's node and promotion:
    two matrices are mm's one primitive (the same MmBackward0), a 1-d operand is
    eager_direct's; None for everything else."""
    if input.__class__ is not Tensor or other.__class__ is not Tensor:
        return None
    t, u = input._type, other._type
    if len(t.shape) == 2 and len(u.shape) == 2:
        if t.dtype is u.dtype and t.dtype.is_float and t.shape[1] == u.shape[0]:
            return mm(input, other)
        return None
    return _direct_matmul_vector(input, other)


def matmul(input, other):
    out = _matmul_direct(input, other)
    if out is not None:
        return out
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    with grad_node(_matmul_node(a, b), a, b):
        a2, b2, cast = _float_pair(a, b, "matmul")
        out = _matmul_nd(a2, b2, "matmul")
        return convert(out, a.dtype) if cast else out


def _product(name: str, grad_name: str, a: Tensor, b: Tensor) -> Tensor:
    """One matmul primitive on operands already checked, promoted as PyTorch does."""
    with grad_node(grad_name, a, b):
        a2, b2, cast = _float_pair(a, b, name)
        out = bind(P.matmul, a2, b2)
        return convert(out, a.dtype) if cast else out


def mm(input, mat2):
    if type(input) is Tensor and type(mat2) is Tensor:  # float matrices that fit: one primitive
        t, u = input._type, mat2._type
        if len(t.shape) == 2 and len(u.shape) == 2 and t.shape[1] == u.shape[0] and \
                t.dtype is u.dtype and t.dtype.is_float:
            return bind_op("MmBackward0", (input, mat2), P.matmul, (input, mat2), {},
                           tensor_type(t.dtype, (t.shape[0], u.shape[1])))
    a, b = as_tensor(input), as_tensor(mat2)
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise _matmul_error(a, b, "mm")
    return _product("mm", "MmBackward0", a, b)


def bmm(input, mat2):
    a, b = as_tensor(input), as_tensor(mat2)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise _matmul_error(a, b, "bmm")
    return _product("bmm", "BmmBackward0", a, b)


def dot(input, other):
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively{at(user_loc())}")
    return matmul(a, b)


# ---------------------------------------------------------------- cat / stack


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, "
                        f"not {type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    return [as_tensor(t) for t in tensors]


def cat(tensors, dim=0):
    xs = _tensor_list(tensors, "cat")
    # PyTorch skips legacy empty 1-d tensors when the others have more dims
    parts = [x for x in xs if not (x.ndim == 1 and x.shape[0] == 0)] or xs[:1]
    ref = parts[0]
    if ref.ndim == 0:
        raise RuntimeError(f"zero-dimensional tensor (at position {xs.index(ref)}) "
                           "cannot be concatenated")
    axis = _wrap_dim(dim, ref.ndim)
    for i, x in enumerate(parts):
        if x.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {x.ndim}{at(user_loc())}")
        for d in range(ref.ndim):
            if d != axis and x.shape[d] != ref.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size "
                    f"{ref.shape[d]} but got size {x.shape[d]} for tensor number {i} in the "
                    f"list.{at(user_loc())}")
    with grad_node("CatBackward0", *xs):
        dt = result_dtype(*parts)
        return bind(P.concatenate, *(convert(x, dt) for x in parts), axis=axis)


def stack(tensors, dim=0):
    xs = _tensor_list(tensors, "stack")
    for i, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(xs[0].shape)} at entry 0 and {list(x.shape)} at entry "
                               f"{i}{at(user_loc())}")
    axis = _wrap_dim(dim, xs[0].ndim + 1)
    shape = xs[0].shape[:axis] + (1,) + xs[0].shape[axis:]
    with grad_node("StackBackward0", *xs):
        dt = result_dtype(*xs)
        return bind(P.concatenate, *(bind(P.reshape, convert(x, dt), shape=shape) for x in xs),
                    axis=axis)


# ---------------------------------------------------------------- copies


def clone(input):
    """A copy with its own buffer (convert to the same dtype always copies)."""
    x = as_tensor(input)
    with grad_node("CloneBackward0", x):
        return bind(P.convert, x, dtype=x.dtype)


def contiguous(input):
    x = as_tensor(input)
    return x if _is_contiguous(x) else clone(x)


def to_dtype(x: Tensor, dtype) -> Tensor:
    """A new tensor of `dtype` (ToCopyBackward0); the same tensor when nothing changes."""
    if x.dtype is dtype:
        return x
    with grad_node("ToCopyBackward0", x):
        return bind(P.convert, x, dtype=dtype)
