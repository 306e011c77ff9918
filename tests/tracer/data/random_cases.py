"""The seeded programs whose numbers tapegrad must share with PyTorch's CPU generator.

Each case is a function of (torch, F) returning a list of results; it runs with
real PyTorch in record_random.py (a side venv) and with tapegrad in
tests/tracer/test_random_streams.py, which compares the two. Plain numpy
arrays in a result (RNG states) are compared by value only; tensors by value,
dtype and printed form.
"""
from __future__ import annotations

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


SEEDS = (0, 7, 42, 123456789, 2 ** 32 + 5)


@case
def uniform_sizes(torch, F):
    out = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        for n in (1, 5, 15, 16, 17, 33, 1000):
            out.append(torch.rand(n))
            out.append(torch.rand(n, dtype=torch.float64))
    return out


@case
def normal_sizes(torch, F):
    out = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        for n in (1, 2, 3, 15, 16, 17, 31, 32, 100, 1001):
            out.append(torch.randn(n))
            out.append(torch.randn(n, dtype=torch.float64))
        out.append(torch.randn(3, 5))
        out.append(torch.randn(2, 3, 4, dtype=torch.float64))
    return out


@case
def normal_large(torch, F):
    torch.manual_seed(0)
    return [torch.randn(64, 1000), torch.randn(30, 7, dtype=torch.float64)]


@case
def interleaved_stream(torch, F):
    """One stream shared by every kind of draw: the scalar normal's cached sine carries over
    from a float32 call to a float64 one, and the integer draws shift everything after."""
    torch.manual_seed(11)
    return [torch.randn(3), torch.rand(2), torch.randn(20), torch.randn(3, dtype=torch.float64),
            torch.randint(0, 10, (5,)), torch.randn(1), torch.randperm(7), torch.randn(5),
            torch.rand(4, dtype=torch.float64), torch.randn(17, dtype=torch.float64),
            torch.randint(-3, 3, (2, 2)), torch.randn(2)]


@case
def randint_ranges(torch, F):
    out = []
    for seed in (0, 5):
        torch.manual_seed(seed)
        for low, high in ((0, 10), (-5, 7), (0, 2), (-2 ** 40, 2 ** 41), (0, 2 ** 28 - 1),
                          (0, 2 ** 28), (3, 3 + 2 ** 32), (0, 2 ** 32 - 1),
                          (-2 ** 63, 2 ** 63 - 1), (100, 1000)):
            out.append(torch.randint(low, high, (9,)))
        out.append(torch.randint(6, (2, 3)))
        out.append(torch.randint(low=-4, high=4, size=(5,)))
        out.append(torch.randint(0, 1000, (6,), dtype=torch.float64))
        out.append(torch.randint(-20, 20, (6,), dtype=torch.float32))
        out.append(torch.randint(0, 2, (8,), dtype=torch.bool))
    return out


@case
def randperm_sizes(torch, F):
    out = []
    for seed in (0, 3):
        torch.manual_seed(seed)
        for n in (0, 1, 2, 5, 16, 100, 2000):
            out.append(torch.randperm(n))
        out.append(torch.randperm(10, dtype=torch.float32))
    return out


@case
def normal_and_uniform_fills(torch, F):
    torch.manual_seed(21)
    out = []
    for dt in (torch.float32, torch.float64):
        for n in (7, 40):
            out.append(torch.empty(n, dtype=dt).normal_(2.5, 0.3))
            out.append(torch.empty(n, dtype=dt).normal_(-1.0, 4.0))
            out.append(torch.empty(n, dtype=dt).uniform_(-2.0, 3.0))
            out.append(torch.empty(n, dtype=dt).uniform_(0.1, 0.3))
            out.append(torch.empty(n, dtype=dt).uniform_())
    return out


@case
def noncontiguous_fills(torch, F):
    """A transposed view is filled in address order (and a normal_ of it takes the scalar
    path, non-contiguous tensors never run the 16-wide kernel)."""
    torch.manual_seed(4)
    a = torch.zeros(4, 6)
    a.t().normal_()
    b = torch.zeros(5, 4, dtype=torch.float64)
    b.t().uniform_(-1.0, 1.0)
    c = torch.zeros(3, 8)
    c.t().bernoulli_(0.4)
    return [a, b, c]


@case
def bernoulli_forms(torch, F):
    torch.manual_seed(9)
    p32 = torch.rand(30)
    p64 = torch.rand(3, 10, dtype=torch.float64)
    edge = torch.tensor([0.0, 1.0, 0.5, 1.0, 0.0])
    return [torch.bernoulli(p32), torch.bernoulli(p64), torch.bernoulli(edge),
            torch.bernoulli(torch.zeros(12), 0.7), p32.bernoulli(), p32.bernoulli(0.2),
            torch.empty(25).bernoulli_(0.3), torch.empty(25, dtype=torch.float64).bernoulli_(),
            torch.empty(10, dtype=torch.int64).bernoulli_(0.5),
            torch.empty(10, dtype=torch.bool).bernoulli_(0.5),
            torch.empty(3, 10).bernoulli_(p64), torch.empty(2, 5).bernoulli_(p32[:5])]


@case
def dropout_train(torch, F):
    torch.manual_seed(13)
    x = torch.randn(8, 10)
    x64 = torch.randn(6, 5, dtype=torch.float64)
    y = torch.randn(40)
    out = [F.dropout(x, 0.5), F.dropout(x, 0.2), F.dropout(x64, 0.5), F.dropout(x, 0.5, False),
           F.dropout(y, p=0.1, training=True), F.dropout(x, 1.0), F.dropout(x, 0.0)]
    z = x.clone()
    F.dropout(z, 0.3, True, True)
    w = torch.randn(3, 4, requires_grad=True)
    d = F.dropout(w, 0.5)
    d.sum().backward()
    return out + [z, d, w.grad]


