"""The transforms beyond grad (issue 19), side by side with JAX's jit and torch.func
where they are importable:

    per-example gradients of the W1 network, batch 64     tg.vmap(tg.grad(loss))   <= 0.8x JAX
    jvp of W1's forward                                   tg.jvp                   <= 1.5x forward
    Hessian of sum(tanh(A @ x)), A 100x100                tg.hessian               <= 0.8x JAX
    16-layer tanh MLP (1024 wide, batch 512), gradient    tg.checkpoint every 4 layers:
        saved residual bytes -40%, peak memory -25%, time <= 1.4x

    .venv/bin/python benchmarks/run.py --only T
    # with JAX and torch (the reference venv, this tree's tapegrad):
    cd /tmp && PYTHONPATH=/tmp/tg-transforms-site /work/refvenv/bin/python \\
        -c "import tapegrad, runpy, sys; sys.argv = ['run.py', '--only', 'T']; \\
            runpy.run_path('$TREE/benchmarks/run.py', run_name='__main__')"

(/tmp/tg-transforms-site: symlinks making this tree the `tapegrad` package, and a
sitecustomize that drops the venv's editable finder for /work/main.)
"""
from __future__ import annotations

import numpy as np

import tapegrad as tg
from benchmarks.run import Row, _loss, _w1_data, check, side_by_side


def _optional(name: str):
    try:
        return __import__(name)
    except ImportError:
        return None


def _jax():
    jax = _optional("jax")
    if jax is not None:
        jax.config.update("jax_platforms", "cpu")
    return jax


# ---------------------------------------------------------------- per-example gradients

def _timed(fns, repeat, number):
    """side_by_side after three calls of each (the first calls compile and build the
    fast call; the shared warm-up stops after one round when those are slow)."""
    for f in fns:
        for _ in range(3):
            f()
    return side_by_side(fns, repeat, number)


def _cpu_medians(fns, repeat, number):
    """Median CPU seconds per call of each fn, in turns: on a shared machine the wall
    clock also counts the time other processes held the core."""
    import statistics
    import time
    times = [[] for _ in fns]
    for _ in range(repeat):
        for k, f in enumerate(fns):
            t0 = time.process_time()
            for _ in range(number):
                f()
            times[k].append((time.process_time() - t0) / number)
    return [statistics.median(t) for t in times]


def per_example_rows(repeat, number):
    x, y, w1, w2 = _w1_data(64, 1000, 100, 10)
    xs, ys = x[:, None, :], y[:, None, :]
    ours = tg.vmap(tg.grad(_loss, argnums=(0, 1)), in_axes=(None, None, 0, 0))
    g1, g2 = ours(w1, w2, xs, ys)
    from benchmarks.run import _numpy_w1_grads
    for k in (0, 37):
        _, n1, n2 = _numpy_w1_grads(w1, w2, xs[k], ys[k])
        check("T1 per-example w1", g1.numpy()[k], n1, rtol=1e-3, atol=1e-3 * np.abs(n1).max())
        check("T1 per-example w2", g2.numpy()[k], n2, rtol=1e-3, atol=1e-3 * np.abs(n2).max())
    fns, names = [lambda: ours(w1, w2, xs, ys)], ["tapegrad"]
    jax = _jax()
    if jax is not None:
        import jax.numpy as jnp

        def jloss(w1, w2, x, y):
            return jnp.sum((jnp.maximum(x @ w1, 0) @ w2 - y) ** 2)
        jf = jax.jit(jax.vmap(jax.grad(jloss, argnums=(0, 1)), in_axes=(None, None, 0, 0)))
        args = [jnp.asarray(a) for a in (w1, w2, xs, ys)]
        check("T1 jax", np.asarray(jf(*args)[0]), g1.numpy(), rtol=1e-3,
              atol=1e-3 * np.abs(g1.numpy()).max())
        fns.append(lambda: jax.block_until_ready(jf(*args)))
        names.append("JAX jit")
    torch = _optional("torch")
    if torch is not None:
        from torch.func import grad, vmap

        def tloss(w1, w2, x, y):
            return ((x.mm(w1).clamp(min=0).mm(w2) - y) ** 2).sum()
        tf = vmap(grad(tloss, argnums=(0, 1)), in_dims=(None, None, 0, 0))
        targs = [torch.from_numpy(a) for a in (w1, w2, xs, ys)]
        fns.append(lambda: tf(*targs))
        names.append("torch.func")
    times = _timed(fns, repeat, number)
    return [Row(f"T1 per-example grads, W1 batch 64 (vs {n})", times[0], n, t,
                "<= 0.8x" if n == "JAX jit" else "") for n, t in zip(names[1:], times[1:])] \
        or [Row("T1 per-example grads, W1 batch 64", times[0], "", None, "")]


