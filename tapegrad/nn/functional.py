"""`tg.nn.functional`: activations and losses with PyTorch's defaults (reduction='mean').

Most are compositions of tensor operations, written to stay finite for large
inputs (the logits form of binary cross entropy uses log1p(exp(-|x|)));
softmax and log_softmax are one primitive each, PyTorch's kernels' arithmetic.
"""
from __future__ import annotations

from ..ir import dtypes
from ..ir import primitives as P
from ..tracer import eager_direct as _direct
from ..tracer import ops_elementwise as E
from ..tracer import ops_inplace as IP
from ..tracer import ops_reduce as R
from ..tracer import ops_shape as S
from ..tracer import ops_softmax as _SM
from ..tracer.ops_core import convert, filled_tensor as _filled_tensor
from ..tracer.eager_template import composite as _composite
from ..tracer.random_ops import dropout_noise as _dropout_noise
from ..tracer.tape import bind, grad_node
from ..tracer.tensor import Tensor, _wrap_dim
from ..tracer.unsupported import module_getattr as _module_getattr

from .functional_activation import (  # noqa: E402,F401
    elu, gelu, hardtanh, leaky_relu, silu, softplus)
from .functional_norm import batch_norm, embedding, layer_norm  # noqa: E402,F401
from .functional_loss import huber_loss, kl_div, l1_loss, smooth_l1_loss  # noqa: E402,F401
from .functional_loss import reduce_loss as _reduce_loss  # noqa: E402

relu = E.relu
sigmoid = E.sigmoid
tanh = E.tanh

# a name PyTorch's functional has and this one lacks raises AttributeError naming it
__getattr__ = _module_getattr("tapegrad.nn.functional", "torch.nn.functional")


def softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """One kernel with PyTorch's arithmetic (tracer/ops_softmax.py)."""
    return _SM.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """One kernel with PyTorch's arithmetic (tracer/ops_softmax.py); cross_entropy's too."""
    return _SM.log_softmax(input, dim, dtype)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias (AddmmBackward0 for a 2-d input with a bias, as PyTorch)."""
    out = _direct.linear(input, weight, bias)  # the common case, recorded directly
    if out is not None:
        return out
    if bias is not None and input.ndim not in (0, 2):
        # PyTorch flattens the batch dims, runs addmm and views the result back: the
        # result's grad_fn is a ViewBackward0 over the AddmmBackward0
        flat = S.view(input, (-1, input.shape[-1]))
        return S.view(linear(flat, weight, bias), (*input.shape[:-1], weight.shape[0]))
    wt = S.t(weight)
    if bias is None:
        return S.matmul(input, wt)
    if input.ndim == 2:
        with grad_node("AddmmBackward0", bias, input, wt):
            return E.add(S.matmul(input, wt), bias)
    return E.add(S.matmul(input, wt), bias)




def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    out = _direct.mse_loss(input, target, reduction)  # the common case, recorded directly
    if out is not None:
        return out
    with grad_node("MseLossBackward0", input, target):
        d = E.sub(input, target)
        return _reduce_loss(E.mul(d, d), reduction)


def _weighted(loss: Tensor, weight) -> Tensor:
    return loss if weight is None else E.mul(loss, weight)


def binary_cross_entropy(input: Tensor, target: Tensor, weight=None,
                         reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does."""
    if input.shape != target.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    if input._data is not None:
        x = input._data
        if not bool(((x >= 0) & (x <= 1)).all()):
            raise RuntimeError("all elements of input should be between 0 and 1")
    with grad_node("BinaryCrossEntropyBackward0", input, target):
        log_x = E.clamp(E.log(input), min=-100.0)
        log_1mx = E.clamp(E.log(E.rsub(input, 1.0)), min=-100.0)
        loss = E.neg(E.add(E.mul(target, log_x), E.mul(E.rsub(target, 1.0), log_1mx)))
        return _reduce_loss(_weighted(loss, weight), reduction)


@_composite("BinaryCrossEntropyWithLogitsBackward0")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """(1 - t) x + (1 + (pw - 1) t) softplus(-x): finite for any x.

    softplus(-x) is log1p(exp(-|x|)) + max(-x, 0), written with one `where` choosing
    the branch so that each branch is smooth where it is used: the derivative at
    x = 0 is -sigmoid(0) = -1/2 (|x| and max(x, 0) have kinks there, and summing
    their one-sided slopes gave the wrong gradient)."""
    if input.shape != target.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    with grad_node("BinaryCrossEntropyWithLogitsBackward0", input, target):
        pos = E.gt(input, 0.0)
        minus_abs = E.where(pos, E.neg(input), input)
        softplus_neg = E.add(E.log1p(E.exp(minus_abs)), E.where(pos, 0.0, E.neg(input)))
        scale = 1.0 if pos_weight is None else E.add(E.mul(E.sub(pos_weight, 1.0), target), 1.0)
        loss = E.add(E.mul(E.rsub(target, 1.0), input), E.mul(scale, softplus_neg))
        return _reduce_loss(_weighted(loss, weight), reduction)