@case
def normal_overloads(torch, F):
    torch.manual_seed(17)
    mean = torch.arange(20.0)
    std = torch.linspace(0.5, 2.0, 20)
    mean64 = torch.zeros(3, 1, dtype=torch.float64)
    std64 = torch.ones(1, 4, dtype=torch.float64)
    return [torch.normal(mean, std), torch.normal(mean, 2.0), torch.normal(0.5, std),
            torch.normal(2.0, 3.0, size=(4, 5)), torch.normal(2.0, 3.0, (20,)),
            torch.normal(mean[:5], std[:5]), torch.normal(mean64, std64)]


@case
def like_functions(torch, F):
    torch.manual_seed(23)
    base = torch.zeros(4, 5)
    base64 = torch.zeros(20, dtype=torch.float64)
    ints = torch.zeros(6, dtype=torch.int64)
    return [torch.rand_like(base), torch.randn_like(base), torch.randn_like(base64),
            torch.rand_like(base64), torch.randint_like(base, 10), torch.randint_like(ints, -3, 3),
            torch.randn_like(base, dtype=torch.float64)]


@case
def random_fills(torch, F):
    torch.manual_seed(31)
    return [torch.empty(12, dtype=torch.int64).random_(),
            torch.empty(12, dtype=torch.int64).random_(10),
            torch.empty(12, dtype=torch.int64).random_(-3, 8),
            torch.empty(12, dtype=torch.float32).random_(),
            torch.empty(12, dtype=torch.float64).random_(),
            torch.empty(12, dtype=torch.bool).random_(),
            torch.empty(6, dtype=torch.int64).random_(-2 ** 63, None),
            torch.empty(6, dtype=torch.int64).random_(2 ** 40, None),
            torch.empty(8, dtype=torch.float32).random_(0, 100)]


@case
def other_distributions(torch, F):
    torch.manual_seed(37)
    out = []
    for dt in (torch.float32, torch.float64):
        out += [torch.empty(20, dtype=dt).exponential_(), torch.empty(20, dtype=dt).exponential_(2.5),
                torch.empty(10, dtype=dt).geometric_(0.3), torch.empty(10, dtype=dt).cauchy_(),
                torch.empty(10, dtype=dt).cauchy_(1.0, 0.5), torch.empty(9, dtype=dt).log_normal_(),
                torch.empty(9, dtype=dt).log_normal_(0.0, 0.5)]
    return out


@case
def generator_objects(torch, F):
    g = torch.Generator().manual_seed(5)
    torch.manual_seed(1)
    fresh = torch.Generator()
    out = [torch.randn(20, generator=g), torch.rand(3), torch.rand(3, generator=g),
           torch.randint(0, 10, (4,), generator=g), torch.randperm(8, generator=g),
           torch.randn(3, generator=g), torch.randn(3),
           torch.empty(5).normal_(generator=g), torch.empty(5).uniform_(generator=g),
           torch.bernoulli(torch.full((6,), 0.5), generator=g),
           torch.randn(4, generator=fresh)]
    g2 = torch.Generator()
    g2.manual_seed(2 ** 40 + 3)
    out.append(torch.tensor(float(g2.initial_seed())))
    out.append(torch.tensor(float(fresh.initial_seed())))
    out.append(g.get_state().numpy())
    return out


@case
def rng_state_round_trip(torch, F):
    torch.manual_seed(3)
    torch.randn(5)  # leaves a cached double normal: the state records it
    state = torch.get_rng_state()
    a = torch.randn(7)
    torch.set_rng_state(state)
    b = torch.randn(7)
    torch.manual_seed(2)
    torch.rand(700)
    s2 = torch.get_rng_state()
    return [state.numpy(), a, b, s2.numpy(), torch.tensor(float(torch.initial_seed()))]


@case
def seeds_and_returns(torch, F):
    g = torch.manual_seed(-1)
    out = [torch.tensor(float(torch.initial_seed())), torch.rand(3)]
    torch.manual_seed(2 ** 64 - 2)
    out.append(torch.rand(3))
    torch.random.manual_seed(8)
    out.append(torch.randn(4))
    out.append(torch.tensor(g is torch.default_generator))
    return out


@case
def seed002_cell(torch, F):
    """The `torch.manual_seed(7)` cell of seed 002 (shared/seeds/002_*.txt), run alone."""
    torch.manual_seed(7)
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = F.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    return [w, b, z, loss, w.grad, b.grad]


@case
def zero_dim_and_empty(torch, F):
    torch.manual_seed(0)
    return [torch.randint(0, 5, ()), torch.randn(()), torch.rand(()), torch.randn(0),
            torch.rand(0, 3), torch.randn(2, 0, dtype=torch.float64), torch.randn(4)]


@case
def multinomial_draws(torch, F):
    torch.manual_seed(41)
    p = torch.rand(3, 7)
    p64 = torch.rand(9, dtype=torch.float64)
    w = torch.tensor([0.0, 10.0, 3.0, 0.0, 1.0])
    return [torch.multinomial(p, 12, replacement=True), torch.multinomial(p, 4),
            torch.multinomial(p, 1), torch.multinomial(p64, 5), torch.multinomial(p64, 30, True),
            torch.multinomial(w, 2), torch.multinomial(w, 1), p.multinomial(3),
            torch.multinomial(w, 6, replacement=True)]