# ---------------------------------------------------------------- jvp of the forward

def jvp_rows(repeat, number):
    """The tangent runs over the weights (x and y are data, closed over as JAX users
    write it): two products of the first layer's size against the forward's one."""
    x, y, w1, w2 = _w1_data(64, 1000, 100, 10)
    x, y = tg.from_numpy(x), tg.from_numpy(y)  # captured tensors: constants of the trace
    rng = np.random.default_rng(5)
    t1 = rng.standard_normal(w1.shape).astype(np.float32)
    t2 = rng.standard_normal(w2.shape).astype(np.float32)

    def forward(w1, w2):
        return _loss(w1, w2, x, y)
    fwd = tg.compile(forward)
    value, tangent = tg.jvp(forward, (w1, w2), (t1, t2))
    g1, g2 = tg.grad(forward, argnums=(0, 1))(w1, w2)
    want = float((g1.numpy() * t1).sum() + (g2.numpy() * t2).sum())
    check("T2 jvp", tangent.item(), want, rtol=1e-3)
    fns = [lambda: fwd(w1, w2), lambda: tg.jvp(forward, (w1, w2), (t1, t2))]
    jax = _jax()
    if jax is not None:
        import jax.numpy as jnp
        jx, jy = jnp.asarray(x.numpy()), jnp.asarray(y.numpy())

        def jloss(w1, w2):
            return jnp.sum((jnp.maximum(jx @ w1, 0) @ w2 - jy) ** 2)
        jf = jax.jit(jloss)
        jj = jax.jit(lambda p, t: jax.jvp(jloss, p, t))
        args = (jnp.asarray(w1), jnp.asarray(w2))
        targs = (jnp.asarray(t1), jnp.asarray(t2))
        fns += [lambda: jax.block_until_ready(jf(*args)),
                lambda: jax.block_until_ready(jj(args, targs))]
    # tapegrad's pair alone first: JAX's thread pool, busy after its own calls, slows
    # whatever runs next on this 2-core machine; then JAX's pair
    times = _timed(fns[:2], repeat, number) + (_timed(fns[2:], repeat, number)
                                               if jax is not None else [])
    cpu = _cpu_medians(fns[:2], repeat, number)
    rows = [Row("T2 jvp of W1's forward (tangent in w1, w2)", times[1], "tapegrad forward",
                times[0], "<= 1.5x", f"CPU time {cpu[1] / cpu[0]:.2f}x")]
    print(f"T2: CPU time jvp / forward: tapegrad {cpu[1] / cpu[0]:.2f}x "
          f"({cpu[1] * 1e6:.0f} / {cpu[0] * 1e6:.0f} us)")
    if jax is not None:
        jcpu = _cpu_medians(fns[2:], repeat, number)
        rows.append(Row("T2 the same, JAX's own jvp / forward", times[3], "JAX forward",
                        times[2], "", f"CPU time {jcpu[1] / jcpu[0]:.2f}x"))
        print(f"T2: CPU time jvp / forward: JAX {jcpu[1] / jcpu[0]:.2f}x "
              f"({jcpu[1] * 1e6:.0f} / {jcpu[0] * 1e6:.0f} us)")
        rows.append(Row("T2 jvp of W1's forward, tapegrad vs JAX", times[1], "JAX jvp",
                        times[3], ""))
    return rows


# ---------------------------------------------------------------- Hessian

def hessian_rows(repeat, number):
    rng = np.random.default_rng(7)
    a = (rng.standard_normal((100, 100)) / 10).astype(np.float32)
    x = rng.standard_normal(100).astype(np.float32)

    def f(a, x):
        return tg.tanh(a @ x).sum()
    ours = tg.hessian(f, argnums=1)
    h = ours(a, x).numpy()
    t = np.tanh(a @ x)
    want = a.T @ np.diag(-2 * t * (1 - t * t)) @ a
    check("T3 hessian", h, want, rtol=1e-3, atol=1e-4 * np.abs(want).max())
    fns, names = [lambda: ours(a, x)], []
    jax = _jax()
    if jax is not None:
        import jax.numpy as jnp
        jh = jax.jit(jax.hessian(lambda a, x: jnp.sum(jnp.tanh(a @ x)), argnums=1))
        ja, jx = jnp.asarray(a), jnp.asarray(x)
        fns.append(lambda: jax.block_until_ready(jh(ja, jx)))
        names.append("JAX jit")
    torch = _optional("torch")
    if torch is not None:
        from torch.func import hessian
        th = hessian(lambda a, x: torch.tanh(a @ x).sum(), argnums=1)
        ta, tx = torch.from_numpy(a), torch.from_numpy(x)
        fns.append(lambda: th(ta, tx))
        names.append("torch.func")
    times = _timed(fns, repeat, number)
    return [Row(f"T3 Hessian of sum(tanh(A @ x)), A 100x100 (vs {n})", times[0], n, t,
                "<= 0.8x" if n == "JAX jit" else "") for n, t in zip(names, times[1:])] \
        or [Row("T3 Hessian of sum(tanh(A @ x)), A 100x100", times[0], "", None, "")]


