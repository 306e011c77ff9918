"""Cases run twice: by data/record_layers.py with PyTorch (its numbers are written to
data/layers_reference.json) and by test_layers_reference.py / test_data_loader.py with
tapegrad. Each case takes the `torch` module it runs under and returns plain data
(`describe` turns tensors and containers into JSON), so both runs execute the same lines.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np


def describe(obj):
    """JSON-able form of a value: tensors keep dtype, shape and values; containers
    keep their kind (a tuple and a list differ, as they do after default_collate)."""
    if hasattr(obj, "dtype") and hasattr(obj, "tolist") and hasattr(obj, "shape") \
            and not isinstance(obj, np.ndarray):
        return {"tensor": str(obj.dtype).replace("torch.", ""), "shape": list(obj.shape),
                "values": obj.detach().tolist()}
    if isinstance(obj, tuple):
        return {type(obj).__name__: [describe(x) for x in obj]}
    if isinstance(obj, list):
        return [describe(x) for x in obj]
    if isinstance(obj, dict):
        return {"dict": {str(k): describe(v) for k, v in obj.items()}}
    return obj


def _grad_weights(torch, shape):
    """A fixed, uneven upstream gradient so that sum(out * G) tests every output."""
    n = int(np.prod(shape))
    return torch.tensor(np.cos(np.arange(n) * 0.7).reshape(shape).astype(np.float32))


def _backward(torch, out, params):
    (out * _grad_weights(torch, tuple(out.shape))).sum().backward()
    return [describe(p.grad) if p.grad is not None else None for p in params]


# ----------------------------------------------------------------------------- layers

def embedding_init(torch):
    torch.manual_seed(0)
    a = torch.nn.Embedding(10, 4, padding_idx=3)
    b = torch.nn.Embedding(6, 2, padding_idx=-1)
    return [describe(a.weight), describe(b.weight), b.padding_idx]


def embedding_forward(torch):
    torch.manual_seed(1)
    e = torch.nn.Embedding(8, 3, padding_idx=0)
    idx = torch.tensor([[1, 0, 5], [5, 5, 7]])
    out = e(idx)
    return [describe(out), out.grad_fn.name()] + _backward(torch, out, [e.weight])


def embedding_scale_grad_by_freq(torch):
    torch.manual_seed(2)
    e = torch.nn.Embedding(5, 2, padding_idx=2, scale_grad_by_freq=True)
    out = e(torch.tensor([0, 1, 1, 2, 4, 1, 0]))
    return [describe(out)] + _backward(torch, out, [e.weight])


def embedding_max_norm(torch):
    torch.manual_seed(3)
    e = torch.nn.Embedding(6, 3, max_norm=1.0)
    out = e(torch.tensor([[0, 2], [2, 5]]))
    return [describe(out), describe(e.weight)] + _backward(torch, out, [e.weight])


def embedding_from_pretrained(torch):
    table = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    frozen = torch.nn.Embedding.from_pretrained(table)
    trained = torch.nn.Embedding.from_pretrained(table.clone(), freeze=False, padding_idx=1)
    out = trained(torch.tensor([1, 2, 1, 0]))
    return [frozen.weight.requires_grad, repr(frozen), repr(trained),
            describe(frozen(torch.tensor([2, 0])))] + _backward(torch, out, [trained.weight])


def functional_embedding(torch):
    w = torch.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    out = torch.nn.functional.embedding(torch.tensor([[3, 1], [1, 1]]), w, padding_idx=1)
    return [describe(out)] + _backward(torch, out, [w])


def _uniform_affine(torch, module):
    with torch.no_grad():
        for p in module.parameters():
            torch.nn.init.uniform_(p, -1.0, 2.0)


def layernorm(torch):
    torch.manual_seed(4)
    ln = torch.nn.LayerNorm(4)
    _uniform_affine(torch, ln)
    x = (torch.randn(2, 3, 4) * 2 + 1).requires_grad_()
    out = ln(x)
    return [describe(out), out.grad_fn.name()] + _backward(torch, out, [x, ln.weight, ln.bias])


def layernorm_variants(torch):
    torch.manual_seed(5)
    x = torch.randn(2, 3, 4, requires_grad=True)
    plain = torch.nn.LayerNorm((3, 4), elementwise_affine=False, eps=1e-3)
    no_bias = torch.nn.LayerNorm([4], bias=False)
    _uniform_affine(torch, no_bias)
    out = plain(x) + no_bias(x) * 0.5
    return [describe(out), list(dict(plain.named_parameters())),
            list(dict(no_bias.named_parameters()))] + _backward(torch, out, [x, no_bias.weight])


def functional_layer_norm(torch):
    x = torch.tensor(np.linspace(-2, 3, 10).reshape(2, 5), dtype=torch.float64,
                     requires_grad=True)
    w = torch.tensor(np.linspace(0.5, 1.5, 5), dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.layer_norm(x, (5,), weight=w, eps=1e-2)
    return [describe(out)] + _backward(torch, out, [x, w])


def _batchnorm_steps(torch, bn, shape, steps=3):
    results = []
    x = None
    for _ in range(steps):
        x = torch.randn(*shape).requires_grad_()
        out = bn(x)
    results.append(describe(out))
    results += _backward(torch, out, [x] + list(bn.parameters()))
    results.append({k: describe(v) for k, v in bn.state_dict().items()})
    bn.eval()
    results.append(describe(bn(x)))
    return results


def batchnorm_2d(torch):
    torch.manual_seed(6)
    bn = torch.nn.BatchNorm1d(3)
    _uniform_affine(torch, bn)
    return _batchnorm_steps(torch, bn, (5, 3))


def batchnorm_3d_cumulative(torch):
    torch.manual_seed(7)
    bn = torch.nn.BatchNorm1d(3, momentum=None, eps=1e-3)
    _uniform_affine(torch, bn)
    return _batchnorm_steps(torch, bn, (4, 3, 5))


def batchnorm_without_stats(torch):
    torch.manual_seed(8)
    bn = torch.nn.BatchNorm1d(2, affine=False, track_running_stats=False)
    res = _batchnorm_steps(torch, bn, (3, 2, 2), steps=1)
    return res + [list(bn.state_dict()), repr(bn)]


def functional_batch_norm(torch):
    torch.manual_seed(9)
    x = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    rm, rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    out = torch.nn.functional.batch_norm(x, rm, rv, training=True, momentum=0.3)
    ev = torch.nn.functional.batch_norm(x, rm, rv, training=False)
    return [describe(out), describe(rm), describe(rv), describe(ev)] + _backward(torch, out, [x])


def model_state_and_repr(torch):
    torch.manual_seed(10)
    model = torch.nn.Sequential(
        torch.nn.Embedding(5, 4, padding_idx=0), torch.nn.LayerNorm(4), torch.nn.Flatten(),
        torch.nn.Linear(8, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU())
    state = model.state_dict()
    return [repr(model), {k: describe(v) for k, v in state.items()},
            [n for n, _ in model.named_buffers()]]


def reprs(torch):
    nn = torch.nn
    return [repr(m) for m in [
        nn.Embedding(3, 2), nn.Embedding(10, 3, padding_idx=-2, max_norm=2.0, norm_type=1.0,
                                         scale_grad_by_freq=True),
        nn.LayerNorm(5), nn.LayerNorm((2, 3), eps=1e-6, elementwise_affine=False),
        nn.LayerNorm(4, bias=False), nn.BatchNorm1d(7),
        nn.BatchNorm1d(2, eps=0.01, momentum=None, affine=False, track_running_stats=False),
        nn.BatchNorm1d(3, bias=False)]]


def model_dtypes_and_training(torch):
    torch.manual_seed(11)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2),
                                torch.nn.LayerNorm(2), torch.nn.Dropout(0.5))
    model.double()
    dtypes_after = {k: str(v.dtype) for k, v in model.state_dict().items()}
    model.eval()
    modes = [m.training for m in model.modules()]
    model.train()
    model.requires_grad_(False)
    return [dtypes_after, modes, [p.requires_grad for p in model.parameters()],
            [m.training for m in model.modules()]]


def old_checkpoint_without_batch_count(torch):
    """A BatchNorm state dict from before num_batches_tracked loads strictly."""
    torch.manual_seed(12)
    bn = torch.nn.BatchNorm1d(2)
    bn(torch.randn(4, 2))
    old = {k: v.clone() * 2 for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    fresh = torch.nn.BatchNorm1d(2)
    keys = fresh.load_state_dict(old)
    return [list(keys.missing_keys), list(keys.unexpected_keys),
            {k: describe(v) for k, v in fresh.state_dict().items()}]


def state_dict_metadata(torch):
    """State dicts carry each module's layout version; with it, a BatchNorm state dict
    that lacks num_batches_tracked is missing a key (strict loading fails)."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    state = model.state_dict()
    versions = {k: dict(v) for k, v in state._metadata.items()}
    del state["1.num_batches_tracked"]
    try:
        model.load_state_dict(state)
        outcome = "loaded"
    except RuntimeError as e:
        outcome = str(e)
    keys = model.load_state_dict(state, strict=False)
    return [versions, outcome, list(keys.missing_keys)]


