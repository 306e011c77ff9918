"""`F.embedding`, `F.layer_norm` and `F.batch_norm`: lookups and normalisations as
compositions of tensor operations, so both eager backward and the IR's differentiation
pass (first and second order) follow from the primitives' rules.

Each is one grad_fn under PyTorch's name. Running statistics are updated in place
without recording, in float64 and rounded once, as PyTorch's CPU kernel does (its
accumulation type for float32 is double).
"""
from __future__ import annotations

import math

from ..ir import dtypes
from ..ir import primitives as P
from ..tracer import ops_elementwise as E
from ..tracer import ops_reduce as R
from ..tracer import ops_shape as S
from ..tracer.errors import TracerError
from ..tracer.grad_mode import no_grad
from ..tracer.ops_core import in_float32
from ..tracer.ops_math import rsqrt
from ..tracer.tape import bind, grad_node
from ..tracer.tensor import Tensor

_INDEX_DTYPES = (dtypes.i64, dtypes.i32)


def _frozen(x: Tensor) -> Tensor:
    return bind(P.stop_gradient, x)


def _with_grad_scale(out: Tensor, scale: Tensor) -> Tensor:
    """`out` unchanged in value (out - out is exactly 0) whose gradient is scaled by
    `scale`: how padding rows get no gradient and scale_grad_by_freq divides by counts."""
    frozen = _frozen(out)
    return E.add(frozen, E.mul(E.sub(out, frozen), scale))


def _padding_index(padding_idx, rows: int):
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise AssertionError(f"Padding_idx must be within num_embeddings (got padding_idx="
                             f"{padding_idx} for {rows} embeddings)")
    return padding_idx % rows


def _renorm_rows(weight: Tensor, indices, max_norm: float, norm_type: float) -> None:
    """Rows that `indices` reach and whose norm exceeds max_norm are scaled in place to
    max_norm / (norm + 1e-7), unrecorded, as PyTorch's embedding_renorm_."""
    import numpy as np
    rows = np.unique(np.asarray(indices).reshape(-1))
    data = weight.detach().numpy()
    norms = np.linalg.norm(data[rows].astype(np.float64), ord=norm_type, axis=1)
    big = rows[norms > max_norm]
    if big.size:
        scale = max_norm / (norms[norms > max_norm] + 1e-7)
        data[big] = (data[big] * scale[:, None]).astype(data.dtype)


def embedding(input: Tensor, weight: Tensor, padding_idx=None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """weight[input]: rows of `weight` picked by integer indices of any shape."""
    if not isinstance(input, Tensor) or input.dtype not in _INDEX_DTYPES:
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {got} instead "
                           "(while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got a {weight.ndim}-D tensor of shape "
                           f"{list(weight.shape)} (embedding)")
    if sparse:
        raise NotImplementedError("embedding(sparse=True): tapegrad has no sparse gradients "
                                  "(see docs/torch-coverage.md)")
    rows = weight.shape[0]
    padding_idx = _padding_index(padding_idx, rows)
    if input._data is not None:
        idx = input._data
        if idx.size and (idx.min() < 0 or idx.max() >= rows):
            raise IndexError(f"index out of range in self (embedding of {rows} rows got index "
                             f"{int(idx.max() if idx.max() >= rows else idx.min())})")
        if max_norm is not None:
            _renorm_rows(weight, idx, max_norm, norm_type)
    elif max_norm is not None:
        raise NotImplementedError("embedding(max_norm=...) renormalises the weight's rows in "
                                  "place, which a traced function cannot do; renormalise "
                                  "outside it")
    with grad_node("EmbeddingBackward0", weight):
        out = weight[input]
        if padding_idx is None and not scale_grad_by_freq:
            return out
        kept = E.ne(input, padding_idx if padding_idx is not None else -1)
        scale = S.to_dtype(kept, weight.dtype)
        if scale_grad_by_freq:
            iota = bind(P.iota, type=input._type.with_dtype(dtypes.i64).with_shape(
                (*input.shape, rows)), axis=input.ndim)
            onehot = S.to_dtype(E.eq(S.unsqueeze(input, -1), iota), weight.dtype)
            counts = R.sum(onehot, tuple(range(input.ndim)))      # occurrences of each row
            per_index = R.sum(E.mul(onehot, counts), -1)           # count of input[i]'s row
            scale = E.div(scale, per_index)
        return _with_grad_scale(out, S.unsqueeze(scale, -1))


