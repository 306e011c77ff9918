"""tapegrad: a tape-based tracing compiler for automatic differentiation.

`import tapegrad as torch` runs PyTorch-style eager code; this file is the list
of public names and where each one lives.
"""
import sys as _sys

from .ir.version import __version__  # noqa: E402  (written once, in ir/version.py)

from . import ir, runtime  # noqa: E402
from .tracer import ops as _ops  # noqa: E402  (attaches the operations to Tensor)
from .tracer import engine as _engine  # noqa: E402  (attaches Tensor.backward)
from .tracer.tensor import Tensor  # noqa: E402
from .tracer.sizes import Size  # noqa: E402

# dtypes: the IR's, under PyTorch's names
from .ir.dtypes import (  # noqa: E402
    bool_ as bool, f16 as float16, f32 as float32, f64 as float64, i8 as int8, i16 as int16,
    i32 as int32, i64 as int64, u8 as uint8)
from .ir.dtypes import DType as dtype  # noqa: E402
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
from .tracer.dtype_api import (  # noqa: E402
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor,
    LongTensor, ShortTensor, can_cast, finfo, iinfo, promote_types, result_type)
from .tracer.ops_core import get_default_dtype, set_default_dtype  # noqa: E402
from .tracer.ops_divide import floor_divide  # noqa: E402
from .runtime.denormals import set_flush_denormal  # noqa: E402  (PyTorch's, per thread)

# interop: DLPack (Tensor.__dlpack__ / __dlpack_device__ are attached by tracer.dlpack)
from .tracer.dlpack import from_dlpack  # noqa: E402
from . import utils  # noqa: E402

# a PyTorch name tapegrad lacks raises AttributeError naming it (tracer/unsupported.py)
from .tracer.unsupported import install_tensor_getattr as _install_tensor_getattr  # noqa: E402
from .tracer.unsupported import module_getattr as _module_getattr  # noqa: E402

_install_tensor_getattr(Tensor)
__getattr__ = _module_getattr("tapegrad", "torch")

# grad mode
from .tracer.grad_mode import (  # noqa: E402
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_grad_enabled)
from .tracer.anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: E402

# creation, devices, the random generator
from .tracer.creation import (  # noqa: E402
    arange, as_tensor, device, empty, empty_like, eye, from_numpy, full, full_like, linspace,
    ones, ones_like, tensor, zeros, zeros_like)
from .tracer.random_generator import (  # noqa: E402
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed,
    set_rng_state)
from .tracer.random_ops import (  # noqa: E402
    bernoulli, multinomial, normal, rand, rand_like, randint, randint_like, randn, randn_like,
    randperm)

# operations (each also a Tensor method)
from .tracer.ops import (  # noqa: E402
    abs, add, amax, amin, argmax, argmin, bmm, broadcast_to, cat, clamp, clip, clone, concat,
    cos, div, divide, dot, eq, exp, flatten, ge, gt, is_tensor, le, log, log1p, logical_not, lt,
    matmul, max, maximum, mean, min, minimum, mm, mul, multiply, ne, neg, negative, norm,
    permute, pow, reciprocal, relu, reshape, select, sigmoid, sign, sin, sqrt, squeeze, stack,
    sub, subtract, sum, swapaxes, t, tanh, transpose, unsqueeze, where)
from .tracer.ops import log_softmax, softmax  # noqa: E402
# the maths surface of issue 15 (tracer/ops_math.py, tracer/ops_math_reduce.py)
from .tracer.ops_math import (  # noqa: E402
    acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin, asinh, atan,
    atan2, atanh, ceil, cosh, erf, erfc, erfinv, expm1, fix, floor, fmod, frac, hypot, isfinite, isinf,
    isnan, isneginf, isposinf, log2, log10, logical_and, logical_or, logical_xor, nan_to_num,
    remainder, round, rsqrt, sinh, square, tan, trunc)
from .tracer.ops_math_reduce import (  # noqa: E402
    all, allclose, aminmax, any, count_nonzero, cumprod, cumsum, equal, isclose, logsumexp,
    prod, std, std_mean, var, var_mean)

from .tracer.ops import (  # noqa: E402
    addbmm, addmm, addmv, argsort, baddbmm, chunk, diag, diagonal, einsum, flip, fliplr,
    flipud, ger, kthvalue, median, mode, moveaxis, movedim, mv, narrow, outer, roll, sort,
    split, swapdims, tensordot, tile, topk, tril, triu, unbind, unflatten, vdot)
from .tracer.creation import (  # noqa: E402
    asarray, get_default_device, logspace, set_default_device)
from .tracer.ops_bitwise import (  # noqa: E402
    bitwise_and, bitwise_not, bitwise_or, bitwise_xor)
from .tracer.ops_interleave import repeat_interleave  # noqa: E402
# indexing functions (tracer/ops_index_fns.py; `where` also takes the condition alone)
from .tracer.ops_index_fns import (  # noqa: E402
    argwhere, gather, index_add, index_put, index_select, masked_fill, masked_select, nonzero,
    scatter, scatter_add, take, where)

# tracing, the function transforms and the namespaces
from .tracer.trace import make_ir  # noqa: E402
from .tracer.transforms import compile, grad, jit, value_and_grad  # noqa: E402
from .tracer.transforms_forward import jvp, linearize  # noqa: E402
from .tracer.transforms_vmap import hessian, jacfwd, jacrev, vmap  # noqa: E402
from .tracer.transforms_checkpoint import checkpoint, checkpoint_policies, remat  # noqa: E402,E501
from . import accelerator, autograd, backends, cuda, nn, optim, profiler, random, tree_util  # noqa: E402,E501
from . import lax  # noqa: E402  (JAX's structured control flow: cond, while_loop, fori_loop, scan)
from .lax import torch_cond as cond  # noqa: E402  (torch.cond)
from .serialization import load, save  # noqa: E402  (PyTorch's zip checkpoints, allow-list loading)
from . import func  # noqa: E402,F401  (tg.func: torch.func: functional_call and the transforms)
autograd.profiler.register_namespaces(  # what a profile times (tapegrad/autograd/profiler.py)
    torch=_sys.modules[__name__], functional=nn.functional, optimizer=optim.Optimizer,
    autograd=autograd)
from . import distributed, export  # noqa: E402  (tg.export; tg.distributed loads dask lazily)
