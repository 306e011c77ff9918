"""Cases for tests/tracer/test_shape_surface.py, run by both PyTorch (record_shape_surface.py,
from /work/refvenv) and tapegrad.  Each case is an expression over `torch`, `x` (3x4
float64), `v` (length 3), `n` (with NaN and ties); its value, dtype and grad_fn name are
recorded."""
import numpy as np

X = (np.arange(12.0).reshape(3, 4) * 0.37 - 1.3) ** 3 % 2.9 - 1.1
V = np.array([0.5, -1.25, 2.0])
N = np.array([1.0, float("nan"), 0.5, 3.0, 0.5, -2.0])
T = np.array([[2.0, 1.0, 2.0, 3.0], [1.0, 1.0, 0.0, 0.0], [5.0, 4.0, 4.0, 5.0]])

CASES = [
    "x.repeat(2, 1)", "x.repeat(2, 1, 3)", "x.tile((2,))", "torch.tile(v, (2, 2))",
    "x.flip(0)", "x.flip(0, 1)", "torch.flip(x, [1])", "x.fliplr()", "x.flipud()",
    "x.roll(1, 0)", "x.roll(-2)", "torch.roll(x, (1, 2), (0, 1))", "x.narrow(1, 1, 2)",
    "x.narrow(0, -2, 2)", "x.chunk(2)[1]", "len(x.chunk(3, 1))", "x.chunk(3, 1)[1]", "x.split(3, 1)[1]",
    "x.split([1, 3], 1)[1]", "torch.split(x, 2)[1]", "x.unbind(1)[2]", "x.movedim(0, 1)",
    "torch.moveaxis(x.reshape(3, 2, 2), (0, 1), (2, 0))", "x.swapdims(0, 1)",
    "x.swapaxes(0, 1)", "x.unflatten(1, (2, 2))", "x.unflatten(1, (-1, 2))",
    "x.reshape(1, 3, 1, 4).squeeze((0, 2))", "x.tril()", "x.triu(1)", "torch.tril(x, -1)",
    "x.diagonal()", "x.diagonal(1)", "x.diagonal(-1)", "torch.diag(v)", "torch.diag(v, 1)",
    "torch.diag(v, -2)", "torch.diag(x)", "torch.diag(x, 2)", "x.expand_as(x.reshape(1, 3, 4).repeat(2, 1, 1))",
    "x.view_as(x.reshape(4, 3))", "x.reshape_as(x.reshape(2, 6))", "x.t().contiguous()",
    # values with indices
    "x.argmax()", "x.argmax(1)", "x.argmin(0, keepdim=True)", "x.max(1)", "x.min(0, True)",
    "x.median()", "x.median(1)", "x.median(0, keepdim=True)", "n.median()",
    "x.sort()", "x.sort(0, descending=True)", "n.sort()", "n.sort(descending=True)",
    "t.sort(stable=True)", "t.sort(descending=True, stable=True)", "x.argsort(1)",
    "torch.argsort(x, 0, descending=True)", "x.topk(2)", "x.topk(2, 0, largest=False)",
    "n.topk(3)", "x.kthvalue(2)", "x.kthvalue(3, 0, True)", "t.mode()", "t.mode(0)",
    # products
    "torch.dot(v, v)", "torch.vdot(v, v)", "torch.mv(x.t(), v)", "torch.outer(v, x[0])",
    "torch.ger(v, v)", "torch.bmm(x.reshape(1, 3, 4), x.reshape(1, 4, 3))",
    "torch.addmm(v.reshape(3, 1), x, x.t())", "torch.addmm(v.reshape(3, 1), x, x.t(), beta=0.5, alpha=2)",
    "torch.addmv(v, x, x[0])", "torch.baddbmm(x[:, :3].reshape(1, 3, 3), x.reshape(1, 3, 4), x.t().reshape(1, 4, 3))",
    "torch.einsum('ij,kj->ik', x, x)", "torch.einsum('ij->', x)", "torch.einsum('ij->j', x)",
    "torch.einsum('ii->i', x[:, :3])", "torch.einsum('ii', x[:, :3])", "torch.einsum('i,j->ij', v, v)",
    "torch.einsum('bij,bjk->bik', x.reshape(1, 3, 4), x.reshape(1, 4, 3))",
    "torch.einsum('...ij,...jk->...ik', x.reshape(1, 3, 4), x.t())", "torch.einsum('ij,ij->i', x, x)",
    "torch.einsum('ji', x)", "torch.einsum('ij,j', x, x[0])", "torch.einsum('i,i,i->', v, v, v)",
    "torch.tensordot(x, x, dims=([1], [1]))", "torch.tensordot(x, x, dims=2)",
    "torch.tensordot(x, x.t(), 1)", "torch.matmul(x.reshape(3, 1, 4), x.t())",
    "torch.matmul(v, x)",
    "x.reshape(1, 3, 4) @ x.t().reshape(1, 4, 3).repeat(2, 1, 1)",
    # construction
    "torch.linspace(0, 1, 5)", "torch.linspace(-1, 1, 7, dtype=torch.float64)",
    "torch.linspace(0, 10, 5, dtype=torch.int64)", "torch.linspace(0, 1, 1)",
    "torch.linspace(0.1, 0.7, 9)", "torch.logspace(0, 1, 5)", "torch.logspace(0, 2, 3, base=2)",
    "torch.logspace(-2, 2, 6, dtype=torch.float64)", "torch.arange(0, 1, 0.1)",
    "torch.arange(-1.0, 1.0, 0.3)", "torch.arange(1, 2.5, 0.5)", "torch.full_like(x, 2)",
    "torch.full_like(v, 7, dtype=torch.int64)", "torch.empty_like(x).shape",
    "torch.as_tensor([1.0, 2.0])", "torch.asarray([1, 2])",
    # layout queries
    "x.stride()", "x.t().stride()", "x[1:].storage_offset()", "x[:, 1:].storage_offset()",
    "x.t().is_contiguous()", "x.is_contiguous()", "x.stride(1)",
]
