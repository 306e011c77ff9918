"""Products beyond matmul/mm/bmm/dot: vdot, mv, outer/ger, addmm/addmv/baddbmm,
tensordot and einsum.

They are compositions of the public operations (permute, reshape, mul, sum,
matmul), so every gradient and grad_fn chain is those operations'; the fused
forms (addmm, ...) carry PyTorch's node name for the whole.
"""
from __future__ import annotations

from . import ops_elementwise as E
from . import ops_reduce as R
from . import ops_shape as S
from .errors import at, user_loc
from .ops_elementwise import as_tensor
from .ops_layout import _diagonal
from .tape import grad_node
from .tensor import Tensor


def _need(x: Tensor, ndim: int, op: str, what: str) -> None:
    if x.ndim != ndim:
        raise RuntimeError(f"{op}: {what} must be a {ndim}-D tensor, got {x.ndim}-D "
                           f"with shape {list(x.shape)}{at(user_loc())}")


def vdot(input, other):
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape != b.shape:
        raise RuntimeError(f"vdot: inconsistent tensor size, expected tensor [{a.shape[0]}] "
                           f"and src [{b.shape[0]}] to have the same number of elements")
    with grad_node("VdotBackward0", a, b):
        return S.dot(a, b)  # real tensors: no conjugate


def mv(input, vec):
    a, v = as_tensor(input), as_tensor(vec)
    _need(a, 2, "mv", "input")
    _need(v, 1, "mv", "vec")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x"
                           f"{a.shape[1]}), vec ({v.shape[0]}){at(user_loc())}")
    return S.matmul(a, v)


def outer(input, vec2):
    a, b = as_tensor(input), as_tensor(vec2)
    _need(a, 1, "outer", "input")
    _need(b, 1, "outer", "vec2")
    return E.mul(S.reshape(a, a.shape[0], 1), b)


ger = outer


