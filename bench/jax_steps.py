"""The capacity study's two LSTM steps written in JAX, as one jit(vmap) population of P models:
the baseline that bench/test_steptime.py times beside the reference trainer and the engine.

- `windowed_epoch`: online, one Adam step per letter, the state kept through the epoch,
  each letter's loss backpropagated through the last k steps with the activations saved
  when those steps ran and the weights as they are now (the engine's stale-activation
  BPTT, seqmem.kernel_numba; plain jax.grad would recompute the activations with today's
  weights, a different gradient). The backward is written out by hand for that reason.
- `offline_pass`: teacher-forced from a fresh state, one Adam step on each chunk's mean
  loss (exact BPTT within the chunk by jax.grad through lax.scan), each model's gradient
  norm clipped as torch's clip_grad_norm_, the lr of each update given, the state carried
  into the next chunk and detached there (seqmem.offline).

Both take the loss on the logits (the `clean` preset's) and torch.optim.Adam's arithmetic
(seqmem.adam's constants). Weights are in nn layout with a leading P axis, as
seqmem.model.stacked_weights builds them: w_ih (P, 4H, A), w_hh (P, 4H, H), b_ih and b_hh
(P, 4H), w_out (P, A, H), b_out (P, A). XLA runs on one thread unless XLA_FLAGS says
otherwise.
"""

from __future__ import annotations

import os
from functools import partial

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from seqmem.adam import BETA1, BETA2, EPS  # noqa: E402

Weights = dict[str, jax.Array]


def from_torch(weights: dict) -> Weights:
    """seqmem.model.stacked_weights (torch tensors) as JAX arrays."""
    return {k: jnp.asarray(v.numpy()) for k, v in weights.items()}


def zeros_like(w: Weights) -> Weights:
    return {k: jnp.zeros_like(v) for k, v in w.items()}


def adam_coefficients(lrs, steps) -> np.ndarray:
    """Per update, Adam's (lr / bc1, sqrt(bc2)) for its lr and step number (counted from 1),
    taken in double and rounded to float32 as torch takes them: in float32, 1 - 0.999^t is
    1e-5 off at the first steps, a bias that drifts the losses apart within an epoch."""
    lrs, steps = np.broadcast_arrays(np.asarray(lrs, np.float64), np.asarray(steps, np.float64))
    return np.stack([lrs / (1.0 - BETA1 ** steps), np.sqrt(1.0 - BETA2 ** steps)], axis=-1
                    ).astype(np.float32)


def adam(w: Weights, m: Weights, v: Weights, g: Weights, coef):
    """torch.optim.Adam's update with coef = (lr / bc1, sqrt(bc2)) (adam_coefficients):
    m.lerp_(g, 1 - b1), v = b2 v + (1 - b2) g^2, w -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)."""
    step_size, bc2_sqrt = coef[0], coef[1]
    m = {k: m[k] + (1.0 - BETA1) * (g[k] - m[k]) for k in w}
    v = {k: BETA2 * v[k] + (1.0 - BETA2) * g[k] * g[k] for k in w}
    w = {k: w[k] - step_size * m[k] / (jnp.sqrt(v[k]) / bc2_sqrt + EPS) for k in w}
    return w, m, v


def lstm_cell(w: Weights, h, c, x):
    """One step from letter x (an index: the input is one-hot) and state h, c (H,): the
    pre-activations (4H,) [i, f, g, o] and the new h, c."""
    pre = w["w_ih"][:, x] + w["w_hh"] @ h + w["b_ih"] + w["b_hh"]
    i, f, g, o = jnp.split(pre, 4)
    c_new = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return pre, jax.nn.sigmoid(o) * jnp.tanh(c_new), c_new