def forward_hooks(torch):
    calls = []
    lin = torch.nn.Linear(2, 2)
    lin.register_forward_pre_hook(lambda m, a: calls.append("pre"))
    lin.register_forward_pre_hook(lambda m, a: calls.append("pre-first"), prepend=True)
    lin.register_forward_pre_hook(lambda m, a, k: (calls.append(sorted(k)) or ((a[0] * 0,), k)),
                                  with_kwargs=True)
    lin.register_forward_hook(lambda m, a, k, o: calls.append(("kw", sorted(k))) or o + 1,
                              with_kwargs=True)
    h = lin.register_forward_hook(lambda m, a, o: calls.append("post") or o * 2, prepend=True)
    first = lin(torch.ones(1, 2))
    h.remove()
    second = lin(torch.ones(1, 2))
    return [calls, describe(first - lin.bias * 2), describe(second - lin.bias)]


def gains(torch):
    g = torch.nn.init.calculate_gain
    return [g("linear"), g("conv1d"), g("conv2d"), g("conv_transpose3d"), g("sigmoid"),
            g("tanh"), g("relu"), g("leaky_relu"), g("leaky_relu", 0.3), g("leaky_relu", 2),
            g("selu")]


def trunc_normal(torch):
    init = torch.nn.init
    torch.manual_seed(13)
    out = [describe(init.trunc_normal_(torch.empty(5))),
           describe(init.trunc_normal_(torch.empty(3, 20), std=0.02)),
           describe(init.trunc_normal_(torch.empty(40), mean=0.5, a=-0.1, b=0.1)),
           describe(init.trunc_normal_(torch.empty(6, 7), a=-0.5, b=1.0)),
           describe(init.trunc_normal_(torch.empty(30, dtype=torch.float64), std=3.0))]
    g = torch.Generator().manual_seed(14)
    out.append(describe(init.trunc_normal_(torch.empty(17), a=0.0, b=0.2, generator=g)))
    out.append(describe(torch.randn(3)))  # the global stream after them
    return out