def _scaled_sum(api: str, bias: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """beta * bias + alpha * product, with beta == 0 ignoring bias (NaN included); a shape
    error names `api`, the user's function."""
    scaled = product if alpha == 1 else E.mul(product, alpha)
    if beta == 0:  # PyTorch ignores bias's values then, NaN and inf included
        from .ops_core import broadcast_shapes
        shape = broadcast_shapes(api, bias.shape, scaled.shape)
        return S.expand(scaled, shape) if shape != scaled.shape else scaled
    return E.add(bias if beta == 1 else E.mul(bias, beta), scaled)


def _fused(name: str, bias, left, right, beta, alpha, check) -> Tensor:
    """`name` is the node's (AddmmBackward0): the function's name is its lower-cased stem."""
    c, a, b = as_tensor(bias), as_tensor(left), as_tensor(right)
    check(a, b)
    with grad_node(name, c, a, b):
        return _scaled_sum(name[:-len("Backward0")].lower(), c, S.matmul(a, b), beta, alpha)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    def check(a, b):
        _need(a, 2, "addmm", "mat1")
        _need(b, 2, "addmm", "mat2")
    return _fused("AddmmBackward0", input, mat1, mat2, beta, alpha, check)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    def check(a, b):
        _need(a, 2, "addmv", "mat")
        _need(b, 1, "addmv", "vec")
    return _fused("AddmvBackward0", input, mat, vec, beta, alpha, check)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    def check(a, b):
        _need(a, 3, "baddbmm", "batch1")
        _need(b, 3, "baddbmm", "batch2")
    return _fused("BaddbmmBackward0", input, batch1, batch2, beta, alpha, check)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    def check(a, b):
        _need(a, 3, "addbmm", "batch1")
        _need(b, 3, "addbmm", "batch2")
    c, a, b = as_tensor(input), as_tensor(batch1), as_tensor(batch2)
    check(a, b)
    with grad_node("AddbmmBackward0", c, a, b):
        return _scaled_sum("addbmm", c, R.sum(S.bmm(a, b), 0), beta, alpha)


# ---------------------------------------------------------------- tensordot


def tensordot(a, b, dims=2):
    """Contract `dims` trailing dims of a with leading dims of b, or the listed pairs."""
    x, y = as_tensor(a), as_tensor(b)
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(x.ndim - dims, x.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    da = [d % x.ndim for d in da]
    db = [d % y.ndim for d in db]
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    for i, j in zip(da, db):
        if x.shape[i] != y.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{x.shape[i]} in dim {i} and second has size {y.shape[j]} in "
                               f"dim {j}")
    fa = [d for d in range(x.ndim) if d not in da]
    fb = [d for d in range(y.ndim) if d not in db]
    k = 1
    for d in da:
        k *= x.shape[d]
    xm = S.reshape(S.permute(x, fa + da), -1 if fa else 1, k)
    ym = S.reshape(S.permute(y, db + fb), k, -1 if fb else 1)
    shape = tuple(x.shape[d] for d in fa) + tuple(y.shape[d] for d in fb)
    return S.reshape(S.mm(xm, ym), shape)


# ---------------------------------------------------------------- einsum


def _parse(equation: str, operands: list) -> tuple[list, list]:
    """Operand label lists and the output labels; `...` becomes labels -1, -2, ..."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum(): more operands were provided than specified in the "
                         f"equation" if len(operands) > len(terms) else
                         "einsum(): fewer operands were provided than specified in the equation")
    ell = 0
    labels = []
    for term, x in zip(terms, operands):
        if term.count("...") > 1 or "." in term.replace("...", ""):
            raise ValueError(f"einsum(): invalid ellipsis in subscripts {term!r}")
        head, _, tail = term.partition("...")
        for ch in head + tail:
            if not ch.isalpha():
                raise ValueError(f"einsum(): invalid subscript given at index "
                                 f"{equation.index(ch)} in the equation string, subscripts "
                                 f"must be in [a-zA-Z]")
        if "..." in term:
            n = x.ndim - len(head) - len(tail)
            if n < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({len(head) + len(tail)}) is more than the number of "
                                   f"dimensions ({x.ndim}) for operand {len(labels)}")
            ell = max(ell, n)
            labels.append(list(head) + [-(n - i) for i in range(n)] + list(tail))
        else:
            if len(term) != x.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({len(term)}) does not match the number of dimensions "
                                   f"({x.ndim}) for operand {len(labels)} and no ellipsis "
                                   "was given")
            labels.append(list(term))
    ellipsis = [-(ell - i) for i in range(ell)]
    if arrow:
        head, _, tail = rhs.partition("...")
        out = list(head) + (ellipsis if "..." in rhs else []) + list(tail)
        for ch in head + tail:
            if not any(ch in ls for ls in labels):
                raise ValueError(f"einsum(): output subscript {ch} does not appear in the "
                                 "equation for any input operand")
    else:
        letters = [c for ls in labels for c in ls if isinstance(c, str)]
        out = ellipsis + sorted(c for c in set(letters) if letters.count(c) == 1)
    return labels, out


def _own_diagonals(x: Tensor, labels: list) -> tuple[Tensor, list]:
    """A label repeated within one operand (`ii`) takes that operand's diagonal."""
    labels = list(labels)
    while len(set(labels)) != len(labels):
        seen = {}
        for i, c in enumerate(labels):
            if c in seen:
                j = seen[c]
                with grad_node("DiagonalBackward0", x):
                    x = _diagonal(x, 0, j, i)  # the diagonal becomes the last dim
                labels = [c2 for k, c2 in enumerate(labels) if k not in (i, j)] + [c]
                break
            seen[c] = i
    return x, labels


def _align(x: Tensor, labels: list, order: list) -> Tensor:
    """x permuted to `order` (labels it lacks become size-1 dims)."""
    present = [c for c in order if c in labels]
    perm = [labels.index(c) for c in present]
    if perm != list(range(len(perm))):
        x = S.permute(x, perm)
    shape = tuple(x.shape[present.index(c)] if c in present else 1 for c in order)
    return S.reshape(x, shape) if shape != x.shape else x


def einsum(equation, *operands):
    """Einstein summation, lowered operand pair by pair to permute/reshape/mul/sum and
    one matmul per pair where labels are contracted."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [as_tensor(x) for x in operands]
    labels, out = _parse(equation, xs)
    pairs = [_own_diagonals(x, ls) for x, ls in zip(xs, labels)]
    # sizes agree (or broadcast from 1) per label
    sizes = {}
    for x, ls in pairs:
        for c, n in zip(ls, x.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript {c} has size {n} and "
                                   f"{sizes[c]}{at(user_loc())}")
            sizes[c] = max(sizes.get(c, 1), n)
    x, ls = pairs[0]
    for k in range(1, len(pairs)):
        later = set(out) | {c for _, l2 in pairs[k + 1:] for c in l2}
        x, ls = _contract(x, ls, *pairs[k], later)
    # what is left: labels not in the output are summed, then the output order
    gone = [i for i, c in enumerate(ls) if c not in out]
    if gone:
        x = R.sum(x, gone)
        ls = [c for c in ls if c in out]
    x = _align(x, ls, out)
    shape = tuple(sizes[c] for c in out)
    return S.expand(x, shape) if x.shape != shape else x


def _contract(a: Tensor, la: list, b: Tensor, lb: list, keep: set) -> tuple[Tensor, list]:
    """a and b combined: labels in both and kept are batch, in both and not kept are
    contracted (a matmul), the rest stay as they are."""
    only_a = [c for c in la if c not in lb]
    only_b = [c for c in lb if c not in la]
    # labels appearing only here and not needed later are summed first
    drop_a = [la.index(c) for c in only_a if c not in keep]
    if drop_a:
        a, la = R.sum(a, drop_a), [c for c in la if c in keep or c in lb]
        only_a = [c for c in only_a if c in keep]
    drop_b = [lb.index(c) for c in only_b if c not in keep]
    if drop_b:
        b, lb = R.sum(b, drop_b), [c for c in lb if c in keep or c in la]
        only_b = [c for c in only_b if c in keep]
    common = [c for c in la if c in lb]
    batch = [c for c in common if c in keep]
    summed = [c for c in common if c not in keep]
    if not summed:  # an outer product over the batch: broadcast multiply
        order = batch + only_a + only_b
        return E.mul(_align(a, la, order), _align(b, lb, order)), order
    sa = _align(a, la, batch + only_a + summed)
    sb = _align(b, lb, batch + summed + only_b)
    nb = len(batch)
    bshape = tuple(max(p, q) for p, q in zip(sa.shape[:nb], sb.shape[:nb]))
    sa = S.expand(sa, bshape + sa.shape[nb:]) if sa.shape[:nb] != bshape else sa
    sb = S.expand(sb, bshape + sb.shape[nb:]) if sb.shape[:nb] != bshape else sb
    m = _prod(sa.shape[nb:nb + len(only_a)])
    k = _prod(sa.shape[nb + len(only_a):])
    n = _prod(sb.shape[nb + len(summed):])
    prod = S.matmul(S.reshape(sa, bshape + (m, k)), S.reshape(sb, bshape + (k, n)))
    shape = bshape + sa.shape[nb:nb + len(only_a)] + sb.shape[nb + len(summed):]
    return S.reshape(prod, shape), batch + only_a + only_b


def _prod(shape) -> int:
    out = 1
    for d in shape:
        out *= d
    return out

