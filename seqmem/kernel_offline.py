"""The compiled offline epoch (update="chunk"): char-RNN training of P models on a CPU.

The arithmetic of seqmem.offline (the torch path, which stays the oracle and the GPU path):
each pass is teacher-forced from a fresh state; each chunk of `chunk` letters is a forward
that saves every step's local derivatives, one backward through the whole chunk (true BPTT,
the weights fixed within it) of the chunk's mean loss, then the model's gradient norm is
clipped and one Adam step updates every tensor. The state is carried into the next chunk
and detached there.

Why a kernel of its own: the torch path calls ATen once per model and chunk and autograd
once per chunk, which at these widths (4-64 units) costs 10-50x the arithmetic. Here each
model runs its pass in turn on seqmem.kernel_numba's aligned working copy, so its weights
stay in the core's cache, and the gradient is accumulated in place. Only the summation
order differs from torch's, so losses agree with it to float32 rounding.

Interface: `OfflineWorkspace.allocate` and `train_epoch`, beside seqmem.kernel_numba's
online `train_epoch` (whose Workspace holds the working copy and generation's buffers).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from seqmem.config import GATES, RunConfig
from seqmem.kernel_numba import (
    FASTMATH,
    Params,
    Workspace,
    _chain,
    _outer_row,
    _window_sum,
    adam_step,
    adam_update,
    aligned_zeros,
    gated_gate_grads,
    gru_cell,
    load,
    lstm_cell,
    lstm_gate_grads,
    readout_loss,
    rnn_cell,
    store,
)
from seqmem.schedule import lr_at

CELL_CODES = {"lstm": 0, "gru": 1, "rnn": 2}


class ChunkScratch(NamedTuple):
    """What a chunk's forward saves for its backward, and the backward's buffers."""

    hs: np.ndarray  # (size + 1, H): hs[s] is the h fed to the chunk's step s
    fac: np.ndarray  # (size, 4H): local derivatives (as seqmem.kernel_numba's epochs save)
    kk: np.ndarray  # (size, H): the LSTM's o (1 - tanh(c)^2)
    gate: np.ndarray  # (size, H): the LSTM's forget gate, the GRU's update gate
    dz: np.ndarray  # (size, A): each step's gradient of the chunk's mean loss at the logits
    dig: np.ndarray  # (size, G): gradients of the input side W_ih x + b_ih
    dhg: np.ndarray  # (size, G): gradients of the hidden side W_hh h + b_hh
    ig: np.ndarray  # (G,)
    hg: np.ndarray  # (G,)
    pre: np.ndarray  # (G,): the LSTM's gate pre-activations ig + hg
    c: np.ndarray  # (H,): the LSTM's cell, carried across chunks
    dh: np.ndarray  # (H,)
    dc: np.ndarray  # (H,)
    dprev: np.ndarray  # (H,)
    logits: np.ndarray  # (A,)
    ce: np.ndarray  # (A,)


class OfflineWorkspace(NamedTuple):
    """One model's gradient (engine layout) and its chunk's scratch, aligned as Workspace's."""

    grad: Params
    scratch: ChunkScratch

    @classmethod
    def allocate(cls, size: int, units: int, alphabet_size: int, cell: str) -> OfflineWorkspace:
        """For chunks of at most `size` letters."""
        h, a, g = units, alphabet_size, GATES[cell] * units
        z = aligned_zeros
        grad = Params(w_ih=z((a, g)), w_out=z((a, h)), w_hh=z((h, g)), b_ih=z((g,)),
                      b_hh=z((g,)), b_out=z((a,)))
        scratch = ChunkScratch(hs=z((size + 1, h)), fac=z((size, 4 * h)), kk=z((size, h)),
                               gate=z((size, h)), dz=z((size, a)), dig=z((size, g)),
                               dhg=z((size, g)), ig=z((g,)), hg=z((g,)), pre=z((g,)), c=z((h,)),
                               dh=z((h,)),
                               dc=z((h,)), dprev=z((h,)), logits=z((a,)), ce=z((a,)))
        return cls(grad, scratch)