def _windowed_model_epoch(w, m, v, letters, targets, coefs, window: int):
    """One model's online epoch from a fresh state; losses (n,). See windowed_epoch."""
    hid, a = w["w_hh"].shape[1], w["w_ih"].shape[1]
    zero = jnp.zeros(hid)
    # The last `window` steps, newest first: letter, h fed, local derivatives, valid.
    saved = (jnp.zeros(window, letters.dtype), jnp.zeros((window, hid)),
             jnp.zeros((window, 4 * hid)), jnp.zeros((window, hid)), jnp.zeros((window, hid)),
             jnp.zeros(window))

    def push(buf, new):
        return jnp.concatenate([new[None], buf[:-1]])

    def step(carry, xs):
        w, m, v, h, c, saved = carry
        x, y, coef = xs
        pre, h_new, c_new = lstm_cell(w, h, c, x)
        i, f, g, o = jax.nn.sigmoid(pre[:hid]), jax.nn.sigmoid(pre[hid:2 * hid]), \
            jnp.tanh(pre[2 * hid:3 * hid]), jax.nn.sigmoid(pre[3 * hid:])
        tc = jnp.tanh(c_new)
        # Local derivatives, as the engine saves them: d pre = [dc, dc, dc, dh] * fac,
        # dc += dh * kk, and dc reaches the previous step times f.
        fac = jnp.concatenate([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), tc * o * (1 - o)])
        saved = tuple(push(b, new) for b, new in
                      zip(saved, (x, h, fac, o * (1 - tc * tc), f, jnp.ones(())), strict=True))
        letters_w, h_fed, facs, kks, fgates, valid = saved
        logits = w["w_out"] @ h_new + w["b_out"]
        loss = jax.nn.logsumexp(logits) - logits[y]
        dz = jax.nn.softmax(logits).at[y].add(-1.0)
        dh = w["w_out"].T @ dz  # with W_out as it is before this step's update

        def back(carry, s):
            dh, dc = carry
            fac_s, kk_s, f_s, valid_s = s
            dc = dc + dh * kk_s
            dpre = jnp.concatenate([dc, dc, dc, dh]) * fac_s * valid_s
            return (w["w_hh"].T @ dpre, dc * f_s), dpre  # through W_hh as it is now

        _, dpre = jax.lax.scan(back, (dh, zero), (facs, kks, fgates, valid))  # (window, 4H)
        bias = dpre.sum(0)
        grads = {"w_ih": dpre.T @ jax.nn.one_hot(letters_w, a), "w_hh": dpre.T @ h_fed,
                 "b_ih": bias, "b_hh": bias, "w_out": jnp.outer(dz, h_new), "b_out": dz}
        w, m, v = adam(w, m, v, grads, coef)
        return (w, m, v, h_new, c_new, saved), loss

    (w, m, v, *_), losses = jax.lax.scan(step, (w, m, v, zero, zero, saved), (letters, targets, coefs))
    return w, m, v, losses


@partial(jax.jit, static_argnames=("window",), donate_argnums=(0, 1, 2))
def windowed_epoch(w: Weights, m: Weights, v: Weights, letters, targets, coefs, *, window: int):
    """One online epoch of P models (the window-k step of bptt=k, reset="epoch"): the new
    weights and moments and the losses (P, n). letters, targets (n,) int; coefs (n, 2):
    each step's adam_coefficients."""
    epoch = partial(_windowed_model_epoch, window=window)
    return jax.vmap(epoch, in_axes=(0, 0, 0, None, None, None))(w, m, v, letters, targets, coefs)


def _chunk_loss(w, h, c, letters, targets):
    """Mean loss on the logits over a chunk from state h, c; (mean, (per letter, h, c))."""
    def step(carry, xy):
        h, c = carry
        _, h, c = lstm_cell(w, h, c, xy[0])
        logits = w["w_out"] @ h + w["b_out"]
        return (h, c), jax.nn.logsumexp(logits) - logits[xy[1]]

    (h, c), losses = jax.lax.scan(step, (h, c), (letters, targets))
    return losses.mean(), (losses, h, c)


def clip_by_norm(g: Weights, max_norm: float) -> Weights:
    """torch.nn.utils.clip_grad_norm_: the norm of the tensors' norms, scaled to max_norm."""
    total = jnp.sqrt(sum(jnp.sum(x * x) for x in g.values()))
    coef = jnp.minimum(1.0, max_norm / (total + 1e-6))
    return {k: x * coef for k, x in g.items()}


def _offline_model_pass(w, m, v, letters, targets, coefs, chunk: int, clip: float | None):
    """One model's offline pass; losses (n,). See offline_pass."""
    hid = w["w_hh"].shape[1]
    zero = jnp.zeros(hid)
    grad_fn = jax.value_and_grad(_chunk_loss, has_aux=True)

    def update(carry, xs):
        w, m, v, h, c = carry
        xs_u, ys_u, coef = xs
        (_, (losses, h, c)), g = grad_fn(w, h, c, xs_u, ys_u)
        if clip is not None:
            g = clip_by_norm(g, clip)
        w, m, v = adam(w, m, v, g, coef)
        # the state goes on as a value: no gradient crosses into the next chunk
        return (w, m, v, h, c), losses

    n = letters.shape[0]
    xs = (letters.reshape(n // chunk, chunk), targets.reshape(n // chunk, chunk), coefs)
    (w, m, v, _, _), losses = jax.lax.scan(update, (w, m, v, zero, zero), xs)
    return w, m, v, losses.reshape(n)


@partial(jax.jit, static_argnames=("chunk", "clip"), donate_argnums=(0, 1, 2))
def offline_pass(w: Weights, m: Weights, v: Weights, letters, targets, coefs, *, chunk: int,
                 clip: float | None):
    """One offline pass of P models (update="chunk"): the new weights and moments and the
    losses (P, n). coefs (n / chunk, 2): each update's adam_coefficients, from its lr
    (seqmem.schedule.lr_at) and step number. n must be a multiple of chunk."""
    if letters.shape[0] % chunk:
        raise ValueError(f"the sequence's {letters.shape[0]} letters are not whole chunks of {chunk}")
    one = partial(_offline_model_pass, chunk=chunk, clip=clip)
    return jax.vmap(one, in_axes=(0, 0, 0, None, None, None))(w, m, v, letters, targets, coefs)


def targets_of(letters: np.ndarray) -> jax.Array:
    """The next letter of each position, cyclically (the engines' targets)."""
    return jnp.asarray(np.roll(letters, -1))
