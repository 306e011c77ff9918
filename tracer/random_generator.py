"""`Generator` objects and the default CPU generator, with PyTorch's seeding and state API.

A generator is an mt19937 engine plus the one cached Box-Muller normal PyTorch
keeps (the float cache exists in the state layout but PyTorch's CPU kernels never
fill it). States are PyTorch's 5056-byte layout, so `get_rng_state()` from
PyTorch can be handed to `tg.set_rng_state` and back.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from ..ir import dtypes
from ..ir.core import TensorType
from .creation import check_device, device as _device
from .random_engine import MT19937, pack_state, unpack_state
from .tensor import Tensor

_DEFAULT_SEED = 67280421310721  # PyTorch's default_rng_seed_val: a fresh tg.Generator()'s seed
_U64 = 1 << 64


def _seed_value(seed) -> int:
    """An integer seed as PyTorch takes it: negative ones wrap to unsigned 64 bits."""
    if isinstance(seed, Tensor):
        seed = seed.item()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        try:
            seed = int(seed)  # PyTorch calls int() on the seed first
        except (TypeError, ValueError):
            raise TypeError(f"manual_seed expected a long, but got {type(seed).__name__}") \
                from None
    seed = int(seed)
    if not -(1 << 63) <= seed < _U64:
        raise RuntimeError("Overflow when unpacking long long")
    return seed % _U64


def _nondeterministic_seed() -> int:
    return int.from_bytes(os.urandom(8), "little")


class Generator:
    """`tg.Generator()`: an independent stream for the `generator=` keyword of the random
    functions. Starts from PyTorch's default seed, as `torch.Generator()` does."""

    __slots__ = ("engine", "next_double_normal", "next_float_normal", "__weakref__")

    def __init__(self, device="cpu"):
        check_device(device)
        self.engine = MT19937(_DEFAULT_SEED)
        self.next_double_normal = None
        self.next_float_normal = None

    @property
    def device(self):
        return _device("cpu")

    def manual_seed(self, seed) -> "Generator":
        self.engine.reseed(_seed_value(seed))
        self.next_double_normal = self.next_float_normal = None
        return self

    def seed(self) -> int:
        """Seed from the operating system's randomness and return that seed."""
        value = _nondeterministic_seed()
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        return self.engine.seed

    def get_state(self) -> Tensor:
        data = pack_state(self.engine, self.next_double_normal, self.next_float_normal)
        dt = _state_dtype()
        return Tensor._make(data.astype(dt.np), TensorType(dt, data.shape))

    def set_state(self, new_state) -> "Generator":
        if not isinstance(new_state, Tensor) or new_state.dtype is not _state_dtype():
            kind = new_state.dtype if isinstance(new_state, Tensor) else type(new_state).__name__
            raise TypeError(f"expected a torch.ByteTensor, but got {kind}")
        data = new_state._check_concrete("Generator.set_state")
        if data.dtype != np.uint8 and (data.min(initial=0) < 0 or data.max(initial=0) > 255):
            raise RuntimeError("an RNG state holds bytes (0..255)")
        engine, dn, fn = unpack_state(data.astype(np.uint8))
        self.engine, self.next_double_normal, self.next_float_normal = engine, dn, fn
        return self

    def clone_state(self) -> "Generator":
        other = Generator()
        other.engine = self.engine.copy()
        other.next_double_normal, other.next_float_normal = \
            self.next_double_normal, self.next_float_normal
        return other

    def __reduce__(self):
        """Pickling and deepcopy carry the state (the engine's lock is not copied)."""
        state = pack_state(self.engine, self.next_double_normal, self.next_float_normal)
        return (_generator_from_bytes, (state.tobytes(),))

    def __repr__(self) -> str:
        return f"<tapegrad.Generator object at {id(self):#x}>"


def _generator_from_bytes(state: bytes) -> Generator:
    g = Generator()
    g.engine, g.next_double_normal, g.next_float_normal = unpack_state(
        np.frombuffer(state, dtype=np.uint8))
    return g


def _state_dtype():
    """uint8, PyTorch's type for states, once the IR has it; until then int64 tensors
    holding the same 5056 byte values (they round-trip; `.numpy().astype(np.uint8)` gives
    PyTorch's bytes)."""
    for dt in dtypes.ALL:
        if dt.torch_name == "uint8":
            return dt
    return dtypes.i64


default_generator = Generator()
default_generator.manual_seed(_nondeterministic_seed())


def generator_or_default(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tg.Generator, got {type(generator).__name__}")
    return generator


def manual_seed(seed) -> Generator:
    """Seed the default generator; returns it, as PyTorch does."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cpu"):
    """Run a block with the default generator's state restored afterwards."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
