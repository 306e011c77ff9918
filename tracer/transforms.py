"""Function transforms: `grad`, `value_and_grad` and `compile` (also known as `jit`).

    @tg.grad
    def df(x):
        return (x.sin() * x).sum()

    df(np.ones(3, np.float32))   # first call: trace, differentiate, optimise, compile
    df(np.zeros(3, np.float32))  # same signature: the fast call, then the native code

Each transformed function keeps an LRU cache from call signature (shapes and
dtypes of array arguments, values of static ones; see transforms_signature) to
the lowered pipeline (transforms_lower).  The signature of the last native call
also has a fast call (tracer/fast_call.py): generated code that unpacks each
argument's pytree, checks each leaf against the compiled code and calls it, tried
before any lookup, because a call repeated with the same signature is the common
case and costs only microseconds.  Arguments and results are pytrees
(tracer/tree_util): every leaf is one parameter or result of the native code.
How a call runs depends on its arguments:

- concrete arguments run the compiled native code;
- if an argument is a tensor that requires grad and grad mode is on, the
  optimised IR is bound on the eager tape instead (tracer.inline), so the
  result has a grad_fn and `backward()` reaches the arguments.  That step runs
  on the eager evaluator, not on the native code;
- abstract arguments mean we are inside another transform's trace: the IR is
  inlined into that trace.  This is all `grad(grad(f))` needs: the outer
  transform differentiates the inner one's adjoint like any other IR.
"""
from __future__ import annotations

import functools
import inspect
import threading

import numpy as np

from ..ir import dtypes
from .errors import AllocationError, allocation_error, at, user_loc
from .inline import apply_function
from .tape import grad_node
from .tensor import Tensor
from .trace import function_name, param_names
from .transforms_lower import MISS, Lowered, Spec, lower_call
from .transforms_signature import (NATIVE, TREE, BadArgument, CacheInfo, SignatureCache,
                                   plain_signature, signature)
from .tree_util import tree_leaves

DEFAULT_CACHE_SIZE = 64
#: the grad_fn name of a transformed function's result on the eager tape (as torch.compile's)
COMPILED_GRAD_FN = "CompiledFunctionBackward"
_NATIVE_DTYPES = frozenset(d.np for d in dtypes.ALL)


