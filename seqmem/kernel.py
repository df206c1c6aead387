"""The population engine's CPU kernel: one epoch of online steps, compiled with numba.

On a CPU the batched torch step is bound by memory traffic at 128 units with
full-epoch BPTT: every one of the t products through W_hh in a step's backward chain
streams all P models' W_hh (P x 256 KB) from the last-level cache. Here each model
runs its whole epoch in turn, so its weights stay in the core's own cache, and each
tensor's gradient is consumed by Adam as it is made (no gradient buffer to write and
read back). The arithmetic is the torch kernel's (see `seqmem.population`), float32
throughout; only the summation order of dot products differs, so losses agree to
float32 rounding and a model's record does not depend on which models share its batch.

Weights live in the flat buffers of `seqmem.population.Population` (one contiguous
block per tensor, P leading); this module only sees numpy views of them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# reassoc lets LLVM vectorize the dot products; contract allows fused multiply-adds.
# Neither changes more than float32 rounding, and both are deterministic on one machine.
_FAST = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _adam(p, m, v, g, w1, b2, w2, eps, step_size, bc2_sqrt):
    """torch.optim.Adam's update (no weight decay, no amsgrad) on 1-d float32 arrays.

    As torch writes it: m.lerp_(g, w1), v.mul_(b2).addcmul_(g, g, value=w2), with
    w1 = 1 - beta1 and w2 = 1 - beta2 taken in double and then rounded (1 - 0.999f
    would be 5e-5 off, a bias that grows over hundreds of steps).
    """
    for k in range(p.shape[0]):
        gk = g[k]
        mk = m[k] + w1 * (gk - m[k])
        vk = b2 * v[k] + w2 * gk * gk
        m[k] = mk
        v[k] = vk
        p[k] -= step_size * mk / (np.sqrt(vk) / bc2_sqrt + eps)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _sigmoid(x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def train_epoch(w_ih, b_ih, b_hh, w_out, b_out, w_hh,
                m_ih, m_bih, m_bhh, m_out, m_bout, m_hh,
                v_ih, v_bih, v_bhh, v_out, v_bout, v_hh,
                idx, targets, window, char, softmax_loss, step0, lr, losses):
    """Train every model one epoch; write the per-step losses into losses (P, n).

    Shapes as the Population's blocks: w_ih (P, A, 4H), b_ih/b_hh (P, 4H),
    w_out (P, A, H), b_out (P, A), w_hh (P, H, 4H); m_* and v_* alike.
    """
    n_models, a, g4 = w_ih.shape
    hid = g4 // 4
    n = idx.shape[0]
    f32 = np.float32
    w1, b2, w2, eps = f32(1.0 - 0.9), f32(0.999), f32(1.0 - 0.999), f32(1e-8)
    one = f32(1.0)
    # Activations of the current epoch for one model (reused model after model).
    hs = np.zeros((n + 1, hid), np.float32)  # hs[t] is the h fed to step t
    fac = np.zeros((n, g4), np.float32)  # local derivatives, as in the torch kernel
    kk = np.zeros((n, hid), np.float32)
    fgate = np.zeros((n, hid), np.float32)
    dpre = np.zeros((window, g4), np.float32)
    pre = np.zeros(g4, np.float32)
    c = np.zeros(hid, np.float32)
    logits = np.zeros(a, np.float32)
    ce = np.zeros(a, np.float32)
    dz = np.zeros(a, np.float32)
    dh = np.zeros(hid, np.float32)
    dc = np.zeros(hid, np.float32)
    row = np.zeros(g4, np.float32)
    grad_ih = np.zeros((a, g4), np.float32)
    grad_out = np.zeros(hid, np.float32)
    for p in range(n_models):
        c[:] = 0.0
        hs[0, :] = 0.0
        for t in range(n):
            step = step0 + t + 1  # bias corrections as torch takes them: double, then float
            step_size = f32(lr / (1.0 - 0.9 ** step))
            bc2_sqrt = f32(np.sqrt(1.0 - 0.999 ** step))
            if char:
                c[:] = 0.0
            x = idx[t]
            # Forward: gates = W_ih[x] + h W_hh + b_ih + b_hh.
            for j in range(g4):
                pre[j] = w_ih[p, x, j]
            if not char:
                for k in range(hid):
                    hk = hs[t, k]
                    for j in range(g4):
                        pre[j] += hk * w_hh[p, k, j]
            for j in range(g4):
                pre[j] = pre[j] + b_ih[p, j] + b_hh[p, j]
            for k in range(hid):
                i_g = _sigmoid(pre[k])
                f_g = _sigmoid(pre[hid + k])
                g_g = np.tanh(pre[2 * hid + k])
                o_g = _sigmoid(pre[3 * hid + k])
                cp = c[k]
                cn = f_g * cp + i_g * g_g
                c[k] = cn
                tc = np.tanh(cn)
                hs[t + 1, k] = o_g * tc
                fac[t, k] = g_g * i_g * (one - i_g)
                fac[t, hid + k] = cp * f_g * (one - f_g)
                fac[t, 2 * hid + k] = i_g * (one - g_g * g_g)
                fac[t, 3 * hid + k] = tc * o_g * (one - o_g)
                kk[t, k] = o_g * (one - tc * tc)
                fgate[t, k] = f_g
            h = hs[t + 1]
            for q in range(a):
                s = b_out[p, q]
                for k in range(hid):
                    s += h[k] * w_out[p, q, k]
                logits[q] = s
            # Loss and its gradient w.r.t. the logits.
            tgt = targets[t]
            if softmax_loss:
                _softmax(logits, ce)
                _softmax(ce, dz)  # CrossEntropyLoss applied to the probabilities
                dz[tgt] -= one
                dot = f32(0.0)
                for q in range(a):
                    dot += ce[q] * dz[q]
                for q in range(a):
                    dz[q] = ce[q] * (dz[q] - dot)
            else:
                for q in range(a):
                    ce[q] = logits[q]
                _softmax(logits, dz)
                dz[tgt] -= one
            mx = ce[0]
            for q in range(1, a):
                mx = max(mx, ce[q])
            se = 0.0
            for q in range(a):
                se += np.exp(np.float64(ce[q] - mx))
            losses[p, t] = np.log(se) + mx - ce[tgt]
            # dh = dz W_out, with W_out as it is before this step's update.
            dh[:] = 0.0
            for q in range(a):
                dq = dz[q]
                for k in range(hid):
                    dh[k] += dq * w_out[p, q, k]
            # Back through the window, newest step first, with the current weights.
            lo = max(0, t - window + 1)
            for k in range(hid):
                dc[k] = dh[k] * kk[t, k]
            for s in range(t, lo - 1, -1):
                if s < t:
                    for k in range(hid):
                        dc[k] += dh[k] * kk[s, k]
                jw = s - lo
                for k in range(hid):
                    dpre[jw, k] = dc[k] * fac[s, k]
                    dpre[jw, hid + k] = dc[k] * fac[s, hid + k]
                    dpre[jw, 2 * hid + k] = dc[k] * fac[s, 2 * hid + k]
                    dpre[jw, 3 * hid + k] = dh[k] * fac[s, 3 * hid + k]
                if s > lo:
                    for k in range(hid):
                        acc = f32(0.0)
                        for j in range(g4):
                            acc += w_hh[p, k, j] * dpre[jw, j]
                        dh[k] = acc
                    for k in range(hid):
                        dc[k] *= fgate[s, k]
            nw = t - lo + 1
            # Gradients, each handed to Adam as soon as it is complete.
            for j in range(g4):
                acc = f32(0.0)
                for jw in range(nw):
                    acc += dpre[jw, j]
                row[j] = acc
            _adam(b_ih[p], m_bih[p], v_bih[p], row, w1, b2, w2, eps, step_size, bc2_sqrt)
            _adam(b_hh[p], m_bhh[p], v_bhh[p], row, w1, b2, w2, eps, step_size, bc2_sqrt)
            for q in range(a):
                dq = dz[q]
                for k in range(hid):
                    grad_out[k] = dq * h[k]
                _adam(w_out[p, q], m_out[p, q], v_out[p, q], grad_out, w1, b2, w2, eps,
                      step_size, bc2_sqrt)
            _adam(b_out[p], m_bout[p], v_bout[p], dz, w1, b2, w2, eps, step_size, bc2_sqrt)
            for s in range(lo, t + 1):
                xs = idx[s]
                for j in range(g4):
                    grad_ih[xs, j] += dpre[s - lo, j]
            _adam(w_ih[p].reshape(-1), m_ih[p].reshape(-1), v_ih[p].reshape(-1),
                  grad_ih.reshape(-1), w1, b2, w2, eps, step_size, bc2_sqrt)
            for s in range(lo, t + 1):
                grad_ih[idx[s], :] = 0.0
            if not char:
                # W_hh's gradient row k is sum over the window of h_s[k] * dpre_s.
                for k in range(hid):
                    _outer_row(hs[lo:t + 1, k], dpre, nw, row)
                    _adam(w_hh[p, k], m_hh[p, k], v_hh[p, k], row, w1, b2, w2, eps,
                          step_size, bc2_sqrt)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _outer_row(hcol, dpre, nw, row):
    """row = sum over jw < nw of hcol[jw] * dpre[jw]: four window steps per pass over row,
    so row is loaded and stored a quarter as often (this loop is bound by L1 traffic)."""
    row[:] = 0.0
    jw = 0
    while jw + 4 <= nw:
        h0, h1, h2, h3 = hcol[jw], hcol[jw + 1], hcol[jw + 2], hcol[jw + 3]
        for j in range(row.shape[0]):
            row[j] += (h0 * dpre[jw, j] + h1 * dpre[jw + 1, j]
                       + h2 * dpre[jw + 2, j] + h3 * dpre[jw + 3, j])
        jw += 4
    while jw < nw:
        h0 = hcol[jw]
        for j in range(row.shape[0]):
            row[j] += h0 * dpre[jw, j]
        jw += 1


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _softmax(x, out):
    mx = x[0]
    for q in range(1, x.shape[0]):
        mx = max(mx, x[q])
    total = np.float32(0.0)
    for q in range(x.shape[0]):
        e = np.exp(x[q] - mx)
        out[q] = e
        total += e
    for q in range(x.shape[0]):
        out[q] /= total


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def generate(w_ih, b_ih, b_hh, w_out, b_out, w_hh, first, steps, char, probs_feedback, out):
    """Every model generates `steps` letters from `first` and a fresh state; out (P, steps).

    The evaluation of seqmem.population.evaluate_population, float32 as there: gates =
    x W_ih + b_ih + b_hh + h W_hh, the argmax letter is the output, and the next input is
    the softmax of the logits (probs_feedback) or that letter one-hot.
    """
    n_models, a, g4 = w_ih.shape
    hid = g4 // 4
    one = np.float32(1.0)
    x = np.zeros(a, np.float32)
    pre = np.zeros(g4, np.float32)
    h = np.zeros(hid, np.float32)
    c = np.zeros(hid, np.float32)
    logits = np.zeros(a, np.float32)
    for p in range(n_models):
        x[:] = 0.0
        x[first] = one
        h[:] = 0.0
        c[:] = 0.0
        for t in range(steps):
            if char:
                h[:] = 0.0
                c[:] = 0.0
            for j in range(g4):
                pre[j] = b_ih[p, j] + b_hh[p, j]
            for q in range(a):
                xq = x[q]
                if xq != 0.0:
                    for j in range(g4):
                        pre[j] += xq * w_ih[p, q, j]
            for k in range(hid):
                hk = h[k]
                for j in range(g4):
                    pre[j] += hk * w_hh[p, k, j]
            for k in range(hid):
                cn = _sigmoid(pre[hid + k]) * c[k] + _sigmoid(pre[k]) * np.tanh(pre[2 * hid + k])
                c[k] = cn
                h[k] = _sigmoid(pre[3 * hid + k]) * np.tanh(cn)
            best = 0
            for q in range(a):
                s = b_out[p, q]
                for k in range(hid):
                    s += h[k] * w_out[p, q, k]
                logits[q] = s
                if s > logits[best]:
                    best = q
            out[p, t] = best
            if probs_feedback:
                _softmax(logits, x)
            else:
                x[:] = 0.0
                x[best] = one
