"""The population engine's torch kernel: P models' online epoch as batched torch operations.

The default kernel off the CPU (GPUs) and the one for options the compiled kernel does not
implement (a schedule, clipping). It has seqmem.kernel_numba's semantics op for op: the loss at
step j backpropagated through its window with the activations saved when those steps ran
and the weights as they are now; Adam through Population.adam_step (one fused step).
`train_epoch` and `generate` are the entry points, as in seqmem.kernel_numba.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from seqmem.config import RunConfig
from seqmem.model import cell_step
from seqmem.schedule import lr_at


class Activations:
    """What each step of the current epoch saved for the backward, time on axis 1.

    Besides the states, each step stores its local derivatives, computed once in the
    forward and reused by every later step whose window reaches back to it:
    F (P, 4H) = [g*i*(1-i), c_prev*f*(1-f), i*(1-g^2), tanh(c)*o*(1-o)], so that the
    pre-activation gradient is [dc, dc, dc, dh] * F, and K (P, H) = o*(1-tanh(c)^2),
    so that dc += dh * K.

    The backward chain is a few tiny ops per step, so per-call cost dominates: every
    view it touches is built once here and every result goes to a preallocated buffer.
    """

    def __init__(self, n: int, hid: int, alphabet_size: int, device):
        self.n, self.hid, self.a, self.device = n, hid, alphabet_size, device
        self.P = self.window = -1

    def ensure(self, p: int, window: int) -> None:
        if (p, window) == (self.P, self.window):
            return
        n, h, dev = self.n, self.hid, self.device
        self.P, self.window = p, window
        self.hs = torch.zeros(p, n + 1, h, device=dev)  # hs[:, t] is the h fed to step t
        self.gates = torch.zeros(p, n, 4 * h, device=dev)  # i, f, g, o after activation
        self.f = torch.zeros(p, n, 4 * h, device=dev)
        self.k = torch.zeros(p, n, 1, h, device=dev)
        self.ce_in = torch.zeros(p, n, self.a, device=dev)  # what the loss was applied to
        self.ones = torch.ones(p, h, device=dev)
        self.gate_t = list(self.gates.unbind(1))
        self.f_t = list(self.f.unbind(1))
        self.h_t = list(self.hs.unbind(1))
        self.ce_t = list(self.ce_in.unbind(1))
        # Chain views, gates as (P, 4, H): [i, f, g] take dc, o takes dh.
        self.k_t = list(self.k.unbind(1))  # (P, 1, H)
        self.fifg_t = [f.view(p, 4, h)[:, :3] for f in self.f_t]
        self.fo_t = [f.view(p, 4, h)[:, 3:] for f in self.f_t]
        self.fgate_t = [g.view(p, 4, h)[:, 1:2] for g in self.gate_t]
        self.dpre = torch.zeros(p, window, 4 * h, device=dev)  # window position j = s - lo
        self.dpre_row = [self.dpre[:, j:j + 1] for j in range(window)]  # (P, 1, 4H) for bmm
        self.dpre_ifg = [r.view(p, 4, h)[:, :3] for r in self.dpre.unbind(1)]
        self.dpre_o = [r.view(p, 4, h)[:, 3:] for r in self.dpre.unbind(1)]
        self.dpre_lead = [self.dpre[:, :j + 1] for j in range(window)]
        self.dh = torch.zeros(p, 1, h, device=dev)
        self.dc = torch.zeros(p, 1, h, device=dev)


def train_epoch(pop, cfg: RunConfig, idx, targets, window: int, act: Activations | None,
                step0: int) -> torch.Tensor:
    """One epoch of every active model (the LSTM's needs act, the other cells' None); the
    per-step losses (P, n)."""
    epoch = train_epoch_lstm if cfg.cell == "lstm" else train_epoch_gated
    return epoch(pop, cfg, idx, targets, window, act, step0)


def train_epoch_lstm(pop, cfg: RunConfig, idx, targets, window: int, act: Activations,
                     step0: int) -> torch.Tensor:
    """One epoch for every active model; returns the per-step losses (P, n)."""
    p_, h_ = pop.P, cfg.units
    n, a = idx.shape[0], act.a
    act.ensure(p_, window)
    dev = pop.flat.device
    char = cfg.reset == "char"
    c = torch.zeros(p_, h_, device=dev)
    onehot_next = _eye(a, dev)[targets].unbind(0)
    idx_list = idx.tolist()
    w, g = pop.p, pop.g
    w_out_t = w["w_out"].transpose(1, 2)
    w_hh_t = w["w_hh"].transpose(1, 2)
    dz2 = g["b_out"]  # the loss gradient w.r.t. the logits is b_out's gradient
    dz3, dz_col = dz2.unsqueeze(1), dz2.unsqueeze(2)
    dh, dc = act.dh, act.dc
    for t in range(n):
        if char:
            c.zero_()
        h_prev = act.h_t[t]
        gates, fac, k_s = act.gate_t[t], act.f_t[t], act.k_t[t]
        # Forward. gates = x W_ih^T + b_ih + h W_hh^T + b_hh, x one-hot.
        pre = w["w_ih"][:, idx_list[t]]
        if not char:
            pre = torch.baddbmm(pre.unsqueeze(1), h_prev.unsqueeze(1), w["w_hh"]).squeeze(1)
        pre = pre + w["b_ih"]
        pre += w["b_hh"]
        torch.sigmoid(pre, out=gates)
        i_g, f_g, g_g, o_g = gates.split(h_, dim=1)
        torch.tanh(pre[:, 2 * h_: 3 * h_], out=g_g)
        c_prev = c
        c = f_g * c_prev
        c.addcmul_(i_g, g_g)
        tc = torch.tanh(c)
        h = torch.mul(o_g, tc, out=act.h_t[t + 1])
        # Local derivatives for every backward pass that reaches this step.
        torch.addcmul(gates, gates, gates, value=-1.0, out=fac)  # s(1-s)
        torch.addcmul(act.ones, g_g, g_g, value=-1.0, out=fac[:, 2 * h_: 3 * h_])  # 1-tanh^2
        fac.mul_(torch.cat((g_g, c_prev, i_g, tc), dim=1))
        torch.addcmul(o_g, h, tc, value=-1.0, out=k_s.view(p_, h_))  # o(1-tanh(c)^2)
        logits = torch.baddbmm(w["b_out"].unsqueeze(1), h.unsqueeze(1), w_out_t).squeeze(1)

        # Gradient of the loss w.r.t. the logits.
        if cfg.loss == "softmax":
            probs = torch.softmax(logits, dim=1)
            act.ce_t[t].copy_(probs)
            u = torch.softmax(probs, dim=1).sub_(onehot_next[t])
            dot = (probs * u).sum(dim=1, keepdim=True)
            torch.mul(probs, u.sub_(dot), out=dz2)
        else:
            act.ce_t[t].copy_(logits)
            torch.sub(torch.softmax(logits, dim=1), onehot_next[t], out=dz2)
        torch.bmm(dz_col, h.unsqueeze(1), out=g["w_out"])
        torch.bmm(dz3, w["w_out"], out=dh)  # (P, 1, H)

        # Back through the window, newest step first, with the current weights.
        lo = max(0, t - window + 1)
        torch.mul(dh, act.k_t[t], out=dc)  # dc starts at zero: the loss does not read c
        for s in range(t, lo - 1, -1):
            if s < t:
                dc.addcmul_(dh, act.k_t[s])
            j = s - lo
            torch.mul(dc, act.fifg_t[s], out=act.dpre_ifg[j])
            torch.mul(dh, act.fo_t[s], out=act.dpre_o[j])
            if s > lo:
                # Row vector times the transposed view: batched gemv with a column
                # vector on the right is several times slower in bmm.
                torch.bmm(act.dpre_row[j], w_hh_t, out=dh)
                dc.mul_(act.fgate_t[s])
        dpre = act.dpre_lead[t - lo]
        if window == 1:
            g["b_ih"].copy_(dpre[:, 0])
        else:
            torch.sum(dpre, dim=1, out=g["b_ih"])
        g["b_hh"].copy_(g["b_ih"])
        cols = idx[lo: t + 1]
        g["w_ih"].index_add_(1, cols, dpre)
        if not char:
            torch.bmm(act.hs[:, lo: t + 1].transpose(1, 2), dpre, out=g["w_hh"])
        pop.adam_step(step0 + t + 1, lr_at(cfg, step0 + t), skip_hh=char, clip=cfg.clip)
        # Only the window's letters were written: zero them (all of it when that is cheaper).
        if window == 1:
            g["w_ih"][:, idx_list[t]].zero_()
        else:
            g["w_ih"].zero_()
    logq = torch.log_softmax(act.ce_in, dim=2)
    return -logq.gather(2, targets.view(1, n, 1).expand(p_, n, 1)).squeeze(2)


def readout_step(w: dict, h: torch.Tensor, target: torch.Tensor, letter, loss: str):
    """The readout's forward and backward for P models: the gradient w.r.t. the logits,
    the one reaching h (with W_out as it is before this step's update), and the loss,
    CrossEntropyLoss on the softmax (the notebook's) or on the logits."""
    logits = torch.bmm(h.unsqueeze(1), w["w_out"].transpose(1, 2)).squeeze(1) + w["b_out"]
    if loss == "softmax":
        probs = torch.softmax(logits, dim=1)
        u = torch.softmax(probs, dim=1) - target
        dz = probs * (u - (probs * u).sum(dim=1, keepdim=True))
        ce = probs
    else:
        dz = torch.softmax(logits, dim=1) - target
        ce = logits
    value = -torch.log_softmax(ce, dim=1)[:, letter]
    return dz, torch.bmm(dz.unsqueeze(1), w["w_out"]).squeeze(1), value


@functools.lru_cache(maxsize=8)
def _eye(a: int, device: torch.device) -> torch.Tensor:
    return torch.eye(a, device=device)  # read-only: the one-hot targets of every epoch


def generate(pop, cfg: RunConfig) -> np.ndarray:
    seq, alphabet = cfg.sequence, cfg.alphabet
    p_, h_, a = pop.P, cfg.units, len(alphabet)
    dev = pop.flat.device
    w = pop.p
    x = torch.zeros(p_, a, device=dev)
    x[:, alphabet.index(seq[0])] = 1.0
    h = torch.zeros(p_, h_, device=dev)
    c = torch.zeros(p_, h_, device=dev)
    letters = []
    for _ in range(len(seq) - 1):
        if cfg.reset == "char":
            h.zero_()
            c.zero_()
        h, c = cell_step(cfg.cell, w, x, h, c)
        logits = torch.bmm(h.unsqueeze(1), w["w_out"].transpose(1, 2)).squeeze(1) + w["b_out"]
        k = torch.argmax(logits, dim=1)
        letters.append(k)
        if cfg.feedback == "probs":
            x = torch.softmax(logits, dim=1)
        else:
            x = torch.nn.functional.one_hot(k, a).to(logits.dtype)
    return torch.stack(letters, dim=1).cpu().numpy()


def train_epoch_gated(pop, cfg: RunConfig, idx, targets, window: int, act,
                      step0: int) -> torch.Tensor:
    """The torch kernel's epoch for the GRU and the tanh RNN (the semantics of the numba
    kernel's _gated_model_epoch, as batched torch operations); losses (P, n)."""
    p_, h_, n = pop.P, cfg.units, idx.shape[0]
    dev = pop.flat.device
    char, gru = cfg.reset == "char", cfg.cell == "gru"
    w, g = pop.p, pop.g
    eye = _eye(len(cfg.alphabet), dev)
    hs = [torch.zeros(p_, h_, device=dev)]  # hs[t]: the h fed to step t
    saved = []  # per step: what its backward needs (stale activations)
    losses = torch.zeros(p_, n, device=dev)
    for t in range(n):
        h_prev = torch.zeros(p_, h_, device=dev) if char else hs[t]
        x = eye[idx[t]].expand(p_, -1)
        ig = torch.bmm(x.unsqueeze(1), w["w_ih"]).squeeze(1) + w["b_ih"]
        hg = torch.bmm(h_prev.unsqueeze(1), w["w_hh"]).squeeze(1) + w["b_hh"]
        if gru:
            ir, iz, in_ = ig.chunk(3, dim=1)
            hr, hz, hn = hg.chunk(3, dim=1)
            r, z = torch.sigmoid(hr + ir), torch.sigmoid(hz + iz)
            nn_ = torch.tanh(in_ + hn * r)
            h = (h_prev - nn_) * z + nn_
            saved.append((h_prev, (h_prev - nn_) * z * (1 - z), (1 - z) * (1 - nn_ * nn_),
                          hn * r * (1 - r), r, z))
        else:
            h = torch.tanh(hg + ig)
            saved.append((h_prev, 1 - h * h))
        hs.append(h)
        dz, dh, losses[:, t] = readout_step(w, h, eye[targets[t]], targets[t], cfg.loss)
        g["w_out"].copy_(dz.unsqueeze(2) * h.unsqueeze(1))
        g["b_out"].copy_(dz)
        g["w_ih"].zero_()
        g["w_hh"].zero_()
        g["b_ih"].zero_()
        g["b_hh"].zero_()
        lo = max(0, t - window + 1)
        for s in range(t, lo - 1, -1):
            if gru:
                hp, fa, fb, fc, r, z = saved[s]
                dpn = dh * fb
                dr = dpn * fc
                dzg = dh * fa
                dig = torch.cat([dr, dzg, dpn], dim=1)
                dhg = torch.cat([dr, dzg, dpn * r], dim=1)
            else:
                hp, fd = saved[s]
                dig = dhg = dh * fd
            g["b_ih"].add_(dig)
            g["b_hh"].add_(dhg)
            g["w_ih"][:, idx[s]] += dig
            if not char:
                g["w_hh"].add_(hp.unsqueeze(2) * dhg.unsqueeze(1))
            if s > lo:
                prev = torch.bmm(dhg.unsqueeze(1), w["w_hh"].transpose(1, 2)).squeeze(1)
                dh = dh * z + prev if gru else prev
        pop.adam_step(step0 + t + 1, lr_at(cfg, step0 + t), skip_hh=char, clip=cfg.clip)
    return losses