class Transformed:
    """A function transformed by grad, value_and_grad or compile; call it like the original."""

    def __init__(self, f, spec: Spec, static_argnums, cache_size: int | None,
                 donate_argnums=()):
        if not callable(f):
            raise TypeError(f"{spec.kind} expects a function, got {type(f).__name__}")
        functools.update_wrapper(self, f)
        self.fun = f
        self.spec = spec
        self.static_argnums = _int_tuple("static_argnums", static_argnums)
        self.donate_argnums = _int_tuple("donate_argnums", donate_argnums)
        both = set(self.static_argnums) & set(self.donate_argnums)
        if both:
            raise ValueError(f"argument {min(both)} is both static (static_argnums) and "
                             f"donated (donate_argnums): a static argument has no buffer")
        self._cache = SignatureCache(cache_size)
        self._lock = threading.RLock()
        self._statics: dict[int, frozenset[int]] = {}
        self._signature, self._min_args, self._max_args = _arity(f)
        #: calls without static arguments may take the plain_signature path
        self._plain_calls = not self.static_argnums

    # ---------------------------------------------------------------- calling

    def __call__(self, *args, **kwargs):
        try:
            cache = self._cache
            fast = cache.fast
            if fast is not None and not kwargs:  # the signature of the last native call?
                result = fast(args)
                if result is not MISS:
                    cache.hits += 1
                    return result
            return self._call(args, kwargs)
        except MemoryError as e:
            if isinstance(e, AllocationError):
                raise
            raise allocation_error(f"{self.spec.kind} of {function_name(self.fun)}",
                                   self._result_types(args, kwargs), user_loc()) from None

    def _result_types(self, args, kwargs) -> list:
        try:
            return list(self._specialise(args, kwargs)[3].result_types)
        except Exception:  # only for the message: never mask the MemoryError
            return []

    def _call(self, args, kwargs):
        if not kwargs and self._plain_calls and self._min_args <= len(args) <= self._max_args:
            plain = plain_signature(args)
            if plain is not None:
                cache = self._cache
                lowered = cache.get(plain[0])
                if lowered is not None:  # a signature seen before
                    donated = _donated(args, self.donate_argnums, ()) \
                        if self.donate_argnums else frozenset()
                    if cache.repeated:  # and twice in a row: the next calls like this
                        # one take its fast call.  Not sooner: generating it costs
                        # ~0.3 ms, and calls alternating between signatures would
                        # swap it back and forth for nothing
                        cache.set_fast(plain[0], lowered.fast_call(plain[0], donated))
                    return lowered.run(plain[1], donated)
        positional = not kwargs
        args, static, mode, lowered, key, leaves = self._specialise(args, kwargs)
        if mode is NATIVE:
            donated = _donated(args, self.donate_argnums, static) if self.donate_argnums else ()
            cache = self._cache
            if cache.repeated and positional and self._plain_calls \
                    and any(item[0] is TREE for item in key):
                # pytree arguments, a hit twice in a row: as above, the fast call (flat
                # arguments that come this way are what the fast call cannot take)
                cache.set_fast(key, lowered.fast_call(key, frozenset(donated)))
            return lowered.results(lowered.native()(*_arrays(leaves), donated=donated))
        tensors = _bind_on_tape(lowered, _tensors(leaves))
        return lowered.tree.unflatten(tensors)

    def lower(self, *args, **kwargs) -> Lowered:
        """Every stage for arguments like `args`: `.ir`, `.adjoint`, `.optimized`, `.llvm`,
        `.asm`.  It shares the call cache: a later call with the same signature is a hit."""
        return self._specialise(args, kwargs)[3]

    def _specialise(self, args: tuple, kwargs: dict):
        """(positional args, static indices, how to run, the Lowered for this signature,
        the signature, the leaves of the non-static arguments)."""
        if kwargs or not self._min_args <= len(args) <= self._max_args:
            args = self._bind(args, kwargs)
        static = self._static(len(args))
        try:
            leaves: list = []
            key, mode = signature(args, static, leaves)
        except BadArgument as e:
            raise self._argument_error(e) from None
        return (args, static, mode, self._cache.get(key) or self._miss(key, args, static), key,
                leaves)

    def cache_info(self) -> CacheInfo:
        return self._cache.info()

    def cache_clear(self) -> None:
        """Forget every specialisation (the counters stay)."""
        with self._lock:
            self._cache.clear()

    def __repr__(self) -> str:
        return f"<tapegrad.{self.spec.kind} of {function_name(self.fun)}>"

    # ---------------------------------------------------------------- misses

    def _miss(self, key: tuple, args: tuple, static: frozenset[int]) -> Lowered:
        with self._lock:
            lowered = self._cache.get(key)  # another thread may have built it meanwhile
            if lowered is not None:
                return lowered
            self._cache.miss(key)
            self._cache.traces += 1
            lowered = lower_call(self.fun, args, static, self.spec)
            self._cache.compile_seconds += lowered.lower_seconds
            lowered.on_compile = self._count_compile
            self._cache.put(key, lowered)
            return lowered

    def _count_compile(self, seconds: float) -> None:
        self._cache.compile_seconds += seconds

    def _static(self, n: int) -> frozenset[int]:
        """static_argnums as indices into a call with n arguments."""
        static = self._statics.get(n)
        if static is None:
            static = self._statics[n] = frozenset(k % n for k in self.static_argnums
                                                  if -n <= k < n)
        return static

    # ---------------------------------------------------------------- argument errors

    def _bind(self, args: tuple, kwargs: dict) -> tuple:
        """Keyword arguments become positional ones; a wrong count names the function."""
        name = function_name(self.fun)
        if self._signature is None:
            if kwargs:
                raise TypeError(f"{name}(): keyword arguments are not supported for this "
                                f"callable{at(user_loc())}")
            return args
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{name}(): {e}{at(user_loc())}") from None
        if bound.kwargs:
            raise TypeError(f"{name}(): keyword-only arguments ({', '.join(bound.kwargs)}) "
                            f"cannot be traced; make them positional{at(user_loc())}")
        return bound.args

    def _argument_error(self, e: BadArgument) -> TypeError:
        hint = param_names(self.fun, e.index + 1)[e.index]
        name = function_name(self.fun)
        if e.path:  # a leaf inside a pytree: JAX's path to it
            which = f" (in argument {e.index}, {hint})" if hint else ""
            return TypeError(f"{name}(): arg {e.index}{e.path}: {e.problem}{which}"
                             f"{at(user_loc())}")
        which = f"argument {e.index}" + (f" ({hint})" if hint else "")
        return TypeError(f"{name}(): {which} {e.problem}{at(user_loc())}")


def _arity(f) -> tuple[inspect.Signature | None, int, float]:
    """f's signature and how many positional arguments it accepts (min, max)."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None, 0, float("inf")
    positional = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    variadic = any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values())
    return sig, required, float("inf") if variadic else len(positional)


def _leaves(args: tuple, static: frozenset[int]) -> list:
    """The leaves of the non-static arguments: the native code's parameters, in order."""
    out = []
    for i, a in enumerate(args):
        if i not in static:
            if isinstance(a, (Tensor, np.ndarray)):
                out.append(a)
            else:
                out += tree_leaves(a)
    return out