def train_epoch(pop, cfg: RunConfig, idx: np.ndarray, work: Workspace, offline: OfflineWorkspace,
                update0: int) -> np.ndarray:
    """One offline pass for every model of `pop` (seqmem.population.Population); the
    per-letter training losses (P, n). update0: updates taken before this pass."""
    n = len(idx)
    size = cfg.chunk or n
    updates = -(-n // size)
    lrs = np.array([lr_at(cfg, update0 + u) for u in range(updates)])
    blocks = pop.arrays()
    losses = np.zeros((blocks.param.w_ih.shape[0], n))
    clip = -1.0 if cfg.clip is None else float(cfg.clip)
    _train(blocks, work.model, offline, idx, size, lrs, update0, clip, cfg.loss == "softmax",
           CELL_CODES[cfg.cell], losses)
    return losses


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _train(blocks, model, offline, idx, size, lrs, update0, clip, softmax_loss, cell, losses):
    for p in range(blocks.param.w_ih.shape[0]):
        load(blocks, p, model)
        _model_pass(model, offline, idx, size, lrs, update0, clip, softmax_loss, cell, losses[p])
        store(model, blocks, p)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _model_pass(model, offline, idx, size, lrs, update0, clip, softmax_loss, cell, losses):
    """One model's pass: every chunk's forward, backward, clipping and Adam step."""
    n = idx.shape[0]
    hs, c = offline.scratch.hs, offline.scratch.c
    hs[0, :] = 0.0  # a fresh state for the pass
    c[:] = 0.0
    u = 0
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        _forward(model.param, offline.scratch, idx, lo, hi, softmax_loss, cell, losses)
        _backward(model.param, offline, idx, lo, hi, cell)
        if clip > 0:
            _clip(offline.grad, clip)
        _adam(model, offline.grad, adam_step(lrs[u], update0 + u + 1))
        hs[0, :] = hs[hi - lo]  # the state carried into the next chunk, detached
        u += 1


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _forward(param, scr, idx, lo, hi, softmax_loss, cell, losses):
    """The chunk's steps from hs[0] (and c): each step's h, local derivatives, loss and the
    gradient of the chunk's mean loss at its logits."""
    w_ih, w_out, w_hh, b_ih, b_hh, b_out = param
    hs, fac, kk, gate, dz = scr.hs, scr.fac, scr.kk, scr.gate, scr.dz
    ig, hg, pre, c = scr.ig, scr.hg, scr.pre, scr.c
    hid = w_hh.shape[0]
    n = idx.shape[0]
    inv = np.float32(1.0 / (hi - lo))
    for s in range(hi - lo):
        t = lo + s
        x = idx[t]
        for j in range(ig.shape[0]):
            ig[j] = w_ih[x, j] + b_ih[j]
            hg[j] = b_hh[j]
        for k in range(hid):
            hk = hs[s, k]
            for j in range(hg.shape[0]):
                hg[j] += hk * w_hh[k, j]
        if cell == 0:  # LSTM, gates i, f, g, o
            for j in range(pre.shape[0]):
                pre[j] = ig[j] + hg[j]
            lstm_cell(pre, c, hs[s + 1], fac[s], kk[s], gate[s])
        elif cell == 1:  # GRU, gates r, z, n (ATen's)
            gru_cell(ig, hg, hs, s, fac, gate)
        else:  # tanh RNN
            rnn_cell(ig, hg, hs[s + 1], fac[s])
        losses[t] = readout_loss(hs[s + 1], w_out, b_out, scr.logits, scr.ce, dz[s],
                                 idx[(t + 1) % n], softmax_loss)
        for q in range(dz.shape[1]):
            dz[s, q] *= inv


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _backward(param, offline, idx, lo, hi, cell):
    """BPTT through the chunk, newest step first, then the gradient of every tensor."""
    w_out, w_hh = param.w_out, param.w_hh
    scr, grad = offline.scratch, offline.grad
    hs, fac, kk, gate, dz, dig, dhg = scr.hs, scr.fac, scr.kk, scr.gate, scr.dz, scr.dig, scr.dhg
    dh, dc, dprev = scr.dh, scr.dc, scr.dprev
    a, hid = w_out.shape
    m = hi - lo
    dh[:] = 0.0
    dc[:] = 0.0
    for s in range(m - 1, -1, -1):
        for q in range(a):  # dh += dz W_out
            dq = dz[s, q]
            for k in range(hid):
                dh[k] += dq * w_out[q, k]
        if cell == 0:
            for k in range(hid):
                dc[k] += dh[k] * kk[s, k]
            lstm_gate_grads(dc, dh, fac[s], dig[s])
            dhg[s, :] = dig[s]
            if s > 0:
                _chain(w_hh, dhg[s], dh)
                for k in range(hid):
                    dc[k] *= gate[s, k]
        else:
            gated_gate_grads(dh, fac[s], dig[s], dhg[s], cell == 1)
            if s > 0 and cell == 1:
                _chain(w_hh, dhg[s], dprev)
                for k in range(hid):
                    dh[k] = dh[k] * gate[s, k] + dprev[k]
            elif s > 0:
                _chain(w_hh, dhg[s], dh)
    # The gradients: sums over the chunk's steps.
    _window_sum(dig, m, grad.b_ih)
    _window_sum(dhg, m, grad.b_hh)
    _window_sum(dz, m, grad.b_out)
    grad.w_ih[:, :] = 0.0
    for s in range(m):  # the one-hot input: row x gathers the steps that read letter x
        xs = idx[lo + s]
        for j in range(dig.shape[1]):
            grad.w_ih[xs, j] += dig[s, j]
    for q in range(a):  # W_out row q: sum over steps of dz[s, q] h_s
        _outer_row(dz[:m, q], hs[1:m + 1], m, grad.w_out[q])
    for k in range(hid):  # W_hh row k: sum over steps of h_{s-1}[k] dhg_s
        _outer_row(hs[:m, k], dhg, m, grad.w_hh[k])


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _sum_squares(g):
    """The squared norm of one tensor (flattened), summed in float32 as torch's norm."""
    sq = np.float32(0.0)
    for i in range(g.shape[0]):
        sq += g[i] * g[i]
    return np.float64(np.float32(np.sqrt(sq))) ** 2


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _clip(grad, max_norm):
    """torch.nn.utils.clip_grad_norm_: scale the gradient by max_norm / (its norm + 1e-6)
    where that is below 1 (the norm of the tensors' norms, each in float32)."""
    w_ih, w_out, w_hh = grad.w_ih.reshape(-1), grad.w_out.reshape(-1), grad.w_hh.reshape(-1)
    total = (_sum_squares(w_ih) + _sum_squares(w_out) + _sum_squares(w_hh)
             + _sum_squares(grad.b_ih) + _sum_squares(grad.b_hh) + _sum_squares(grad.b_out))
    coef = np.float32(max_norm / (np.float32(np.sqrt(total)) + np.float32(1e-6)))
    if coef < 1.0:
        for g in (w_ih, w_out, w_hh, grad.b_ih, grad.b_hh, grad.b_out):
            for i in range(g.shape[0]):
                g[i] *= coef


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _adam(model, grad, step):
    """One Adam step of every tensor of the working copy."""
    p, m, v = model
    adam_update(p.w_ih.reshape(-1), m.w_ih.reshape(-1), v.w_ih.reshape(-1),
                grad.w_ih.reshape(-1), step)
    adam_update(p.w_out.reshape(-1), m.w_out.reshape(-1), v.w_out.reshape(-1),
                grad.w_out.reshape(-1), step)
    adam_update(p.w_hh.reshape(-1), m.w_hh.reshape(-1), v.w_hh.reshape(-1),
                grad.w_hh.reshape(-1), step)
    adam_update(p.b_ih, m.b_ih, v.b_ih, grad.b_ih, step)
    adam_update(p.b_hh, m.b_hh, v.b_hh, grad.b_hh, step)
    adam_update(p.b_out, m.b_out, v.b_out, grad.b_out, step)
