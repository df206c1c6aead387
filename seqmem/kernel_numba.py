"""The population engine's CPU kernel: one epoch of online steps, compiled with numba.

On a CPU the batched torch step is bound by memory traffic at 128 units with
full-epoch BPTT: every one of the t products through W_hh in a step's backward chain
streams all P models' W_hh (P x 256 KB) from the last-level cache. Here each model
runs its whole epoch in turn, so its weights stay in the core's own cache, and each
tensor's gradient is consumed by Adam as it is made (no gradient buffer to write and
read back). The arithmetic is the torch kernel's (see `seqmem.population`), float32
throughout; only the summation order of dot products differs, so losses agree with it
to float32 rounding.

A model's record must not depend on which models share its batch, nor on anything else
in the process. LLVM vectorizes the dot products (fastmath "reassoc") with a summation
order that depends on the arrays' addresses modulo the vector width, so every model
computes on working copies with fixed alignment (`Workspace`): its parameters and Adam
moments are copied into 64-byte-aligned arrays before its epoch and back after it, and
the scratch buffers are aligned the same way. The copies cost a few percent at 128 units.

Weights live in the flat buffers of `seqmem.population.Population` (one contiguous
block per tensor, P leading); this module only sees numpy views of them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from seqmem.adam import BETA1, BETA2, EPS
from seqmem.config import GATES

# reassoc lets LLVM vectorize the dot products; contract allows fused multiply-adds.
# Neither changes more than float32 rounding, and with the fixed alignment of Workspace
# both give the same bits for the same model, whatever shares its batch.
_FAST = {"reassoc", "contract"}
ALIGN = 64  # bytes: a cache line, and the widest vector register (AVX-512)


def aligned_zeros(shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """A C-contiguous zero array whose data starts on an ALIGN-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    size = int(np.prod(shape, dtype=np.int64))
    raw = np.zeros(size + ALIGN // itemsize, dtype)
    start = (-raw.ctypes.data % ALIGN) // itemsize
    return raw[start:start + size].reshape(shape)


class Workspace:
    """Aligned arrays for one model at a time, shaped by the cell only.

    mats, vecs: the model's matrices (w_ih (A, 4H), w_out (A, H), w_hh (H, 4H)) and
    vectors (b_ih, b_hh (4H), b_out (A)), then the first and then the second Adam moments
    of each, in that order (two tuples of one array type each, so the kernel may loop over
    them); scratch: the epoch's activations and buffers; inputs: generation's input.
    """

    def __init__(self, n: int, units: int, alphabet_size: int, window: int, cell: str = "lstm"):
        h, a = units, alphabet_size
        g = GATES[cell] * units  # gate rows
        w = max(window, 1)
        self.mats = tuple(aligned_zeros(s) for _ in range(3) for s in [(a, g), (a, h), (h, g)])
        self.vecs = tuple(aligned_zeros(s) for _ in range(3) for s in [(g,), (g,), (a,)])
        if cell == "lstm":  # hs fac kk fgate dpre | pre c logits ce dz dh dc row grad_ih grad_out
            shapes = [(n + 1, h), (n, g), (n, h), (n, h), (w, g),
                      (g,), (h,), (a,), (a,), (a,), (h,), (h,), (g,), (a, g), (h,)]
        else:  # hs fac z dig dhg | ig hg logits ce dz dh dprev row grad_ih grad_out
            shapes = [(n + 1, h), (n, 4 * h), (n, h), (w, g), (w, g),
                      (g,), (g,), (a,), (a,), (a,), (h,), (h,), (g,), (a, g), (h,)]
        self.scratch = tuple(aligned_zeros(s) for s in shapes)
        self.inputs = aligned_zeros((a,))  # generation's input letter (or distribution)


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
def _copy(mats, vecs, wmats, wvecs, p, count, into_work):
    """Model p's first `count` matrices and vectors between the P-leading blocks and the
    aligned working arrays (into them if into_work, else back)."""
    for i in range(count):
        if into_work:
            wmats[i][:, :] = mats[i][p]
            wvecs[i][:] = vecs[i][p]
        else:
            mats[i][p][:, :] = wmats[i]
            vecs[i][p][:] = wvecs[i]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _readout_loss(h, w_out, b_out, logits, ce, dz, tgt, softmax_loss):
    """logits = W_out h + b_out; the loss, and its gradient w.r.t. the logits in dz.

    ce is what CrossEntropyLoss is applied to: the softmax of the logits (the notebook's
    loss, which log-softmaxes them again) or the logits.
    """
    a, hid = w_out.shape
    one = np.float32(1.0)
    for q in range(a):
        s = b_out[q]
        for k in range(hid):
            s += h[k] * w_out[q, k]
        logits[q] = s
    if softmax_loss:
        _softmax(logits, ce)
        _softmax(ce, dz)  # CrossEntropyLoss applied to the probabilities
        dz[tgt] -= one
        dot = np.float32(0.0)
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
    return np.log(se) + mx - ce[tgt]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _readout_backward(dz, w_out, dh):
    """dh = dz W_out, with W_out as it is before this step's update."""
    a, hid = w_out.shape
    dh[:] = 0.0
    for q in range(a):
        dq = dz[q]
        for k in range(hid):
            dh[k] += dq * w_out[q, k]


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _readout_adam(h, dz, w_out, m_out, v_out, b_out, m_bout, v_bout, grad_out, w1, b2, w2, eps,
                  step_size, bc2_sqrt):
    """Adam on W_out (row q's gradient is dz[q] h) and b_out (gradient dz)."""
    a, hid = w_out.shape
    for q in range(a):
        dq = dz[q]
        for k in range(hid):
            grad_out[k] = dq * h[k]
        _adam(w_out[q], m_out[q], v_out[q], grad_out, w1, b2, w2, eps, step_size, bc2_sqrt)
    _adam(b_out, m_bout, v_bout, dz, w1, b2, w2, eps, step_size, bc2_sqrt)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _chain(w_hh, dgates, out):
    """out = W_hh dgates (engine layout w_hh (H, G H)): the gradient reaching the previous
    state through the gates, with W_hh as it is now."""
    for k in range(w_hh.shape[0]):
        acc = np.float32(0.0)
        for j in range(w_hh.shape[1]):
            acc += w_hh[k, j] * dgates[j]
        out[k] = acc


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _window_sum(dpre, nw, row):
    """row = the sum over the window's nw steps of dpre (a bias's gradient)."""
    for j in range(row.shape[0]):
        acc = np.float32(0.0)
        for jw in range(nw):
            acc += dpre[jw, j]
        row[j] = acc


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _inputs_adam(idx, lo, t, dpre, grad_ih, w_ih, m_ih, v_ih, w1, b2, w2, eps, step_size,
                 bc2_sqrt):
    """Adam on W_ih: the one-hot input makes row x_s of its gradient the sum of the window
    steps s that read letter x_s."""
    g = grad_ih.shape[1]
    for s in range(lo, t + 1):
        xs = idx[s]
        for j in range(g):
            grad_ih[xs, j] += dpre[s - lo, j]
    _adam(w_ih.reshape(-1), m_ih.reshape(-1), v_ih.reshape(-1), grad_ih.reshape(-1), w1, b2,
          w2, eps, step_size, bc2_sqrt)
    for s in range(lo, t + 1):
        grad_ih[idx[s], :] = 0.0


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _recurrent_adam(hs, lo, t, dpre, row, w_hh, m_hh, v_hh, w1, b2, w2, eps, step_size,
                    bc2_sqrt):
    """Adam on W_hh, whose gradient row k is sum over the window of h_{s-1}[k] * dpre_s."""
    nw = t - lo + 1
    for k in range(w_hh.shape[0]):
        _outer_row(hs[lo:t + 1, k], dpre, nw, row)
        _adam(w_hh[k], m_hh[k], v_hh[k], row, w1, b2, w2, eps, step_size, bc2_sqrt)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def train_epoch(mats, vecs, wmats, wvecs, scratch, idx, targets, window, char, softmax_loss,
                step0, lr, losses):
    """Train every model one epoch; write the per-step losses into losses (P, n).

    mats, vecs: the Population's blocks, P leading, in Workspace's order (w_ih (P, A, 4H),
    w_out (P, A, H), w_hh (P, H, 4H), then their m and v; b_ih, b_hh (P, 4H), b_out (P, A),
    then their m and v); wmats, wvecs, scratch: a Workspace's arrays.
    """
    for p in range(mats[0].shape[0]):
        _copy(mats, vecs, wmats, wvecs, p, 9, True)
        _model_epoch(wmats, wvecs, scratch, idx, targets, window, char, softmax_loss, step0,
                     lr, losses[p])
        _copy(mats, vecs, wmats, wvecs, p, 9, False)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _model_epoch(wmats, wvecs, scratch, idx, targets, window, char, softmax_loss, step0, lr,
                 losses):
    """One model's epoch on its aligned working copies; losses (n,)."""
    w_ih, w_out, w_hh, m_ih, m_out, m_hh, v_ih, v_out, v_hh = wmats
    b_ih, b_hh, b_out, m_bih, m_bhh, m_bout, v_bih, v_bhh, v_bout = wvecs
    hs, fac, kk, fgate, dpre = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    pre, c, logits, ce, dz = scratch[5], scratch[6], scratch[7], scratch[8], scratch[9]
    dh, dc, row, grad_ih, grad_out = scratch[10], scratch[11], scratch[12], scratch[13], \
        scratch[14]
    a, g4 = w_ih.shape
    hid = g4 // 4
    n = idx.shape[0]
    f32 = np.float32
    w1, b2, w2, eps = f32(1.0 - BETA1), f32(BETA2), f32(1.0 - BETA2), f32(EPS)
    one = f32(1.0)
    c[:] = 0.0
    hs[0, :] = 0.0  # hs[t] is the h fed to step t
    grad_ih[:, :] = 0.0
    for t in range(n):
        step = step0 + t + 1  # bias corrections as torch takes them: double, then float
        step_size = f32(lr / (1.0 - BETA1 ** step))
        bc2_sqrt = f32(np.sqrt(1.0 - BETA2 ** step))
        if char:
            c[:] = 0.0
        x = idx[t]
        # Forward: gates = W_ih[x] + h W_hh + b_ih + b_hh.
        for j in range(g4):
            pre[j] = w_ih[x, j]
        if not char:
            for k in range(hid):
                hk = hs[t, k]
                for j in range(g4):
                    pre[j] += hk * w_hh[k, j]
        for j in range(g4):
            pre[j] = pre[j] + b_ih[j] + b_hh[j]
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
            # Local derivatives for every backward pass that reaches this step.
            fac[t, k] = g_g * i_g * (one - i_g)
            fac[t, hid + k] = cp * f_g * (one - f_g)
            fac[t, 2 * hid + k] = i_g * (one - g_g * g_g)
            fac[t, 3 * hid + k] = tc * o_g * (one - o_g)
            kk[t, k] = o_g * (one - tc * tc)
            fgate[t, k] = f_g
        h = hs[t + 1]
        losses[t] = _readout_loss(h, w_out, b_out, logits, ce, dz, targets[t], softmax_loss)
        _readout_backward(dz, w_out, dh)
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
                _chain(w_hh, dpre[jw], dh)
                for k in range(hid):
                    dc[k] *= fgate[s, k]
        nw = t - lo + 1
        # Gradients, each handed to Adam as soon as it is complete.
        _window_sum(dpre, nw, row)
        _adam(b_ih, m_bih, v_bih, row, w1, b2, w2, eps, step_size, bc2_sqrt)
        _adam(b_hh, m_bhh, v_bhh, row, w1, b2, w2, eps, step_size, bc2_sqrt)
        _readout_adam(h, dz, w_out, m_out, v_out, b_out, m_bout, v_bout, grad_out, w1, b2, w2,
                      eps, step_size, bc2_sqrt)
        _inputs_adam(idx, lo, t, dpre, grad_ih, w_ih, m_ih, v_ih, w1, b2, w2, eps, step_size,
                     bc2_sqrt)
        if not char:
            _recurrent_adam(hs, lo, t, dpre, row, w_hh, m_hh, v_hh, w1, b2, w2, eps, step_size,
                            bc2_sqrt)


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
    """out = softmax(x). Each loop either reduces or stores, never both: a loop that does
    both is vectorized only when LLVM's runtime check finds the two arrays far enough
    apart in memory, and the vector and scalar sums round differently."""
    mx = x[0]
    for q in range(1, x.shape[0]):
        mx = max(mx, x[q])
    for q in range(x.shape[0]):
        out[q] = np.exp(x[q] - mx)
    total = np.float32(0.0)
    for q in range(x.shape[0]):
        total += out[q]
    for q in range(x.shape[0]):
        out[q] /= total


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _emit(h, w_out, b_out, logits, x, probs_feedback):
    """The letter a generation step outputs (the argmax of the logits, the first on a tie as
    torch.argmax), and the next input x: the softmax of the logits, or that letter one-hot."""
    a, hid = w_out.shape
    best = 0
    for q in range(a):
        s = b_out[q]
        for k in range(hid):
            s += h[k] * w_out[q, k]
        logits[q] = s
        if s > logits[best]:
            best = q
    if probs_feedback:
        _softmax(logits, x)
    else:
        x[:] = 0.0
        x[best] = np.float32(1.0)
    return best


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def generate(mats, vecs, wmats, wvecs, scratch, x, first, steps, char, probs_feedback, out):
    """Every model generates `steps` letters from `first` and a fresh state; out (P, steps).

    The evaluation of seqmem.population.evaluate_population, float32 as there: gates =
    x W_ih + b_ih + b_hh + h W_hh, the argmax letter is the output, and the next input x
    is the softmax of the logits (probs_feedback) or that letter one-hot. The arrays as
    for train_epoch (only the parameters are read); x: an aligned (A,) array.
    """
    one = np.float32(1.0)
    w_ih, w_out, w_hh = wmats[0], wmats[1], wmats[2]
    b_ih, b_hh, b_out = wvecs[0], wvecs[1], wvecs[2]
    pre, h, c, logits = scratch[5], scratch[10], scratch[6], scratch[7]
    a, g4 = w_ih.shape
    hid = g4 // 4
    for p in range(mats[0].shape[0]):
        _copy(mats, vecs, wmats, wvecs, p, 3, True)
        x[:] = 0.0
        x[first] = one
        h[:] = 0.0
        c[:] = 0.0
        for t in range(steps):
            if char:
                h[:] = 0.0
                c[:] = 0.0
            for j in range(g4):
                pre[j] = b_ih[j] + b_hh[j]
            for q in range(a):
                xq = x[q]
                if xq != 0.0:
                    for j in range(g4):
                        pre[j] += xq * w_ih[q, j]
            for k in range(hid):
                hk = h[k]
                for j in range(g4):
                    pre[j] += hk * w_hh[k, j]
            for k in range(hid):
                cn = _sigmoid(pre[hid + k]) * c[k] + _sigmoid(pre[k]) * np.tanh(pre[2 * hid + k])
                c[k] = cn
                h[k] = _sigmoid(pre[3 * hid + k]) * np.tanh(cn)
            out[p, t] = _emit(h, w_out, b_out, logits, x, probs_feedback)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def train_epoch_gated(mats, vecs, wmats, wvecs, scratch, idx, targets, window, char,
                      softmax_loss, step0, lr, losses, gru):
    """train_epoch for the GRU (gru=True) and the tanh RNN; Workspace(..., cell) arrays."""
    for p in range(mats[0].shape[0]):
        _copy(mats, vecs, wmats, wvecs, p, 9, True)
        _gated_epoch(wmats, wvecs, scratch, idx, targets, window, char, softmax_loss, step0, lr,
                     losses[p], gru)
        _copy(mats, vecs, wmats, wvecs, p, 9, False)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _gated_epoch(wmats, wvecs, scratch, idx, targets, window, char, softmax_loss, step0, lr,
                 losses, gru):
    """One GRU or tanh-RNN model's epoch, with the stale-activation semantics of the LSTM's.

    As ATen's CPU cells compute them, with ig = W_ih x + b_ih and hg = W_hh h + b_hh:
    GRU (gates r, z, n): r = s(hg_r + ig_r), z = s(hg_z + ig_z), n = tanh(ig_n + r hg_n),
    h' = (h - n) z + n; RNN: h' = tanh(hg + ig). Each step stores the local derivatives
    every later backward pass reuses: for the GRU A = (h - n) z (1 - z), B = (1 - z)(1 - n^2),
    C = hg_n r (1 - r) and r (in fac), and z; for the RNN 1 - h'^2 (in fac).
    """
    w_ih, w_out, w_hh, m_ih, m_out, m_hh, v_ih, v_out, v_hh = wmats
    b_ih, b_hh, b_out, m_bih, m_bhh, m_bout, v_bih, v_bhh, v_bout = wvecs
    hs, fac, zz, dig, dhg = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    ig, hg, logits, ce, dz = scratch[5], scratch[6], scratch[7], scratch[8], scratch[9]
    dh, dprev, row, grad_ih, grad_out = scratch[10], scratch[11], scratch[12], scratch[13], \
        scratch[14]
    a, g = w_ih.shape
    hid = w_hh.shape[0]
    n = idx.shape[0]
    f32 = np.float32
    w1, b2, w2, eps = f32(1.0 - BETA1), f32(BETA2), f32(1.0 - BETA2), f32(EPS)
    one = f32(1.0)
    hs[0, :] = 0.0  # hs[t] is the h fed to step t
    grad_ih[:, :] = 0.0
    for t in range(n):
        step = step0 + t + 1
        step_size = f32(lr / (1.0 - BETA1 ** step))
        bc2_sqrt = f32(np.sqrt(1.0 - BETA2 ** step))
        if char:
            hs[t, :] = 0.0
        x = idx[t]
        for j in range(g):
            ig[j] = w_ih[x, j] + b_ih[j]
            hg[j] = b_hh[j]
        if not char:
            for k in range(hid):
                hk = hs[t, k]
                for j in range(g):
                    hg[j] += hk * w_hh[k, j]
        if gru:  # the branch outside the loops, so that each loop is one plain kernel
            for k in range(hid):
                hp = hs[t, k]
                r = _sigmoid(hg[k] + ig[k])
                z = _sigmoid(hg[hid + k] + ig[hid + k])
                hn = hg[2 * hid + k]
                nn_ = np.tanh(ig[2 * hid + k] + hn * r)
                hs[t + 1, k] = (hp - nn_) * z + nn_
                fac[t, k] = (hp - nn_) * z * (one - z)
                fac[t, hid + k] = (one - z) * (one - nn_ * nn_)
                fac[t, 2 * hid + k] = hn * r * (one - r)
                fac[t, 3 * hid + k] = r
                zz[t, k] = z
        else:
            for k in range(hid):
                hn = np.tanh(hg[k] + ig[k])
                hs[t + 1, k] = hn
                fac[t, k] = one - hn * hn
        h = hs[t + 1]
        losses[t] = _readout_loss(h, w_out, b_out, logits, ce, dz, targets[t], softmax_loss)
        _readout_backward(dz, w_out, dh)
        # Back through the window, newest step first, with the current weights.
        lo = max(0, t - window + 1)
        for s in range(t, lo - 1, -1):
            jw = s - lo
            if gru:
                for k in range(hid):
                    d = dh[k]
                    dpn = d * fac[s, hid + k]
                    dr = dpn * fac[s, 2 * hid + k]
                    dzg = d * fac[s, k]
                    dig[jw, k] = dr
                    dig[jw, hid + k] = dzg
                    dig[jw, 2 * hid + k] = dpn
                    dhg[jw, k] = dr
                    dhg[jw, hid + k] = dzg
                    dhg[jw, 2 * hid + k] = dpn * fac[s, 3 * hid + k]
            else:
                for k in range(hid):
                    dpre = dh[k] * fac[s, k]
                    dig[jw, k] = dpre
                    dhg[jw, k] = dpre
            if s > lo:
                _chain(w_hh, dhg[jw], dprev)
                if gru:
                    for k in range(hid):
                        dh[k] = dh[k] * zz[s, k] + dprev[k]
                else:
                    for k in range(hid):
                        dh[k] = dprev[k]
        nw = t - lo + 1
        _window_sum(dig, nw, row)
        _adam(b_ih, m_bih, v_bih, row, w1, b2, w2, eps, step_size, bc2_sqrt)
        _window_sum(dhg, nw, row)
        _adam(b_hh, m_bhh, v_bhh, row, w1, b2, w2, eps, step_size, bc2_sqrt)
        _readout_adam(h, dz, w_out, m_out, v_out, b_out, m_bout, v_bout, grad_out, w1, b2, w2,
                      eps, step_size, bc2_sqrt)
        _inputs_adam(idx, lo, t, dig, grad_ih, w_ih, m_ih, v_ih, w1, b2, w2, eps, step_size,
                     bc2_sqrt)
        if not char:
            _recurrent_adam(hs, lo, t, dhg, row, w_hh, m_hh, v_hh, w1, b2, w2, eps, step_size,
                            bc2_sqrt)


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def generate_gated(mats, vecs, wmats, wvecs, scratch, x, first, steps, char, probs_feedback,
                   out, gru):
    """generate for the GRU (gru=True) and the tanh RNN, as their engines compute a step."""
    one = np.float32(1.0)
    w_ih, w_out, w_hh = wmats[0], wmats[1], wmats[2]
    b_ih, b_hh, b_out = wvecs[0], wvecs[1], wvecs[2]
    ig, hg, logits, h, hnew = scratch[5], scratch[6], scratch[7], scratch[10], scratch[11]
    a, g = w_ih.shape
    hid = w_hh.shape[0]
    for p in range(mats[0].shape[0]):
        _copy(mats, vecs, wmats, wvecs, p, 3, True)
        x[:] = 0.0
        x[first] = one
        h[:] = 0.0
        for t in range(steps):
            if char:
                h[:] = 0.0
            for j in range(g):
                ig[j] = b_ih[j]
                hg[j] = b_hh[j]
            for q in range(a):
                xq = x[q]
                if xq != 0.0:
                    for j in range(g):
                        ig[j] += xq * w_ih[q, j]
            for k in range(hid):
                hk = h[k]
                for j in range(g):
                    hg[j] += hk * w_hh[k, j]
            for k in range(hid):
                if gru:
                    r = _sigmoid(hg[k] + ig[k])
                    z = _sigmoid(hg[hid + k] + ig[hid + k])
                    nn_ = np.tanh(ig[2 * hid + k] + hg[2 * hid + k] * r)
                    hnew[k] = (h[k] - nn_) * z + nn_
                else:
                    hnew[k] = np.tanh(hg[k] + ig[k])
            h[:] = hnew
            out[p, t] = _emit(h, w_out, b_out, logits, x, probs_feedback)
