"""The compiled CPU kernel for bptt="rtrl": real-time recurrent learning, one epoch of
online steps per call, for the LSTM, the GRU and the tanh RNN.

RTRL carries the sensitivity of the state to every recurrent weight forward in time:
M_h = dh/dtheta and, for the LSTM, M_c = dc/dtheta, theta = (W_ih, W_hh, b_ih, b_hh).
Each step's Jacobians are taken at that step's weights, so the gradient of the loss at
step t, dL/dh_t M_h(t), is the exact online gradient (Williams & Zipser 1989); with the
weights held fixed it equals full BPTT through fresh activations. The cost is flat in
the sequence's length: G H |theta| multiply-adds per step (G gate rows), the product of
W_hh with the previous M_h.

Columns of M (one model; the engine layout of seqmem.kernel_numba): W_ih as (A, G) row-major,
then W_hh as (H, G), then b_ih (G), then b_hh (G), so a gradient's slices are the blocks'
flat views. A step is computed unit by unit: the G/H gate rows of W_hh^T M_h that reach
unit u (`rows`), plus each gate's own immediate dependence on theta (one input column,
the previous h along W_hh's column, and its biases), combined with the unit's local
derivatives into its new row of M. M_h is double-buffered: every unit reads the old one.

Forward arithmetic and the readout, loss and Adam are seqmem.kernel_numba's, op for op; a
model computes alone on aligned working copies, as there. `train_epoch` is the entry point,
with kernel_numba's Workspace and this module's RtrlWorkspace.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from seqmem.config import GATES, RunConfig
from seqmem.kernel_numba import (
    FASTMATH,
    EpochOptions,
    Workspace,
    adam_step,
    adam_update,
    aligned_zeros,
    gate_inputs,
    load,
    readout_adam,
    readout_backward,
    readout_loss,
    sigmoid,
    store,
)

CELL_CODES = {"lstm": 0, "gru": 1, "rnn": 2}


def theta_size(cell: str, units: int, alphabet_size: int) -> int:
    """Columns of M: the recurrent weights W_ih, W_hh, b_ih, b_hh of one model."""
    g = GATES[cell] * units
    return g * (alphabet_size + units + 2)


class RtrlWorkspace(NamedTuple):
    """Aligned arrays for one model's RTRL epoch; none depends on the sequence's length."""

    mh: np.ndarray  # (2, H, |theta|): M_h, double-buffered (every unit reads the old one)
    mc: np.ndarray  # (H, |theta|): M_c (one unused row for cells without c)
    rows: np.ndarray  # (G / H, |theta|): the gate rows of one unit
    grad: np.ndarray  # (|theta|,): the recurrent weights' gradient
    h: np.ndarray  # (H,)
    h_new: np.ndarray  # (H,)
    c: np.ndarray  # (H,)
    ig: np.ndarray  # (G,): the gate pre-activations from the input (the LSTM: all of them)
    hg: np.ndarray  # (G,): and from h

    @classmethod
    def allocate(cls, units: int, alphabet_size: int, cell: str) -> RtrlWorkspace:
        h, gates = units, GATES[cell]
        g, n = gates * units, theta_size(cell, units, alphabet_size)
        zeros = aligned_zeros
        return cls(mh=zeros((2, h, n)), mc=zeros((h if cell == "lstm" else 1, n)),
                   rows=zeros((gates, n)), grad=zeros((n,)), h=zeros((h,)), h_new=zeros((h,)),
                   c=zeros((h,)), ig=zeros((g,)), hg=zeros((g,)))

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self)


def train_epoch(pop, cfg: RunConfig, idx: np.ndarray, work: Workspace, sens: RtrlWorkspace,
                step0: int, trace: np.ndarray | None = None, lr: float | None = None
                ) -> np.ndarray:
    """One RTRL epoch of every model of `pop` (a seqmem.population.Population); losses (P, n).

    work: seqmem.kernel_numba.Workspace.allocate(n, units, A, 1, cfg.cell); sens:
    RtrlWorkspace.allocate(units, A, cfg.cell); step0: Adam steps taken before; trace:
    (P, n, |theta|) to receive each step's recurrent gradient; lr: instead of the config's
    (0 holds the weights: the gradient tests).
    """
    blocks = pop.arrays()
    losses = np.zeros((blocks.param.w_ih.shape[0], len(idx)))
    keep = np.zeros((0, 0, 0), np.float32) if trace is None else trace
    opts = EpochOptions(1, cfg.reset == "char", cfg.loss == "softmax", step0,
                        cfg.lr if lr is None else lr)
    _train_rtrl(blocks, work, sens, idx, opts, losses, keep, CELL_CODES[cfg.cell])
    return losses


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _train_rtrl(blocks, work, sens, idx, opts, losses, trace, cell):
    """Every model's RTRL epoch in turn on the aligned working copy; losses (P, n); cell:
    CELL_CODES; trace: (P, n, |theta|) to keep every step's recurrent gradient, or empty."""
    for p in range(blocks.param.w_ih.shape[0]):
        load(blocks, p, work.model)
        _rtrl_epoch(work, sens, idx, opts, losses[p], trace, p, cell)
        store(work.model, blocks, p)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _dense_rows(w_hh, m_old, u, hid, rows):
    """rows[q] = sum_k W_hh[k, q H + u] M_h[k]: the sensitivity reaching gate q of unit u
    through the previous state."""
    ncol = m_old.shape[1]
    for q in range(rows.shape[0]):
        j = q * hid + u
        r = rows[q]
        r[:] = 0.0
        for k in range(hid):
            wk = w_hh[k, j]
            mk = m_old[k]
            for col in range(ncol):
                r[col] += wk * mk[col]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _add_input_terms(row, x, j, g, off_bih, coef):
    """A gate row j's immediate dependence on W_ih[x, j] (the one-hot input) and b_ih[j]."""
    row[x * g + j] += coef
    row[off_bih + j] += coef


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _add_hidden_terms(row, h, j, g, off_whh, off_bhh, coef):
    """A gate row j's immediate dependence on W_hh[:, j] (the previous h) and b_hh[j]."""
    for k in range(h.shape[0]):
        row[off_whh + k * g + j] += coef * h[k]
    row[off_bhh + j] += coef


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _rtrl_epoch(work, sens, idx, opts, losses, trace, p, cell):
    """One model's RTRL epoch on its working copy (work.model); losses (n,)."""
    w_ih, w_out, w_hh, b_ih, b_hh, b_out = work.model.param
    m_ih, m_out, m_hh, m_bih, m_bhh, m_bout = work.model.m
    v_ih, v_out, v_hh, v_bih, v_bhh, v_bout = work.model.v
    logits, ce, dz, dh, grad_out = work.readout
    mh, mc, rows, grad, h, h_new, c, ig, hg = sens
    char, softmax_loss = opts.char, opts.softmax_loss
    a, g = w_ih.shape
    hid = w_hh.shape[0]
    ncol = grad.shape[0]
    off_whh, off_bih = a * g, a * g + hid * g
    off_bhh = off_bih + g
    n = idx.shape[0]
    one = np.float32(1.0)
    keep = trace.shape[0] > 0
    h[:] = 0.0
    c[:] = 0.0
    mh[:, :, :] = 0.0
    mc[:, :] = 0.0
    cur = 0  # the slot of mh that holds M_h of the state fed to this step
    for t in range(n):
        step = adam_step(opts.lr, opts.step0 + t + 1)
        m_old, m_new = mh[cur], mh[1 - cur]
        if char:
            h[:] = 0.0
            c[:] = 0.0
            m_old[:, :] = 0.0
            mc[:, :] = 0.0
        x = idx[t]
        if cell == 0:  # LSTM: gates [i, f, g, o] = W_ih[x] + h W_hh + b_ih + b_hh
            for j in range(g):
                ig[j] = w_ih[x, j]
            if not char:
                for k in range(hid):
                    hk = h[k]
                    for j in range(g):
                        ig[j] += hk * w_hh[k, j]
            for j in range(g):
                ig[j] = ig[j] + b_ih[j] + b_hh[j]
            for u in range(hid):
                i_g = sigmoid(ig[u])
                f_g = sigmoid(ig[hid + u])
                g_g = np.tanh(ig[2 * hid + u])
                o_g = sigmoid(ig[3 * hid + u])
                cp = c[u]
                cn = f_g * cp + i_g * g_g
                c[u] = cn
                tc = np.tanh(cn)
                h_new[u] = o_g * tc
                if char:
                    rows[:, :] = 0.0
                else:
                    _dense_rows(w_hh, m_old, u, hid, rows)
                for q in range(4):
                    _add_input_terms(rows[q], x, q * hid + u, g, off_bih, one)
                    _add_hidden_terms(rows[q], h, q * hid + u, g, off_whh, off_bhh, one)
                fi = g_g * i_g * (one - i_g)
                ff = cp * f_g * (one - f_g)
                fg = i_g * (one - g_g * g_g)
                fo = tc * o_g * (one - o_g)
                kk = o_g * (one - tc * tc)
                mcu, mhu = mc[u], m_new[u]
                r0, r1, r2, r3 = rows[0], rows[1], rows[2], rows[3]
                for col in range(ncol):
                    v = f_g * mcu[col] + fi * r0[col] + ff * r1[col] + fg * r2[col]
                    mcu[col] = v
                    mhu[col] = fo * r3[col] + kk * v
        elif cell == 1:  # GRU [r, z, n]: n = tanh(ig_n + r hg_n), h' = (h - n) z + n
            gate_inputs(w_ih[x], b_ih, w_hh, b_hh, h, char, ig, hg)
            for u in range(hid):
                hp = h[u]
                r = sigmoid(hg[u] + ig[u])
                z = sigmoid(hg[hid + u] + ig[hid + u])
                hn = hg[2 * hid + u]
                nn_ = np.tanh(ig[2 * hid + u] + hn * r)
                h_new[u] = (hp - nn_) * z + nn_
                fa = (hp - nn_) * z * (one - z)  # dh'/d(z's pre-activation)
                fb = (one - z) * (one - nn_ * nn_)  # dh'/d(n's pre-activation)
                fc = hn * r * (one - r)  # d(n's pre-activation)/d(r's), per unit fb
                if char:
                    rows[:, :] = 0.0
                else:
                    _dense_rows(w_hh, m_old, u, hid, rows)
                for q in range(3):  # rows[q]: d hg_q, the hidden side of each gate
                    _add_hidden_terms(rows[q], h, q * hid + u, g, off_whh, off_bhh, one)
                mhu, mou = m_new[u], m_old[u]
                r0, r1, r2 = rows[0], rows[1], rows[2]
                cr, cn = fb * fc, fb * r
                for col in range(ncol):
                    mhu[col] = cr * r0[col] + fa * r1[col] + cn * r2[col] + z * mou[col]
                # The input side of each gate, with its coefficient in dh'.
                _add_input_terms(mhu, x, u, g, off_bih, cr)
                _add_input_terms(mhu, x, hid + u, g, off_bih, fa)
                _add_input_terms(mhu, x, 2 * hid + u, g, off_bih, fb)
        else:  # tanh RNN: h' = tanh(ig + hg)
            gate_inputs(w_ih[x], b_ih, w_hh, b_hh, h, char, ig, hg)
            for u in range(hid):
                hn = np.tanh(hg[u] + ig[u])
                h_new[u] = hn
                if char:
                    rows[:, :] = 0.0
                else:
                    _dense_rows(w_hh, m_old, u, hid, rows)
                _add_input_terms(rows[0], x, u, g, off_bih, one)
                _add_hidden_terms(rows[0], h, u, g, off_whh, off_bhh, one)
                fd = one - hn * hn
                mhu, r0 = m_new[u], rows[0]
                for col in range(ncol):
                    mhu[col] = fd * r0[col]
        h[:] = h_new
        cur = 1 - cur
        losses[t] = readout_loss(h, w_out, b_out, logits, ce, dz, idx[(t + 1) % n], softmax_loss)
        readout_backward(dz, w_out, dh)
        # The exact online gradient of the recurrent weights: dL/dh_t M_h(t).
        grad[:] = 0.0
        for u in range(hid):
            du = dh[u]
            mhu = m_new[u]
            for col in range(ncol):
                grad[col] += du * mhu[col]
        if keep:
            trace[p, t, :] = grad
        adam_update(b_ih, m_bih, v_bih, grad[off_bih:off_bhh], step)
        adam_update(b_hh, m_bhh, v_bhh, grad[off_bhh:ncol], step)
        readout_adam(h, dz, grad_out, w_out, m_out, v_out, step)
        adam_update(b_out, m_bout, v_bout, dz, step)
        adam_update(w_ih.reshape(-1), m_ih.reshape(-1), v_ih.reshape(-1), grad[:off_whh], step)
        if not char:
            adam_update(w_hh.reshape(-1), m_hh.reshape(-1), v_hh.reshape(-1),
                        grad[off_whh:off_bih], step)