LAYER_CASES = [embedding_init, embedding_forward, embedding_scale_grad_by_freq,
               embedding_max_norm, embedding_from_pretrained, functional_embedding, layernorm,
               layernorm_variants, functional_layer_norm, batchnorm_2d, batchnorm_3d_cumulative,
               batchnorm_without_stats, functional_batch_norm, model_state_and_repr, reprs,
               model_dtypes_and_training, old_checkpoint_without_batch_count, state_dict_metadata,
               forward_hooks,
               gains, trunc_normal]


# ------------------------------------------------------------------------- utils.data

def _loader_orders(torch, loader, epochs=2):
    return [[describe(b) for b in loader] for _ in range(epochs)]


def shuffled_orders(torch):
    D = torch.utils.data
    DataLoader = D.DataLoader
    out = []
    for seed in range(5):
        torch.manual_seed(seed)
        out.append(_loader_orders(torch, DataLoader(list(range(11)), batch_size=3,
                                                    shuffle=True)))
        out.append(_loader_orders(torch, DataLoader(list(range(11)), batch_size=4,
                                                    shuffle=True, drop_last=True), 1))
        out.append(describe(torch.randn(2)))  # the global stream after the epochs
    return out


def sequential_loader_advances_the_stream(torch):
    D = torch.utils.data
    DataLoader = D.DataLoader
    torch.manual_seed(20)
    loader = DataLoader(range(5), batch_size=2)
    return [_loader_orders(torch, loader), len(loader), describe(torch.rand(2))]


