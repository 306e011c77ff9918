"""PyTorch's CPU random engine: a 32-bit Mersenne Twister (mt19937) in numpy.

The engine keeps mt19937's raw state words plus PyTorch's bookkeeping (`left`,
`next`, the seed) so that a seeded stream, and the 5056-byte state that
`get_rng_state` returns, are the ones PyTorch's CPU generator has. Numbers come
out in blocks. The native kernels (runtime/random_native.py) seed, twist and
temper in place, the counters in a two-word array they update; where native code
cannot run, the numpy reference below does the same: a twist of the 624 words is
four vectorised numpy steps and the tempering one more.
"""
from __future__ import annotations

import threading

import numpy as np

from ..runtime import random_native

N, M = 624, 397
_MATRIX_A = np.uint32(0x9908B0DF)
_UPPER, _LOWER = np.uint32(0x80000000), np.uint32(0x7FFFFFFF)
_SEED_MULT = 1812433253
_DEFAULT_SEED = 67280421310721  # what PyTorch's own tg.Generator() starts from


def _seeded_words(seed: int) -> np.ndarray:
    """mt19937's initial state for a seed (only its low 32 bits count, as in PyTorch)."""
    words = [seed & 0xFFFFFFFF]
    for j in range(1, N):
        prev = words[-1]
        words.append((_SEED_MULT * (prev ^ (prev >> 30)) + j) & 0xFFFFFFFF)
    return np.array(words, dtype=np.uint32)


def _twist_pairs(cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    y = (cur & _UPPER) | (nxt & _LOWER)
    return (y >> np.uint32(1)) ^ ((nxt & np.uint32(1)) * _MATRIX_A)


def _twist(state: np.ndarray) -> np.ndarray:
    """The next 624 words. Word k is word k+397 (of the old state for k < 227, of the new
    one after) xor a mix of old words k and k+1, so the mixes are one vector operation and
    the new words come in three blocks and a last word."""
    old = state
    mix = _twist_pairs(old[:N - 1], old[1:])
    new = np.empty(N, dtype=np.uint32)
    k1 = N - M  # 227
    new[:k1] = old[M:] ^ mix[:k1]
    new[k1:2 * k1] = new[:k1] ^ mix[k1:2 * k1]
    new[2 * k1:N - 1] = new[k1:N - 1 - k1] ^ mix[2 * k1:]
    new[N - 1] = new[M - 1] ^ _twist_pairs(old[N - 1:], new[:1])[0]
    return new


def _temper(y: np.ndarray) -> np.ndarray:
    y = y ^ (y >> np.uint32(11))
    y = y ^ ((y << np.uint32(7)) & np.uint32(0x9D2C5680))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    return y ^ (y >> np.uint32(18))


class MT19937:
    """The engine with PyTorch's `left`/`next` counters: after seeding, `left` is 1 and the
    first draw twists; each draw takes word `next` and counts `left` down. The counters
    live in `counters` ([left, next], int64) so native kernels can update them."""

    __slots__ = ("seed", "state", "counters", "_lock")

    def __init__(self, seed: int = 5489):
        self._lock = threading.Lock()  # draws from several threads must not tear the counters
        self.reseed(seed)

    left = property(lambda self: int(self.counters[0]))
    next = property(lambda self: int(self.counters[1]))

    def set_counters(self, left: int, nxt: int) -> None:
        self.counters = np.array([left, nxt], dtype=np.int64)

    def reseed(self, seed: int) -> None:
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        k = random_native.kernels_if_loaded()
        if k is not None:
            self.state = np.empty(N, dtype=np.uint32)
            k.seed(self.state, self.seed & 0xFFFFFFFF)
        else:
            self.state = _seeded_words(self.seed)
        self.set_counters(1, 0)

    def copy(self) -> "MT19937":
        other = MT19937.__new__(MT19937)
        other._lock = threading.Lock()
        other.seed, other.state = self.seed, self.state.copy()
        other.counters = self.counters.copy()
        return other

    def random_u32(self, n: int) -> np.ndarray:
        """The next n 32-bit outputs, in order."""
        out = np.empty(n, dtype=np.uint32)
        k = random_native.kernels()
        with self._lock:
            if k is not None:
                k.draw(self.state, self.counters, out, n)
            else:
                self._draw(out)
        return out

    def fill(self, kernel, out: np.ndarray, n: int, *more) -> None:
        """Run a native kernel that draws from this engine (state and counters first)."""
        with self._lock:
            kernel(self.state, self.counters, out, n, *more)

    def _draw(self, out: np.ndarray) -> None:
        """The numpy reference of the native `draw`."""
        n, done = len(out), 0
        left, nxt = self.left, self.next
        while done < n:
            if left == 1:  # every word of this state is used: twist
                self.state = _twist(self.state)
                left, nxt = N + 1, 0
            take = min(n - done, left - 1)
            out[done:done + take] = _temper(self.state[nxt:nxt + take])
            nxt += take
            left -= take
            done += take
        self.set_counters(left, nxt)

    def random_u64(self, n: int) -> np.ndarray:
        """n 64-bit numbers, each from two consecutive outputs (the first is the high half)."""
        pairs = self.random_u32(2 * n).astype(np.uint64)
        return (pairs[0::2] << np.uint64(32)) | pairs[1::2]


# ---------------------------------------------------------------- the byte state

# PyTorch's CPUGeneratorImplState: the legacy THGenerator struct (seed, left, seeded,
# next, 624 words widened to 64 bits, three doubles and a flag for the double normal
# cache), then the float normal cache and its flag; padded by the C++ compiler to 5056.
STATE_DTYPE = np.dtype({
    "names": ["seed", "left", "seeded", "next", "words", "normal_x", "normal_y",
              "normal_rho", "normal_is_valid", "next_float_normal", "float_normal_is_valid"],
    "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", N), "<f8", "<f8", "<f8", "<i4", "<f4",
                "u1"],
    "offsets": [0, 8, 12, 16, 24, 5016, 5024, 5032, 5040, 5048, 5052],
    "itemsize": 5056,
})
STATE_BYTES = STATE_DTYPE.itemsize


