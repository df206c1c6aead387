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
model computes alone on aligned working copies, as there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from seqmem.adam import BETA1, BETA2, EPS
from seqmem.config import GATES
from seqmem.kernel_numba import (
    _FAST,
    _adam,
    _copy,
    _readout_adam,
    _readout_backward,
    _readout_loss,
    _sigmoid,
    aligned_zeros,
)

CELL_CODES = {"lstm": 0, "gru": 1, "rnn": 2}


def theta_size(cell: str, units: int, alphabet_size: int) -> int:
    """Columns of M: the recurrent weights W_ih, W_hh, b_ih, b_hh of one model."""
    g = GATES[cell] * units
    return g * (alphabet_size + units + 2)


class RtrlWorkspace:
    """Aligned arrays for one model's RTRL epoch; none depends on the sequence's length.

    mats: the sensitivities M_h as two slots (2, H, |theta|), M_c (H, |theta|; one row for
    cells without c), the unit's gate rows (G/H, |theta|); vecs: the gradient (|theta|), h,
    the new h, c, the gate pre-activations from the input and from h (G each).
    """

    def __init__(self, units: int, alphabet_size: int, cell: str):
        h, gates = units, GATES[cell]
        g, n = gates * units, theta_size(cell, units, alphabet_size)
        self.mh = aligned_zeros((2, h, n))
        self.mats = (aligned_zeros((h if cell == "lstm" else 1, n)), aligned_zeros((gates, n)))
        self.vecs = tuple(aligned_zeros(s) for s in [(n,), (h,), (h,), (h,), (g,), (g,)])

    @property
    def nbytes(self) -> int:
        return self.mh.nbytes + sum(a.nbytes for a in self.mats + self.vecs)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def train_epoch_rtrl(mats, vecs, wmats, wvecs, scratch, mh, rmats, rvecs, idx, targets, char,
                     softmax_loss, step0, lr, losses, cell, trace):
    """Train every model one epoch with RTRL; losses (P, n).

    mats, vecs, wmats, wvecs, scratch: as seqmem.kernel_numba.train_epoch; mh, rmats, rvecs: an
    RtrlWorkspace's arrays; cell: CELL_CODES; trace: (P, n, |theta|) to keep every step's
    recurrent gradient, or an empty array.
    """
    for p in range(mats[0].shape[0]):
        _copy(mats, vecs, wmats, wvecs, p, 9, True)
        _rtrl_epoch(wmats, wvecs, scratch, mh, rmats, rvecs, idx, targets, char, softmax_loss,
                    step0, lr, losses[p], cell, trace, p)
        _copy(mats, vecs, wmats, wvecs, p, 9, False)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
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


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _add_input_terms(row, x, j, g, off_bih, coef):
    """A gate row j's immediate dependence on W_ih[x, j] (the one-hot input) and b_ih[j]."""
    row[x * g + j] += coef
    row[off_bih + j] += coef


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _add_hidden_terms(row, h, j, g, off_whh, off_bhh, coef):
    """A gate row j's immediate dependence on W_hh[:, j] (the previous h) and b_hh[j]."""
    for k in range(h.shape[0]):
        row[off_whh + k * g + j] += coef * h[k]
    row[off_bhh + j] += coef


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _gate_inputs(w_ih, b_ih, w_hh, b_hh, h, x, char, ig, hg):
    """The GRU's and the RNN's gate inputs, as seqmem.kernel_numba computes them:
    ig = W_ih[x] + b_ih, hg = b_hh + h W_hh (zero h with a reset before every letter)."""
    g = ig.shape[0]
    for j in range(g):
        ig[j] = w_ih[x, j] + b_ih[j]
        hg[j] = b_hh[j]
    if not char:
        for k in range(h.shape[0]):
            hk = h[k]
            for j in range(g):
                hg[j] += hk * w_hh[k, j]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _rtrl_epoch(wmats, wvecs, scratch, mh, rmats, rvecs, idx, targets, char, softmax_loss,
                step0, lr, losses, cell, trace, p):
    w_ih, w_out, w_hh, m_ih, m_out, m_hh, v_ih, v_out, v_hh = wmats
    b_ih, b_hh, b_out, m_bih, m_bhh, m_bout, v_bih, v_bhh, v_bout = wvecs
    logits, ce, dz, dh, grad_out = scratch[7], scratch[8], scratch[9], scratch[10], scratch[14]
    mc, rows = rmats
    grad, h, hnew, c, ig, hg = rvecs
    a, g = w_ih.shape
    hid = w_hh.shape[0]
    ncol = grad.shape[0]
    off_whh, off_bih = a * g, a * g + hid * g
    off_bhh = off_bih + g
    n = idx.shape[0]
    f32 = np.float32
    w1, b2, w2, eps = f32(1.0 - BETA1), f32(BETA2), f32(1.0 - BETA2), f32(EPS)
    one = f32(1.0)
    keep = trace.shape[0] > 0
    h[:] = 0.0
    c[:] = 0.0
    mh[:, :, :] = 0.0
    mc[:, :] = 0.0
    cur = 0  # the slot of mh that holds M_h of the state fed to this step
    for t in range(n):
        step = step0 + t + 1  # bias corrections as torch takes them: double, then float
        step_size = f32(lr / (1.0 - BETA1 ** step))
        bc2_sqrt = f32(np.sqrt(1.0 - BETA2 ** step))
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
                i_g = _sigmoid(ig[u])
                f_g = _sigmoid(ig[hid + u])
                g_g = np.tanh(ig[2 * hid + u])
                o_g = _sigmoid(ig[3 * hid + u])
                cp = c[u]
                cn = f_g * cp + i_g * g_g
                c[u] = cn
                tc = np.tanh(cn)
                hnew[u] = o_g * tc
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
            _gate_inputs(w_ih, b_ih, w_hh, b_hh, h, x, char, ig, hg)
            for u in range(hid):
                hp = h[u]
                r = _sigmoid(hg[u] + ig[u])
                z = _sigmoid(hg[hid + u] + ig[hid + u])
                hn = hg[2 * hid + u]
                nn_ = np.tanh(ig[2 * hid + u] + hn * r)
                hnew[u] = (hp - nn_) * z + nn_
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
            _gate_inputs(w_ih, b_ih, w_hh, b_hh, h, x, char, ig, hg)
            for u in range(hid):
                hn = np.tanh(hg[u] + ig[u])
                hnew[u] = hn
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
        h[:] = hnew
        cur = 1 - cur
        losses[t] = _readout_loss(h, w_out, b_out, logits, ce, dz, targets[t], softmax_loss)
        _readout_backward(dz, w_out, dh)
        # The exact online gradient of the recurrent weights: dL/dh_t M_h(t).
        grad[:] = 0.0
        for u in range(hid):
            du = dh[u]
            mhu = m_new[u]
            for col in range(ncol):
                grad[col] += du * mhu[col]
        if keep:
            trace[p, t, :] = grad
        _adam(b_ih, m_bih, v_bih, grad[off_bih:off_bhh], w1, b2, w2, eps, step_size, bc2_sqrt)
        _adam(b_hh, m_bhh, v_bhh, grad[off_bhh:ncol], w1, b2, w2, eps, step_size, bc2_sqrt)
        _readout_adam(h, dz, w_out, m_out, v_out, b_out, m_bout, v_bout, grad_out, w1, b2, w2,
                      eps, step_size, bc2_sqrt)
        _adam(w_ih.reshape(-1), m_ih.reshape(-1), v_ih.reshape(-1), grad[:off_whh], w1, b2, w2,
              eps, step_size, bc2_sqrt)
        if not char:
            _adam(w_hh.reshape(-1), m_hh.reshape(-1), v_hh.reshape(-1), grad[off_whh:off_bih],
                  w1, b2, w2, eps, step_size, bc2_sqrt)