def _donated(args: tuple, donate_argnums: tuple, static) -> frozenset[int]:
    """The native parameter indices of the donated arguments' leaves that are numpy
    arrays (a tensor's buffer is never given away: it may be shared, saved or viewed)."""
    n, first, out = len(args), {}, set()
    used = 0
    for i, a in enumerate(args):
        if i not in static:
            first[i] = used
            used += len(_leaves((a,), frozenset()))
    for k in donate_argnums:
        i = k % n if -n <= k < n else None
        if i is not None and i not in static:
            for j, leaf in enumerate(_leaves((args[i],), frozenset())):
                if type(leaf) is np.ndarray:
                    out.add(first[i] + j)
    return frozenset(out)


def _arrays(leaves: list) -> list[np.ndarray]:
    """The buffers the native code takes, one per leaf."""
    out = []
    for a in leaves:
        if isinstance(a, Tensor):
            out.append(a._data)
        elif isinstance(a, np.ndarray):
            out.append(a if a.dtype in _NATIVE_DTYPES else a.astype(dtypes.from_numpy(a.dtype).np))
        elif isinstance(a, np.generic):  # a numpy scalar keeps its dtype
            out.append(_arrays([np.asarray(a)])[0])
        else:
            out.append(np.asarray(a, np.float32))
    return out


def _bind_on_tape(lowered: Lowered, tensors: list[Tensor]) -> list[Tensor]:
    """Run the optimised IR by binding it: the whole call is one grad_fn on the eager tape
    (inside another trace, the instructions land in that trace instead)."""
    with grad_node(COMPILED_GRAD_FN, *tensors):
        return apply_function(lowered.program, tensors)


def _tensors(leaves: list) -> list[Tensor]:
    """The leaves as tensors, to bind the IR on (abstract tensors stay abstract)."""
    out = []
    for a in leaves:
        if isinstance(a, Tensor):
            out.append(a)
        elif isinstance(a, np.ndarray):
            out.append(Tensor._from_array(a))
        elif isinstance(a, np.generic):
            out.append(Tensor._from_array(_arrays([a])[0]))
        else:
            out.append(Tensor._from_array(np.asarray(a, np.float32)))
    return out


def _int_tuple(what: str, value) -> tuple[int, ...]:
    items = (value,) if isinstance(value, int) else tuple(value)
    if not all(isinstance(k, int) and not isinstance(k, bool) for k in items):
        raise TypeError(f"{what} must be an int or a tuple of ints, got {value!r}")
    return items


def _argnums(argnums) -> int | tuple[int, ...]:
    return argnums if isinstance(argnums, int) and not isinstance(argnums, bool) \
        else _int_tuple("argnums", argnums)


# -------------------------------------------------------------------- the public transforms


def grad(f=None, argnums=0, has_aux: bool = False, *, static_argnums=(),
         cache_size: int | None = DEFAULT_CACHE_SIZE):
    """The gradient of scalar-valued `f` with respect to argument(s) `argnums`.

    A tuple `argnums` gives a tuple of gradients; with `has_aux=True`, `f` returns
    `(value, aux)` and the result is `(grads, aux)`.  Without `f`, a decorator."""
    if f is None:
        return functools.partial(grad, argnums=argnums, has_aux=has_aux,
                                 static_argnums=static_argnums, cache_size=cache_size)
    return Transformed(f, Spec("grad", _argnums(argnums), bool(has_aux)), static_argnums,
                       cache_size)


def value_and_grad(f=None, argnums=0, has_aux: bool = False, *, static_argnums=(),
                   cache_size: int | None = DEFAULT_CACHE_SIZE):
    """Like `grad`, returning `(value, grads)` (or `((value, aux), grads)` with has_aux)."""
    if f is None:
        return functools.partial(value_and_grad, argnums=argnums, has_aux=has_aux,
                                 static_argnums=static_argnums, cache_size=cache_size)
    return Transformed(f, Spec("value_and_grad", _argnums(argnums), bool(has_aux)),
                       static_argnums, cache_size)


def compile(f=None, *, static_argnums=(), donate_argnums=(),
            cache_size: int | None = DEFAULT_CACHE_SIZE):
    """`f` compiled to native code, specialised per signature.

    `donate_argnums` (as JAX's): numpy arrays passed there are given up to the call,
    which may write a result into one and return it (an SGD step `w - lr * (x.T @ g)`
    then updates `w` in place); afterwards their contents are unspecified.  Results
    that cannot reuse a donated array get fresh ones.

    grad and value_and_grad compile by themselves, so compiling an already
    transformed function (with no new static_argnums or donate_argnums) returns it
    unchanged."""
    if f is None:
        return functools.partial(compile, static_argnums=static_argnums,
                                 donate_argnums=donate_argnums, cache_size=cache_size)
    if isinstance(f, Transformed) and not _int_tuple("static_argnums", static_argnums) \
            and not _int_tuple("donate_argnums", donate_argnums):
        return f
    return Transformed(f, Spec("compile"), static_argnums, cache_size, donate_argnums)


jit = compile