def pack_state(engine: MT19937, double_normal: float | None,
               float_normal: float | None) -> np.ndarray:
    rec = np.zeros((), dtype=STATE_DTYPE)
    rec["seed"], rec["left"], rec["seeded"], rec["next"] = engine.seed, engine.left, 1, engine.next
    rec["words"] = engine.state.astype(np.uint64)
    if double_normal is not None:
        rec["normal_is_valid"], rec["normal_y"] = 1, double_normal
    if float_normal is not None:
        rec["float_normal_is_valid"], rec["next_float_normal"] = 1, float_normal
    return np.frombuffer(rec.tobytes(), dtype=np.uint8).copy()


def unpack_state(data: np.ndarray):
    """(engine, double normal cache, float normal cache) from PyTorch's byte layout."""
    data = np.ascontiguousarray(data, dtype=np.uint8).reshape(-1)
    if data.size != STATE_BYTES:
        raise RuntimeError(f"Expected a CPUGeneratorImplState of size {STATE_BYTES} but found "
                           f"the input RNG state size to be {data.size}")
    rec = np.frombuffer(data.tobytes(), dtype=STATE_DTYPE)[0]
    left, nxt = int(rec["left"]), int(rec["next"])
    if not (rec["seeded"] and 0 < left <= N and nxt <= N):
        raise RuntimeError("Invalid mt19937 state")
    engine = MT19937.__new__(MT19937)
    engine._lock = threading.Lock()
    engine.seed = int(rec["seed"])
    engine.state = rec["words"].astype(np.uint32)  # the C++ copy keeps the low 32 bits
    engine.set_counters(left, nxt)
    dn = float(rec["normal_y"]) if rec["normal_is_valid"] else None
    fn = float(rec["next_float_normal"]) if rec["float_normal_is_valid"] else None
    return engine, dn, fn