def nll_loss(input: Tensor, target: Tensor, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] (class dim 1), picked with a one-hot mask built from iota."""
    cdim = 1 if input.ndim >= 2 else 0
    classes = input.shape[cdim]
    _check_targets(target, classes, ignore_index)
    with grad_node("NllLossBackward0", input):
        t = S.unsqueeze(target, cdim)
        iota = bind(P.iota, type=input._type.with_dtype(dtypes.i64), axis=cdim)
        picked = R.sum(E.where(E.eq(iota, t), input, 0.0), cdim)
        w = E.to_float(E.ne(target, ignore_index))
        if weight is not None:
            w = E.mul(w, R.sum(E.where(E.eq(iota, t), weight.reshape(
                [classes if i == cdim else 1 for i in range(input.ndim)]), 0.0), cdim))
        loss = E.neg(E.mul(picked, convert(w, input.dtype)))
        if reduction == "mean":
            return E.div(R.sum(loss), R.sum(convert(w, input.dtype)))
        return _reduce_loss(loss, reduction)


def _check_targets(target: Tensor, classes: int, ignore_index: int) -> None:
    if target.dtype is not dtypes.i64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype!r}")
    if target._data is not None:
        bad = (target._data != ignore_index) & ((target._data < 0) | (target._data >= classes))
        if bad.any():
            raise IndexError(f"Target {int(target._data[bad].reshape(-1)[0])} is out of bounds.")


def cross_entropy(input: Tensor, target: Tensor, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dim, then nll_loss for class indices, or
    -sum(p log q) for class probabilities (a float target of input's shape)."""
    cdim = 1 if input.ndim >= 2 else 0
    logp = log_softmax(input, cdim)
    if target.dtype.is_float:
        if label_smoothing:
            target = E.add(E.mul(target, 1.0 - label_smoothing),
                           label_smoothing / input.shape[cdim])
        per = E.mul(logp, target) if weight is None else E.mul(E.mul(logp, target), weight.reshape(
            [input.shape[cdim] if i == cdim else 1 for i in range(input.ndim)]))
        loss = E.neg(R.sum(per, cdim))
        if reduction == "mean":
            return E.div(R.sum(loss), float(loss.numel() or 1) if loss.ndim else 1.0)
        return _reduce_loss(loss, reduction)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    return E.add(E.mul(nll, 1.0 - label_smoothing), E.mul(
        _smoothing_term(logp, target, weight, ignore_index, reduction, cdim),
        label_smoothing / input.shape[cdim]))


def _smoothing_term(logp: Tensor, target: Tensor, weight, ignore_index: int, reduction: str,
                    cdim: int) -> Tensor:
    """-sum over classes of (weighted) log q, zero at ignored targets; 'mean' divides by
    the targets' total weight, as PyTorch's label smoothing does."""
    classes = logp.shape[cdim]
    shape = [classes if i == cdim else 1 for i in range(logp.ndim)]
    per_class = logp if weight is None else E.mul(logp, weight.reshape(shape))
    kept = E.ne(target, ignore_index)
    smooth = E.where(kept, E.neg(R.sum(per_class, cdim)), 0.0)
    if reduction != "mean":
        return _reduce_loss(smooth, reduction)
    if weight is None:
        return E.div(R.sum(smooth), R.sum(E.to_float(kept)))
    t = S.unsqueeze(target, cdim)
    iota = bind(P.iota, type=logp._type.with_dtype(dtypes.i64), axis=cdim)
    w_t = R.sum(E.where(E.eq(iota, t), weight.reshape(shape), 0.0), cdim)
    return E.div(R.sum(smooth), R.sum(E.where(kept, w_t, 0.0)))


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """y[..., o] = sum_ij x1[..., i] A[o, i, j] x2[..., j] + b[o]."""
    x1 = S.unsqueeze(S.unsqueeze(input1, -2), -3)            # (..., 1, 1, i)
    x2 = S.unsqueeze(input2, -2)                              # (..., 1, j)
    y = R.sum(E.mul(S.squeeze(S.matmul(x1, weight), -2), x2), -1)   # (..., o)
    return y if bias is None else E.add(y, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """PyTorch's CPU dropout: input times a mask drawn from the default generator as
    `bernoulli_(1 - p)` and scaled by 1 / (1 - p), so seeded runs drop what PyTorch drops.
    Differentiable through the multiplication (MulBackward0, as in PyTorch)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    noise = _filled_tensor(0, input.dtype, ()) if p == 1 else _dropout_noise(input, p)
    return IP.mul_(input, noise) if inplace else E.mul(input, noise)
