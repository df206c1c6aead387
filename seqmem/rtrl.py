"""bptt="rtrl" in the torch kernel: real-time recurrent learning for P models at once.

The sensitivities of seqmem.kernel_rtrl (the same columns: W_ih as (A, G), W_hh as (H, G),
b_ih, b_hh of one model), as batched tensors (P, H, |theta|): one batched product
W_hh^T M_h per step, each gate's immediate terms added on diagonals of views, the cell's
local derivatives broadcast over the columns. It serves GPUs and the options the compiled
kernel does not implement (a schedule, clipping). Memory: 2-3 (P, H, |theta|) tensors and
one (P, G, |theta|), flat in the sequence's length.
"""

from __future__ import annotations

import torch

from seqmem.config import GATES, RunConfig
from seqmem.kernel_torch import readout_step
from seqmem.schedule import lr_at


def _diagonal_add(block: torch.Tensor, groups: int, values: torch.Tensor) -> None:
    """block (P, R, groups * R) += values (P, groups, R) placed at [p, r, q R + r]."""
    p, r = block.shape[0], block.shape[1]
    block.view(p, r, groups, r).diagonal(dim1=1, dim2=3).add_(values)


def train_epoch_rtrl(pop, cfg: RunConfig, idx: torch.Tensor, targets: torch.Tensor, step0: int,
                     trace: list | None = None, lr: float | None = None) -> torch.Tensor:
    """One RTRL epoch for every model of `pop` (seqmem.population.Population); losses (P, n).

    trace: a list that receives each step's recurrent gradient (P, |theta|), if given;
    lr: instead of the config's schedule (0 holds the weights: the gradient tests).
    """
    p_, h_, n, a = pop.P, cfg.units, idx.shape[0], len(cfg.alphabet)
    gates = GATES[cfg.cell]
    g_ = gates * h_
    ncol = g_ * (a + h_ + 2)
    off_whh, off_bih = a * g_, a * g_ + h_ * g_
    off_bhh = off_bih + g_
    dev = pop.flat.device
    char, cell = cfg.reset == "char", cfg.cell
    w, grads = pop.p, pop.g
    eye = torch.eye(a, device=dev)
    w_hh_t = w["w_hh"].transpose(1, 2)  # (P, G, H)
    h = torch.zeros(p_, h_, device=dev)
    c = torch.zeros(p_, h_, device=dev)
    mh = torch.zeros(p_, h_, ncol, device=dev)
    mc = torch.zeros(p_, h_, ncol, device=dev) if cell == "lstm" else None
    losses = torch.zeros(p_, n, device=dev)
    for t in range(n):
        if char:
            h = torch.zeros_like(h)
            c = torch.zeros_like(c)
            mh = torch.zeros_like(mh)
            if mc is not None:
                mc = torch.zeros_like(mc)
        x = int(idx[t])
        ig = w["w_ih"][:, x] + w["b_ih"]
        hg = torch.bmm(h.unsqueeze(1), w["w_hh"]).squeeze(1) + w["b_hh"]
        # d(hg)/dtheta: through the previous state, then W_hh's and b_hh's own terms.
        rows = torch.bmm(w_hh_t, mh)  # (P, G, |theta|)
        rows[:, :, off_whh:off_bih].view(p_, g_, h_, g_).diagonal(dim1=1, dim2=3).add_(
            h.unsqueeze(2))
        rows[:, :, off_bhh:].diagonal(dim1=1, dim2=2).add_(1.0)
        if cell == "gru":
            ir, iz, in_ = ig.chunk(3, dim=1)
            hr, hz, hn = hg.chunk(3, dim=1)
            r, z = torch.sigmoid(hr + ir), torch.sigmoid(hz + iz)
            nn_ = torch.tanh(in_ + hn * r)
            h_new = (h - nn_) * z + nn_
            fa, fb = (h - nn_) * z * (1 - z), (1 - z) * (1 - nn_ * nn_)
            cr = fb * hn * r * (1 - r)
            r3 = rows.view(p_, 3, h_, ncol)
            mh = (cr.unsqueeze(2) * r3[:, 0] + fa.unsqueeze(2) * r3[:, 1]
                  + (fb * r).unsqueeze(2) * r3[:, 2] + z.unsqueeze(2) * mh)
            coef = torch.stack([cr, fa, fb], dim=1)  # (P, 3, H): each gate's input side
            _diagonal_add(mh[:, :, x * g_:(x + 1) * g_], 3, coef)
            _diagonal_add(mh[:, :, off_bih:off_bhh], 3, coef)
        else:
            # LSTM and RNN: the pre-activation is ig + hg, so the input terms join the rows.
            rows[:, :, x * g_:(x + 1) * g_].diagonal(dim1=1, dim2=2).add_(1.0)
            rows[:, :, off_bih:off_bhh].diagonal(dim1=1, dim2=2).add_(1.0)
            pre = ig + hg
            if cell == "lstm":
                i_g, f_g, o_g = (torch.sigmoid(pre[:, :h_]), torch.sigmoid(pre[:, h_:2 * h_]),
                                 torch.sigmoid(pre[:, 3 * h_:]))
                g_g = torch.tanh(pre[:, 2 * h_:3 * h_])
                c_prev = c
                c = f_g * c_prev + i_g * g_g
                tc = torch.tanh(c)
                h_new = o_g * tc
                r4 = rows.view(p_, 4, h_, ncol)
                fi, ff = g_g * i_g * (1 - i_g), c_prev * f_g * (1 - f_g)
                fg, fo = i_g * (1 - g_g * g_g), tc * o_g * (1 - o_g)
                mc = (f_g.unsqueeze(2) * mc + fi.unsqueeze(2) * r4[:, 0]
                      + ff.unsqueeze(2) * r4[:, 1] + fg.unsqueeze(2) * r4[:, 2])
                mh = fo.unsqueeze(2) * r4[:, 3] + (o_g * (1 - tc * tc)).unsqueeze(2) * mc
            else:
                h_new = torch.tanh(pre)
                mh = (1 - h_new * h_new).unsqueeze(2) * rows
        h = h_new
        dz, dh, losses[:, t] = readout_step(w, h, eye[targets[t]], targets[t], cfg.loss)
        grad = torch.bmm(dh.unsqueeze(1), mh).squeeze(1)  # (P, |theta|)
        if trace is not None:
            trace.append(grad.clone())
        grads["w_out"].copy_(dz.unsqueeze(2) * h.unsqueeze(1))
        grads["b_out"].copy_(dz)
        grads["w_ih"].copy_(grad[:, :off_whh].view(p_, a, g_))
        grads["w_hh"].copy_(grad[:, off_whh:off_bih].view(p_, h_, g_))
        grads["b_ih"].copy_(grad[:, off_bih:off_bhh])
        grads["b_hh"].copy_(grad[:, off_bhh:])
        pop.adam_step(step0 + t + 1, lr_at(cfg, step0 + t) if lr is None else lr, skip_hh=char,
                      clip=cfg.clip)
    return losses