def loader_with_generator(torch):
    D = torch.utils.data
    DataLoader = D.DataLoader
    torch.manual_seed(21)
    g = torch.Generator().manual_seed(42)
    loader = DataLoader(list(range(7)), batch_size=3, shuffle=True, generator=g)
    return [_loader_orders(torch, loader, 3), describe(torch.rand(2))]


def samplers(torch):
    D = torch.utils.data
    BatchSampler, RandomSampler = D.BatchSampler, D.RandomSampler
    SubsetRandomSampler = D.SubsetRandomSampler
    torch.manual_seed(22)
    with_replacement = list(RandomSampler(range(9), replacement=True, num_samples=40))
    more_than_one_pass = list(RandomSampler(range(4), num_samples=10))
    g = torch.Generator().manual_seed(3)
    subset = list(SubsetRandomSampler([10, 20, 30, 40], generator=g))
    batches = list(BatchSampler(range(7), 3, drop_last=True))
    return [with_replacement, more_than_one_pass, subset, batches, describe(torch.rand(2))]


def splits(torch):
    D = torch.utils.data
    random_split = D.random_split
    torch.manual_seed(23)
    out = [[list(s) for s in random_split(range(10), [3, 7])],
           [list(s) for s in random_split(range(10), [0.3, 0.3, 0.4])],
           [list(s) for s in random_split(range(11), [0.5, 0.5])],
           [list(s) for s in random_split(range(7), [0.1, 0.2, 0.7])]]
    g = torch.Generator().manual_seed(5)
    out.append([list(s) for s in random_split(range(12), [0.25, 0.75], generator=g)])
    out.append(describe(torch.rand(2)))
    return out


Point = namedtuple("Point", "x y")


def collation(torch):
    D = torch.utils.data
    DataLoader, default_collate = D.DataLoader, D.default_collate
    samples = [
        [{"a": 1.5, "b": (1, 2), "c": "s1"}, {"a": 2.5, "b": (3, 4), "c": "s2"}],
        [(np.array([1.0, 2.0], np.float32), 3), (np.array([4.0, 5.0], np.float32), 6)],
        [[True, 1.0], [False, 2.0]],
        [Point(torch.tensor([1.0]), 2), Point(torch.tensor([3.0]), 4)],
        [np.float64(1.5), np.float64(2.5)], [np.int32(4), np.int32(5)],
        [torch.tensor(1), torch.tensor(2)],
    ]
    out = [describe(default_collate(s)) for s in samples]
    out.append([describe(b) for b in DataLoader([1, 2, 3], batch_size=None)])
    out.append([describe(b) for b in DataLoader([np.ones(2)], batch_size=None)])
    return out


def tensor_dataset_loader(torch):
    D = torch.utils.data
    DataLoader, Subset, TensorDataset = D.DataLoader, D.Subset, D.TensorDataset
    torch.manual_seed(24)
    ds = TensorDataset(torch.arange(12.0).reshape(6, 2), torch.tensor([0, 1, 2, 0, 1, 2]))
    sub = Subset(ds, [5, 0, 3, 2])
    out = [describe(ds[2]), len(ds), describe(sub[1]), len(sub)]
    out.append(_loader_orders(torch, DataLoader(ds, batch_size=4, shuffle=True), 2))
    out.append(_loader_orders(torch, DataLoader(sub, batch_size=3), 1))
    out.append(describe((ds + sub)[7]))
    return out


def iterable_dataset(torch):
    D = torch.utils.data
    DataLoader, IterableDataset = D.DataLoader, D.IterableDataset

    class Counter(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    torch.manual_seed(25)
    return [[describe(b) for b in DataLoader(Counter(), batch_size=3)],
            [describe(b) for b in DataLoader(Counter(), batch_size=3, drop_last=True)],
            [describe(b) for b in DataLoader(Counter(), batch_size=None)][:2],
            describe(torch.rand(1))]


DATA_CASES = [shuffled_orders, sequential_loader_advances_the_stream, loader_with_generator,
              samplers, splits, collation, tensor_dataset_loader, iterable_dataset]