def _normalized_dims(input: Tensor, normalized_shape) -> tuple:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    return shape, tuple(range(input.ndim - k, input.ndim))


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None,
               eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing normalized_shape
    dims, var biased (divided by the count), as PyTorch's."""
    shape, dims = _normalized_dims(input, normalized_shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    inputs = [t for t in (input, weight, bias) if t is not None]
    with grad_node("NativeLayerNormBackward0", *inputs):
        def normalise(x):
            mean = R.mean(x, dims, keepdim=True)
            centred = E.sub(x, mean)
            var = R.mean(E.mul(centred, centred), dims, keepdim=True)
            return E.mul(centred, rsqrt(E.add(var, eps)))
        y = in_float32(input, normalise)
        if weight is not None:
            y = E.mul(y, weight)
        if bias is not None:
            y = E.add(y, bias)
        return y


def _channel_shape(input: Tensor) -> list:
    return [input.shape[1] if i == 1 else 1 for i in range(input.ndim)]


def _check_channels(input: Tensor, tensors: dict) -> None:
    channels = input.shape[1]
    for name, t in tensors.items():
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


def _update_running_stats(input: Tensor, dims: tuple, count: int, running_mean, running_var,
                          momentum: float) -> None:
    """running = (1 - momentum) running + momentum batch (mean, unbiased variance), with
    the batch statistics and the mix in float64, rounded once into the buffers, as
    PyTorch's CPU kernel accumulates in double; unrecorded."""
    try:
        _mix_running_stats(input, dims, count, running_mean, running_var, momentum)
    except TracerError as e:
        raise running_stats_error() from e


def running_stats_error() -> TracerError:
    return TracerError(
        "batch_norm in training mode updates running_mean/running_var in place, and a "
        "traced function cannot update the module's own buffers: pass them with the "
        "parameters (functional_call(model, {**params, **dict(model.named_buffers())}, "
        "...)), or use model.eval() or track_running_stats=False")


def _mix_running_stats(input: Tensor, dims: tuple, count: int, running_mean, running_var,
                       momentum: float) -> None:
    with no_grad():
        x = S.to_dtype(input.detach(), dtypes.f64)
        mean = R.mean(x, dims)
        for stat, batch_value in ((running_mean, mean), (running_var, None)):
            if stat is None:
                continue
            if batch_value is None:
                centred = E.sub(x, S.reshape(mean, _channel_shape(input)))
                batch_value = E.div(R.sum(E.mul(centred, centred), dims), max(count - 1, 1))
            mixed = E.add(E.mul(S.to_dtype(stat, dtypes.f64), 1.0 - momentum),
                          E.mul(batch_value, momentum))
            stat.copy_(S.to_dtype(mixed, stat.dtype))


def batch_norm(input: Tensor, running_mean, running_var, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalises each channel (dim 1) over the batch and any trailing dims.

    Training: by the batch's mean and biased variance, and moves the running stats
    toward the batch's mean and unbiased variance. Otherwise: by the running stats."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects an input of at least 2 dims (N, C, ...), got "
                         f"{list(input.shape)}")
    _check_channels(input, {"running_mean": running_mean, "running_var": running_var,
                            "weight": weight, "bias": bias})
    dims = tuple(i for i in range(input.ndim) if i != 1)
    count = math.prod(input.shape[i] for i in dims)
    if training and count == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    cshape = _channel_shape(input)
    inputs = [t for t in (input, weight, bias) if t is not None]
    with grad_node("NativeBatchNormBackward0", *inputs):
        if training:
            mean = R.mean(input, dims, keepdim=True)
            centred = E.sub(input, mean)
            var = R.mean(E.mul(centred, centred), dims, keepdim=True)
        else:
            mean = S.reshape(running_mean, cshape)
            centred = E.sub(input, mean)
            var = S.reshape(running_var, cshape)
        y = E.mul(centred, rsqrt(E.add(var, eps)))
        if weight is not None:
            y = E.mul(y, S.reshape(weight, cshape))
        if bias is not None:
            y = E.add(y, S.reshape(bias, cshape))
    if training and (running_mean is not None or running_var is not None):
        _update_running_stats(input, dims, count, running_mean, running_var, momentum)
    return y
