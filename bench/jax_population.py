"""The population engine against a JAX jit(vmap(step)) population, in one process.

    pip install -e ".[jax]"        # optional, not a dependency of seqmem
    python -m bench.jax_population [--out results/jax_population.csv]

The setting is the notebook's one_step mode (state reset before every character,
softmax before the cross-entropy, Adam lr 1e-3) on the alphabet, one thread, for each
cell (LSTM, GRU, tanh RNN). JAX runs the whole model (its W_hh gradient is zero there,
as in the notebook) in two ways: one jitted vmapped step per character, and one jitted
`lax.scan` over the epoch. The engine (both its kernels) and JAX are timed alternately
in the same run, so the ratios hold on a noisy machine, after checking that all compute
the same first-epoch losses. Prints the median microseconds per model-step and writes
them, with provenance, to --out.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402

from seqmem import kernel_numba, kernel_torch  # noqa: E402
from seqmem.config import preset  # noqa: E402
from seqmem.model import stacked_weights  # noqa: E402
from seqmem.population import Population  # noqa: E402
from seqmem.sequences import ALPHABET, encode  # noqa: E402

A = N = len(ALPHABET)


def jax_population(p: int, h: int, cell: str = "lstm"):
    """Jitted per-step and per-epoch functions over p stacked models (nn layout weights)."""
    opt = optax.adam(1e-3)

    def hidden(w, x):
        """The new state from input x and a reset state (the notebook's one_step)."""
        ig, hg = w["w_ih"] @ x + w["b_ih"], w["w_hh"] @ jnp.zeros(h) + w["b_hh"]
        if cell == "lstm":
            i, f, g, o = jnp.split(ig + hg, 4)
            c = jax.nn.sigmoid(i) * jnp.tanh(g)  # the state was reset: c_prev = 0
            return jax.nn.sigmoid(o) * jnp.tanh(c)
        if cell == "gru":
            ir, iz, in_ = jnp.split(ig, 3)
            hr, hz, hn = jnp.split(hg, 3)
            r, z = jax.nn.sigmoid(hr + ir), jax.nn.sigmoid(hz + iz)
            n = jnp.tanh(in_ + hn * r)
            return (jnp.zeros(h) - n) * z + n
        return jnp.tanh(hg + ig)

    def loss_fn(w, x, y):
        probs = jax.nn.softmax(w["w_out"] @ hidden(w, x) + w["b_out"])
        return -jax.nn.log_softmax(probs)[y]

    def step(w, s, x, y):
        loss, grad = jax.value_and_grad(loss_fn)(w, x, y)
        upd, s = opt.update(grad, s, w)
        return optax.apply_updates(w, upd), s, loss

    vstep = jax.vmap(step, in_axes=(0, 0, None, None))

    def epoch(w, s, xs, ys):
        def body(carry, xy):
            w, s, loss = vstep(*carry, *xy)
            return (w, s), loss
        (w, s), losses = jax.lax.scan(body, (w, s), (xs, ys))
        return w, s, losses

    def fresh():
        w = {k: jnp.asarray(v.numpy())
             for k, v in stacked_weights(list(range(p)), h, cell=cell).items()}
        return w, jax.vmap(opt.init)(w)

    return (jax.jit(vstep, donate_argnums=(0, 1)), jax.jit(epoch, donate_argnums=(0, 1)), fresh)


def measure(p: int, h: int, cell: str = "lstm", rounds: int = 7) -> dict[str, float]:
    step, epoch, fresh = jax_population(p, h, cell)
    eye = jnp.eye(A)
    idx = np.arange(N)
    xs, ys = eye[idx], jnp.asarray((idx + 1) % N)
    state = {"step": fresh(), "scan": fresh()}

    def jax_steps():
        w, s = state["step"]
        for t in range(N):
            w, s, loss = step(w, s, xs[t], ys[t])
        loss.block_until_ready()
        state["step"] = (w, s)

    def jax_scan():
        w, s, losses = epoch(*state["scan"], xs, ys)
        losses.block_until_ready()
        state["scan"] = (w, s)

    cfg = preset("notebook", ALPHABET, units=h, reset="char", cell=cell)
    pops = {k: Population(stacked_weights(list(range(p)), h, cell=cell)) for k in ("numba", "torch")}
    idx = encode(ALPHABET)
    seq = torch.from_numpy(idx)
    act = kernel_torch.Activations(N, h, A, "cpu")
    work = kernel_numba.Workspace.allocate(N, h, A, 1, cell)
    done = {k: iter(range(10**6)) for k in pops}  # epochs each population has trained

    def numba_epoch():
        return kernel_numba.train_epoch(pops["numba"], cfg, idx, 1, work, N * next(done["numba"]))

    @torch.inference_mode()
    def torch_epoch():
        step0 = N * next(done["torch"])
        return kernel_torch.train_epoch(pops["torch"], cfg, seq, seq.roll(-1), 1, act,
                                        step0).numpy()

    # Same computation? The first epoch's losses from the same initial weights must agree.
    w, s, theirs = epoch(*fresh(), xs, ys)
    for name, f in (("numba", numba_epoch), ("torch", torch_epoch)):
        if not np.allclose(f(), np.asarray(theirs).T, rtol=1e-4, atol=1e-6):
            raise SystemExit(f"{cell} P={p} H={h}: JAX and seqmem ({name} kernel) disagree on "
                             "the first epoch's losses")

    impls = {"seqmem (numba kernel)": numba_epoch, "seqmem (torch kernel)": torch_epoch,
             "jax jit(vmap(step))": jax_steps, "jax jit(scan over epoch)": jax_scan}
    times: dict[str, list[float]] = {k: [] for k in impls}
    for f in impls.values():  # compile and warm up
        f()
    for _ in range(rounds):  # alternate, so load changes hit every implementation alike
        for name, f in impls.items():
            start = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - start)
    return {k: float(np.median(v)) / (N * p) * 1e6 for k, v in times.items()}


CASES = [("lstm", 64, 32), ("lstm", 256, 32), ("lstm", 64, 128), ("gru", 64, 32),
         ("gru", 64, 128), ("rnn", 64, 32), ("rnn", 64, 128)]


def main(argv: list[str] | None = None) -> None:
    import argparse

    import pandas as pd

    from bench.steptime import made_by

    ap = argparse.ArgumentParser(prog="python -m bench.jax_population", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="also write the table (with provenance) to this CSV")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    names = ["seqmem (numba kernel)", "seqmem (torch kernel)", "jax jit(vmap(step))",
             "jax jit(scan over epoch)"]
    print("| cell | P | H | " + " | ".join(names) + " |  (µs per model-step)")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for cell, p, h in CASES:
        r = measure(p, h, cell)
        print(f"| {cell} | {p} | {h} | " + " | ".join(f"{v:.1f}" for v in r.values()) + " |",
              flush=True)
        rows += [{"cell": cell, "P": p, "H": h, "impl": k, "per_model_step_us": round(v, 3),
                  **{c: x for c, x in made_by("population").items()
                     if c not in ("kernel", "numerics_version")},
                  "jax_version": jax.__version__} for k, v in r.items()]
    if args.out:
        pd.DataFrame(rows).to_csv(args.out, index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