# ---------------------------------------------------------------- checkpoint

def _mlp_loss(blocks, every):
    def loss(ws, x):
        h = x
        for i in range(0, len(ws), every):
            h = blocks(h, ws[i:i + every])
        return (h * h).sum()
    return loss


def _layers(h, ws):
    for w in ws:
        h = tg.tanh(h @ w)
    return h


def _scratch_bytes(lowered) -> int:
    return lowered.native()._native.entry.scratch_bytes


def _jax_peaks(layers, width, batch, every, ws, x):
    """JAX's compiled memory (temporaries + outputs) for the same gradients, plain and
    checkpointed, from XLA's memory analysis; None without JAX."""
    jax = _jax()
    if jax is None:
        return None
    import jax.numpy as jnp

    def blocks(h, ws):
        for w in ws:
            h = jnp.tanh(h @ w)
        return h

    def loss_of(block):
        def loss(ws, x):
            h = x
            for i in range(0, layers, every):
                h = block(h, ws[i:i + every])
            return (h * h).sum()
        return loss
    args = ([jnp.asarray(w) for w in ws], jnp.asarray(x))
    out = []
    for block in (blocks, jax.checkpoint(blocks)):
        m = jax.jit(jax.grad(loss_of(block))).lower(*args).compile().memory_analysis()
        out.append(m.temp_size_in_bytes + m.output_size_in_bytes)
    return out


def checkpoint_rows(repeat, number, layers=16, width=1024, batch=512, every=4):
    """Peak memory of a gradient call = what the call allocates: its scratch area
    (intermediates, residuals, temporaries, except those the plan keeps in gradient
    arrays not yet written) and its results (the gradients)."""
    from tapegrad.tracer.transforms_checkpoint import residual_bytes
    rng = np.random.default_rng(11)
    ws = [(rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
          for _ in range(layers)]
    x = rng.standard_normal((batch, width)).astype(np.float32)
    plain = tg.grad(_mlp_loss(_layers, every))
    ckpt = tg.grad(_mlp_loss(tg.checkpoint(_layers), every))
    a, b = plain(ws, x), ckpt(ws, x)
    for ga, gb in zip(a, b):
        check("T4 checkpoint grads", gb.numpy(), ga.numpy(), rtol=1e-4, atol=1e-6)
    lp, lc = plain.lower(ws, x), ckpt.lower(ws, x)
    saved_p, saved_c = residual_bytes(lp), residual_bytes(lc)
    results = sum(w.nbytes for w in ws)
    peak_p, peak_c = _scratch_bytes(lp) + results, _scratch_bytes(lc) + results
    t_plain, t_ckpt = _timed([lambda: plain(ws, x), lambda: ckpt(ws, x)], repeat, number)
    mib = 2 ** 20
    note = (f"saved {saved_p / mib:.0f} -> {saved_c / mib:.0f} MiB "
            f"({100 * (1 - saved_c / saved_p):.0f}% less); peak (scratch + grads) "
            f"{peak_p / mib:.0f} -> {peak_c / mib:.0f} MiB "
            f"({100 * (1 - peak_c / peak_p):.0f}% less); scratch "
            f"{_scratch_bytes(lp) / mib:.0f} -> {_scratch_bytes(lc) / mib:.0f} MiB")
    jp = _jax_peaks(layers, width, batch, every, ws, x)
    if jp is not None:
        note += f"; JAX temp + outputs {jp[0] / mib:.0f} -> {jp[1] / mib:.0f} MiB"
    print(f"T4: {note}")
    return [Row(f"T4 checkpoint every {every} of {layers} tanh layers ({width}, batch {batch})",
                t_ckpt, "no checkpoint", t_plain, "<= 1.4x", note)]


def transforms_rows(quick: bool) -> list[Row]:
    rep = 5 if quick else 15
    rows = per_example_rows(rep, 3 if quick else 10)
    rows += jvp_rows(rep, 5 if quick else 20)
    rows += hessian_rows(rep, 5 if quick else 20)
    rows += checkpoint_rows(3 if quick else 7, 1, **({"layers": 8, "width": 256, "batch": 128}
                                                      if quick else {}))
    return rows
