"""The population engine against a JAX jit(vmap(step)) population, in one process.

    pip install "jax[cpu]" optax        # optional, not a dependency of seqmem
    python -m bench.jax_population

The setting is the notebook's one_step mode (state reset before every character,
softmax before the cross-entropy, Adam lr 1e-3) on the alphabet, one thread. JAX runs
the whole model (its W_hh gradient is zero there, as in the notebook) in two ways: one
jitted vmapped step per character, and one jitted `lax.scan` over the epoch. The engine
(both its kernels) and JAX are timed alternately in the same run, so the ratios hold on a
noisy machine.
Prints the median microseconds per model-step.
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

from seqmem.config import preset  # noqa: E402
from seqmem.kernel import Workspace  # noqa: E402
from seqmem.model import stacked_weights  # noqa: E402
from seqmem.population import Population, _Activations, _train_epoch, _train_epoch_numba  # noqa: E402
from seqmem.sequences import ALPHABET, encode  # noqa: E402

A = N = len(ALPHABET)


def jax_population(p: int, h: int):
    """Jitted per-step and per-epoch functions over p stacked models (nn layout weights)."""
    opt = optax.adam(1e-3)

    def loss_fn(w, x, y):
        pre = w["w_ih"] @ x + w["b_ih"] + w["w_hh"] @ jnp.zeros(h) + w["b_hh"]
        i, f, g, o = jnp.split(pre, 4)
        c = jax.nn.sigmoid(i) * jnp.tanh(g)  # the state was reset: c_prev = 0
        probs = jax.nn.softmax(w["w_out"] @ (jax.nn.sigmoid(o) * jnp.tanh(c)) + w["b_out"])
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
        w = {k: jnp.asarray(v.numpy()) for k, v in stacked_weights(list(range(p)), h).items()}
        return w, jax.vmap(opt.init)(w)

    return (jax.jit(vstep, donate_argnums=(0, 1)), jax.jit(epoch, donate_argnums=(0, 1)), fresh)


def measure(p: int, h: int, rounds: int = 7) -> dict[str, float]:
    step, epoch, fresh = jax_population(p, h)
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

    cfg = preset("notebook", ALPHABET, units=h, reset="char")
    pops = {k: Population(stacked_weights(list(range(p)), h)) for k in ("numba", "torch")}
    idx = encode(ALPHABET)
    seq = torch.from_numpy(idx)
    act = _Activations(N, h, A, "cpu")
    work = Workspace(N, h, A, 1)
    done = {k: iter(range(10**6)) for k in pops}  # epochs each population has trained

    def numba_epoch():
        return _train_epoch_numba(pops["numba"], cfg, idx, 1, N * next(done["numba"]), work)

    @torch.inference_mode()
    def torch_epoch():
        step0 = N * next(done["torch"])
        return _train_epoch(pops["torch"], cfg, seq, seq.roll(-1), 1, act, step0).numpy()

    # Same computation? The first epoch's losses from the same initial weights must agree.
    w, s, theirs = epoch(*fresh(), xs, ys)
    for name, f in (("numba", numba_epoch), ("torch", torch_epoch)):
        if not np.allclose(f(), np.asarray(theirs).T, rtol=1e-4, atol=1e-6):
            raise SystemExit(f"P={p} H={h}: JAX and seqmem ({name} kernel) disagree on the "
                             "first epoch's losses")

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


def main() -> None:
    torch.set_num_threads(1)
    print("| P | H | " + " | ".join(["seqmem (numba kernel)", "seqmem (torch kernel)",
                                       "jax jit(vmap(step))", "jax jit(scan over epoch)"])
          + " |  (µs per model-step)")
    print("|---|---|---|---|---|---|")
    for p, h in [(64, 32), (256, 32), (64, 128)]:
        r = measure(p, h)
        print(f"| {p} | {h} | " + " | ".join(f"{v:.1f}" for v in r.values()) + " |", flush=True)


if __name__ == "__main__":
    main()
